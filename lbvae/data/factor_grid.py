"""Ground-truth factor grids: the dataset interface shared by every source.

A disentanglement dataset (dSprites, Shapes3D, MPI3D and our procedural ones) is a
full Cartesian grid of discrete factors of variation, one image per grid point,
enumerated in row-major order over ``factor_sizes`` (the order of the published
files). This module implements the index <-> factor bookkeeping and sampling once,
in the spirit of disentanglement_lib's ``GroundTruthData`` (Locatello et al., 2019,
arXiv 1811.12359); subclasses only say how to produce images.

Synopsis::

  ds = lbvae.data.load("dsprites")
  factors = ds.sample_factors(16, np.random.default_rng(0))   # int64[16, 5]
  index = ds.factors_to_index(factors)                        # int64[16]
  images = ds.images(factors)                                 # uint8[16, 64, 64, 1]
"""

from __future__ import annotations

import abc
from typing import Sequence

import jax.numpy as jnp
import numpy as np

IMAGE_SIZE = 64


class FactorGrid(abc.ABC):
  """A dataset whose images enumerate a full grid of discrete factors.

  Attributes:
    name: the dataset's registry name, e.g. ``"dsprites"``.
    factor_names: one name per factor, in grid order.
    factor_sizes: the number of values of each factor, in grid order.
    num_channels: 1 (binary / grey) or 3 (RGB).
    source: where the images come from: ``"procedural"``, ``"file"`` or ``"tfds"``.
    notes: lines the run log and the report show about how the data was made
      (a resize on load, a stand-in for a missing file).
  """

  # Every factor combination has an image: :meth:`images` serves any tuple (the
  # FactorVAE votes and the stratified samples need that).
  covers_grid = True

  def __init__(
    self,
    name: str,
    factor_names: Sequence[str],
    factor_sizes: Sequence[int],
    num_channels: int,
    source: str,
  ):
    if len(factor_names) != len(factor_sizes):
      raise ValueError("factor_names and factor_sizes differ in length")
    self.name = name
    self.factor_names = tuple(str(n) for n in factor_names)
    self.factor_sizes = tuple(int(s) for s in factor_sizes)
    self.num_channels = int(num_channels)
    self.source = source
    self.notes: tuple[str, ...] = ()
    # Row-major strides: index = sum_f factors[f] * strides[f].
    strides = np.cumprod((self.factor_sizes + (1,))[:0:-1])[::-1]
    self._strides = np.asarray(strides, np.int64)

  @property
  def image_shape(self) -> tuple[int, int, int]:
    return (IMAGE_SIZE, IMAGE_SIZE, self.num_channels)

  @property
  def num_factors(self) -> int:
    return len(self.factor_sizes)

  def __len__(self) -> int:
    return int(np.prod(self.factor_sizes, dtype=np.int64))

  def __repr__(self) -> str:
    return (
      f"{type(self).__name__}(name={self.name!r}, source={self.source!r}, "
      f"factor_sizes={self.factor_sizes})"
    )

  def index_to_factors(self, index) -> np.ndarray:
    """Grid indices -> factor classes (row-major over ``factor_sizes``).

    Args:
      index: int[N] in [0, len(self)).

    Returns:
      int64[N, F] factor classes.
    """
    index = np.asarray(index, np.int64)
    if np.any(index < 0) or np.any(index >= len(self)):
      raise ValueError(f"index out of range [0, {len(self)})")
    sizes = np.asarray(self.factor_sizes, np.int64)
    return (index[..., None] // self._strides) % sizes

  def factors_to_index(self, factors) -> np.ndarray:
    """Factor classes -> grid indices; inverse of :meth:`index_to_factors`.

    Args:
      factors: int[N, F] with ``0 <= factors[:, f] < factor_sizes[f]``.

    Returns:
      int64[N] grid indices.
    """
    factors = self._check_factors(factors)
    return factors @ self._strides

  def sample_factors(self, num: int, rng: np.random.Generator) -> np.ndarray:
    """Draws ``num`` factor vectors uniformly from the grid.

    Args:
      num: how many to draw.
      rng: numpy random generator.

    Returns:
      int64[num, F] factor classes (with replacement).
    """
    cols = [rng.integers(0, size, size=num) for size in self.factor_sizes]
    return np.stack(cols, axis=-1).astype(np.int64)

  def stratified_factors(self, num: int, rng: np.random.Generator) -> np.ndarray:
    """Factor tuples in which each factor's values appear equally often.

    Column j repeats ``0 .. factor_sizes[j] - 1`` to length ``num`` and is shuffled
    on its own, so each value appears ``num // K_j`` or ``num // K_j + 1`` times
    and the columns are independent, as under uniform sampling of the grid.

    Args:
      num: N, the number of tuples.
      rng: the generator.

    Returns:
      int64[N, F] class indices.
    """
    return np.stack(
      [
        rng.permutation(np.resize(np.arange(int(k)), int(num)))
        for k in self.factor_sizes
      ],
      axis=1,
    ).astype(np.int64)

  def images_at(self, index) -> np.ndarray:
    """Images of dataset indices (those the trainer and the evaluation draw).

    Args:
      index: int[N] in [0, len(self)).

    Returns:
      uint8[N, 64, 64, C] host array.
    """
    return self.images(self.index_to_factors(index))

  def index_to_factors_jnp(self, index: jnp.ndarray) -> jnp.ndarray:
    """Traceable :meth:`index_to_factors`: int32[...] -> int32[..., F]."""
    index = jnp.asarray(index, jnp.int32)
    strides = jnp.asarray(self._strides, jnp.int32)
    sizes = jnp.asarray(self.factor_sizes, jnp.int32)
    return (index[..., None] // strides) % sizes

  def _check_factors(self, factors) -> np.ndarray:
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] != self.num_factors:
      raise ValueError(
        f"factors must be int[N, {self.num_factors}], got shape {factors.shape}"
      )
    factors = factors.astype(np.int64)
    sizes = np.asarray(self.factor_sizes, np.int64)
    if np.any(factors < 0) or np.any(factors >= sizes):
      raise ValueError(f"factor classes out of range for sizes {self.factor_sizes}")
    return factors

  @abc.abstractmethod
  def images(self, factors) -> np.ndarray:
    """Images of the given grid points.

    Args:
      factors: int[N, F] factor classes.

    Returns:
      uint8[N, 64, 64, C] host array.
    """

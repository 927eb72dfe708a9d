"""Images with factors per image, or none: a dataset that need not be a full grid.

A user's own data (an array file, a folder of images, a TFDS dataset) and SmallNORB
(whose instance is a nuisance, not a factor; LeCun et al., 2004) are sets of N images,
each with its own factor classes -- or with no factors at all. :class:`ImageSet`
serves them through the interface of the factor grids
(:class:`lbvae.data.factor_grid.FactorGrid`): the dataset index is the image's row,
``index_to_factors`` reads the image's labels, and ``images(factors)`` picks, for each
requested tuple, one image carrying it (uniformly among them, as disentanglement_lib
samples SmallNORB's instance; the choice is a fixed function of the request). Where
some combination has no image, :attr:`covers_grid` is False and ``images`` of that
combination is a :class:`lbvae.errors.DataError`.

Synopsis::

  ds = ImageSet("arrays", images, "file", "data.npz")          # no factors
  ds = ImageSet("arrays", images, "file", "data.npz", factors=f,
                factor_names=("a", "b"), factor_sizes=(3, 4))
  ds.images_at(np.arange(8)), ds.index_to_factors(np.arange(8))
"""

from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np

from lbvae import errors
from lbvae.data import arrays

_CHOICE_STREAM = 0x636873  # "chs": which image of a factor tuple images() serves


class ImageSet(arrays.ArrayDataset):
  """N images, each with F factor classes (F may be 0).

  Args:
    name: registry name, e.g. ``"arrays"``.
    images: uint8[N, 64, 64, C] (usually a read-only memory map).
    source: ``"file"`` or ``"tfds"``.
    origin: the file or folder the images came from (for messages).
    factors: int[N, F] class indices of each image, or None (no factors).
    factor_names: F names.
    factor_sizes: F class counts (each factor's classes lie in [0, size)).
  """

  def __init__(
    self,
    name: str,
    images: np.ndarray,
    source: str,
    origin: str,
    *,
    factors: np.ndarray | None = None,
    factor_names: Sequence[str] = (),
    factor_sizes: Sequence[int] = (),
  ):
    self._num = int(images.shape[0])
    factors = (
      np.zeros((self._num, 0), np.int64)
      if factors is None
      else np.asarray(factors, np.int64)
    )
    if factors.shape != (self._num, len(factor_sizes)):
      raise ValueError(f"factors must be int[{self._num}, {len(factor_sizes)}]")
    super().__init__(name, factor_names, factor_sizes, images, source, origin)
    self.factors = factors
    codes = (
      factors @ self._strides if factors.shape[1] else np.zeros(self._num, np.int64)
    )
    self._order = np.argsort(codes, kind="stable")  # images sorted by tuple
    self._sorted = codes[self._order]
    self.covers_grid = bool(factors.shape[1]) and (
      np.unique(codes).size == int(np.prod(self.factor_sizes, dtype=np.int64))
    )

  def __len__(self) -> int:
    return self._num

  def index_to_factors(self, index) -> np.ndarray:
    """Dataset indices int[N] -> their images' factors int64[N, F]."""
    index = np.asarray(index, np.int64)
    if np.any(index < 0) or np.any(index >= self._num):
      raise ValueError(f"index out of range [0, {self._num})")
    return self.factors[index]

  def images_at(self, index) -> np.ndarray:
    """Images of dataset indices: uint8[N, 64, 64, C]."""
    return self.read_rows(np.asarray(index, np.int64))

  def factors_to_index(self, factors) -> np.ndarray:
    """For each factor tuple, the index of one image carrying it.

    Args:
      factors: int[N, F].

    Returns:
      int64[N]: uniformly among the images with that tuple, drawn from a stream
      keyed by the request (the same request gets the same images).

    Raises:
      lbvae.errors.DataError: a tuple no image carries.
    """
    factors = self._check_factors(factors)
    codes = factors @ self._strides
    lo = np.searchsorted(self._sorted, codes, side="left")
    hi = np.searchsorted(self._sorted, codes, side="right")
    missing = np.flatnonzero(hi == lo)
    errors.require(
      missing.size == 0,
      f"{self.origin}: no image has factors "
      f"{factors[missing[:1]].tolist()} ({', '.join(self.factor_names)}); "
      "the labels do not cover every combination",
      errors.DataError,
    )
    rng = np.random.default_rng([_CHOICE_STREAM, zlib.crc32(factors.tobytes())])
    pick = lo + (rng.random(len(codes)) * (hi - lo)).astype(np.int64)
    return self._order[pick]

  def images(self, factors) -> np.ndarray:
    """Images carrying the given factor tuples (see :meth:`factors_to_index`)."""
    return self.read_rows(self.factors_to_index(factors))


def check_factors(
  factors: np.ndarray, num_images: int, sizes: Sequence[int] | None, origin: str
) -> tuple[int, ...]:
  """Checks user-given labels; returns the factor sizes (default: max + 1).

  Args:
    factors: the labels as stored.
    num_images: N.
    sizes: the declared class counts, or None.
    origin: the file, for messages.

  Raises:
    lbvae.errors.DataError: not int[N, F], a negative class, a class at or above
      its declared size, or sizes of the wrong length.
  """
  fail = lambda message: errors.DataError(f"{origin}: {message}")
  if factors.ndim != 2 or factors.dtype.kind not in "iu":
    raise fail(
      f"'factors' is {factors.dtype}{list(factors.shape)}; expected "
      f"int[{num_images}, F]"
    )
  if factors.shape[0] != num_images:
    raise fail(f"'factors' has {factors.shape[0]} rows for {num_images} images")
  if factors.size and factors.min() < 0:
    col = int(np.nonzero((factors < 0).any(axis=0))[0][0])
    raise fail(
      f"'factors' column {col} has negative values; expected class indices 0, 1, ..."
    )
  if sizes is None:
    return tuple(int(v) + 1 for v in factors.max(axis=0, initial=0))
  sizes = tuple(int(s) for s in np.asarray(sizes).reshape(-1))
  if len(sizes) != factors.shape[1]:
    raise fail(
      f"'factor_sizes' has {len(sizes)} entries for {factors.shape[1]} factor columns"
    )
  over = factors >= np.asarray(sizes)
  if over.any():
    col = int(np.nonzero(over.any(axis=0))[0][0])
    raise fail(
      f"'factors' column {col} has class {int(factors[:, col].max())}, "
      f"not below its factor_sizes entry {sizes[col]}"
    )
  return sizes

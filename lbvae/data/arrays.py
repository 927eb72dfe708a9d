"""Array-backed datasets: one uint8 image array (usually memory-mapped) + a grid.

The published disentanglement datasets ship every image of the factor grid in one
array. :class:`ArrayDataset` serves such an array without ever converting it to
float (dSprites is 3 GB as uint8 and 12 GB as float32; docs/method.md §4 of arXiv 2602.09277):
images stay uint8 and memory-mapped on the host until :mod:`lbvae.data.batching`
either copies them to the device once or streams batches from the map.

``rows`` maps grid indices (row-major over ``factor_sizes``) to rows of the array; it
is ``None`` when the file is already in grid order, as all published files are.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from lbvae.data import factor_grid


class ArrayDataset(factor_grid.FactorGrid):
  """A factor grid whose images are rows of a uint8 array.

  Args:
    name: registry name, e.g. ``"mpi3d_real"``.
    factor_names: one name per factor, in grid order.
    factor_sizes: values per factor, in grid order.
    array: uint8[N, 64, 64, C] images (an ``np.memmap`` or an in-memory array).
    source: ``"file"`` or ``"tfds"``.
    origin: the file or directory the array came from (for messages).
    rows: optional int64[N] array row of each grid index; ``None`` = identity.
  """

  def __init__(
    self,
    name: str,
    factor_names: Sequence[str],
    factor_sizes: Sequence[int],
    array: np.ndarray,
    source: str,
    origin: str,
    rows: np.ndarray | None = None,
  ):
    super().__init__(name, factor_names, factor_sizes, array.shape[-1], source)
    expected = (len(self),) + self.image_shape
    if array.dtype != np.uint8 or array.shape != expected:
      raise ValueError(
        f"{origin}: expected uint8{list(expected)}, got "
        f"{array.dtype}{list(array.shape)}"
      )
    if rows is not None and rows.shape != (len(self),):
      raise ValueError(f"rows must have shape ({len(self)},)")
    self.array = array
    self.origin = origin
    self.rows = rows

  def rows_of(self, index) -> np.ndarray:
    """Grid indices int[...] -> array rows int64[...]."""
    index = np.asarray(index, np.int64)
    return index if self.rows is None else self.rows[index]

  def read_rows(self, rows) -> np.ndarray:
    """Reads array rows in ascending order (friendly to the page cache).

    Args:
      rows: int[N] array rows.

    Returns:
      uint8[N, 64, 64, C] in the order of ``rows``.
    """
    rows = np.asarray(rows, np.int64).reshape(-1)
    order = np.argsort(rows, kind="stable")
    out = np.empty((rows.size,) + self.image_shape, np.uint8)
    out[order] = self.array[rows[order]]
    return out

  def images(self, factors) -> np.ndarray:
    """Images of the given grid points.

    Args:
      factors: int[N, F] factor classes.

    Returns:
      uint8[N, 64, 64, C] host array.
    """
    return self.read_rows(self.rows_of(self.factors_to_index(factors)))

"""Cars3D (Reed et al., 2015, "Deep Visual Analogy-Making") from its distribution
files, as disentanglement_lib reads it.

``dataset.path`` is the folder of the 183 ``car_<id>_mesh.mat`` files of
scottreed.info (the ``nips2015-analogy-data`` archive's ``cars/``): MATLAB files, each
with an ``im`` array uint8[H, W, 3, 24, 4] (128x128 RGB renderings over 24 azimuths and
4 elevations). disentanglement_lib reorders each to [azimuth, elevation, H, W, 3] and
flattens it, so image k of a file has elevation k mod 4 and azimuth k div 4; it
resizes each image to 64x64 (``thumbnail``, Lanczos: the same as a resize for square
images) and numbers the cars in the order the folder lists them. Factors: elevation 4,
azimuth 24, object 183 (17 568 images), a full grid. We number the cars in sorted file
order (a directory listing has no fixed order); a folder with another number of
files gives the object factor that many values (the log says so).
"""

from __future__ import annotations

import os

import numpy as np

from lbvae import errors
from lbvae.data import arrays
from lbvae.data import cache
from lbvae.data import resize

NAME = "cars3d"
FACTOR_NAMES = ("elevation", "azimuth", "object")
FACTOR_SIZES = (4, 24, 183)
PUBLISHED = (
  "Cars3D is published at scottreed.info (nips2015-analogy-data.tar.gz, "
  "its cars/ folder of car_*_mesh.mat files; docs/datasets.md)"
)


def mesh_files(folder: str) -> list[str]:
  """The ``.mat`` files of the folder, sorted."""
  errors.require(
    os.path.isdir(folder), f"{folder}: no such folder; {PUBLISHED}", errors.DataError
  )
  found = sorted(f for f in os.listdir(folder) if f.endswith(".mat"))
  errors.require(bool(found), f"{folder}: no .mat files; {PUBLISHED}", errors.DataError)
  return [os.path.join(folder, f) for f in found]


def read_mesh(path: str) -> np.ndarray:
  """One car's images, uint8[96, 64, 64, 3] in disentanglement_lib's order
  (image k: elevation k mod 4, azimuth k div 4)."""
  import scipy.io  # pylint: disable=g-import-not-at-top

  try:
    im = scipy.io.loadmat(path)["im"]
  # loadmat raises NotImplementedError for MATLAB v7.3 (HDF5) files.
  except (OSError, ValueError, KeyError, NotImplementedError, TypeError) as e:
    raise errors.DataError(
      f"{path}: not a Cars3D mesh file with an 'im' array ({type(e).__name__}: {e})"
    ) from e
  errors.require(
    im.dtype == np.uint8 and im.ndim == 5 and im.shape[2:] == (3, 24, 4),
    f"{path}: 'im' is {im.dtype}{list(im.shape)}; expected uint8[H, W, 3, 24, 4]",
    errors.DataError,
  )
  views = np.einsum("abcde->deabc", im).reshape((-1,) + im.shape[:3])
  return resize.to_64(views)


def load(folder: str) -> arrays.ArrayDataset:
  """Cars3D from the folder of its mesh files (module docstring)."""
  folder = os.path.expanduser(folder)
  paths = mesh_files(folder)
  sizes = FACTOR_SIZES[:2] + (len(paths),)
  elevation, azimuth = np.arange(96) % 4, np.arange(96) // 4

  def fill(out):
    for i, path in enumerate(paths):
      # Grid index of (elevation, azimuth, object i), row-major over sizes.
      out[(elevation * sizes[1] + azimuth) * sizes[2] + i] = read_mesh(path)

  where = cache.cache_path(NAME, paths, "cars3d-grid-lanczos-64")
  images = cache.cached_uint8(
    where,
    (int(np.prod(sizes)), resize.SIZE, resize.SIZE, 3),
    fill,
    f"Cars3D from {folder}",
  )
  ds = arrays.ArrayDataset(NAME, FACTOR_NAMES, sizes, images, "file", folder)
  ds.notes = (f"{len(ds)} images resized once, on load, to 64x64 (Lanczos)",)
  if len(paths) != FACTOR_SIZES[2]:
    ds.notes += (
      f"{len(paths)} cars in {folder}, not the published 183: the object "
      f"factor has {len(paths)} values",
    )
  return ds

"""SmallNORB (LeCun, Huang & Bottou, 2004) from its distribution files, as
disentanglement_lib reads it.

``dataset.path`` is the folder holding the six files of
cs.nyu.edu/~ylclab/data/norb-v1.0-small/ (plain ``.mat`` or the published ``.mat.gz``)::

  smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat
  smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat

Each is a "binary matrix": int32 magic (0x1E3D4C55 bytes, 0x1E3D4C54 int32,
0x1E3D4C51 float32, 0x1E3D4C53 float64), int32 ndim, max(3, ndim) int32 dims, then
the data in C order. ``dat`` holds uint8[n, 2, 96, 96] stereo pairs (the first camera
is used), ``cat`` int32[n] the category, ``info`` int32[n, 4] instance, elevation,
azimuth (0, 2, ..., 34) and lighting. disentanglement_lib concatenates training and
testing (48 600 images), halves the azimuth, resizes each image to 64x64 (Lanczos) and
exposes the factors category 5, elevation 9, azimuth 18, lighting 6; the instance
(10 per category) is a nuisance drawn at random for a given factor tuple
(:class:`lbvae.data.image_set.ImageSet`). The labels must cover the grid of all five
columns exactly once; factor sizes are read from them (the published files give the
sizes above). disentanglement_lib reads the byte matrix as int8; the format's
documentation, and we, read uint8.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from lbvae import errors
from lbvae.data import cache
from lbvae.data import image_set
from lbvae.data import resize

NAME = "smallnorb"
CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
FACTOR_NAMES = ("category", "elevation", "azimuth", "lighting")
FACTOR_SIZES = (5, 9, 18, 6)
PUBLISHED = (
  "SmallNORB is published at cs.nyu.edu/~ylclab/data/norb-v1.0-small/ "
  "(six smallnorb-*-{dat,cat,info}.mat(.gz) files; docs/datasets.md)"
)
MAGIC = {
  0x1E3D4C55: np.uint8,
  0x1E3D4C54: np.int32,
  0x1E3D4C51: np.float32,
  0x1E3D4C53: np.float64,
  0x1E3D4C56: np.int16,
}
_ROWS = 2048


def _find(folder: str, chunk: str, part: str) -> str:
  stem = os.path.join(folder, f"smallnorb-{chunk}-{part}.mat")
  for path in (stem, stem + ".gz"):
    if os.path.isfile(path):
      return path
  raise errors.DataError(f"{stem}: no such file (nor .gz); {PUBLISHED}")


def _open(path: str):
  return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_header(f, path: str) -> tuple[np.dtype, tuple[int, ...]]:
  """(dtype, shape) of a binary matrix; the stream is left at its data."""
  head = np.frombuffer(f.read(8), "<i4")
  errors.require(
    head.size == 2 and int(head[0]) & 0xFFFFFFFF in MAGIC and 0 < head[1] < 8,
    f"{path}: not a SmallNORB binary matrix (unknown magic number or rank)",
    errors.DataError,
  )
  ndim = int(head[1])
  dims = np.frombuffer(f.read(4 * max(3, ndim)), "<i4")[:ndim]
  return np.dtype(MAGIC[int(head[0]) & 0xFFFFFFFF]), tuple(int(d) for d in dims)


def read_matrix(path: str) -> np.ndarray:
  """A whole (small) binary matrix: the ``cat`` and ``info`` files."""
  try:
    with _open(path) as f:
      dtype, shape = read_header(f, path)
      data = np.frombuffer(f.read(), dtype.newbyteorder("<"))
  except (OSError, EOFError) as e:
    raise errors.DataError(f"{path}: cannot read it ({e})") from e
  errors.require(
    data.size >= int(np.prod(shape)),
    f"{path}: truncated: {shape} "
    f"needs {int(np.prod(shape))} values, it has {data.size}",
    errors.DataError,
  )
  return data[: int(np.prod(shape))].reshape(shape)


def _image_rows(path: str, num: int):
  """Yields uint8[k, 64, 64, 1] blocks of the first camera's resized images."""
  try:
    with _open(path) as f:
      dtype, shape = read_header(f, path)
      errors.require(
        dtype == np.uint8 and len(shape) == 4 and shape[0] == num and shape[1] == 2,
        f"{path}: images are {dtype}{list(shape)}; expected uint8[{num}, 2, H, W]",
        errors.DataError,
      )
      row = int(np.prod(shape[1:]))
      for start in range(0, num, _ROWS):
        k = min(_ROWS, num - start)
        block = np.frombuffer(f.read(k * row), np.uint8)
        errors.require(
          block.size == k * row, f"{path}: truncated at image {start}", errors.DataError
        )
        yield resize.to_64(block.reshape((k,) + shape[1:])[:, 0, :, :, None])
  except (OSError, EOFError) as e:
    raise errors.DataError(f"{path}: cannot read it ({e})") from e


def _labels(folder: str) -> list[np.ndarray]:
  """Per chunk, int64[n, 5]: category, instance, elevation, azimuth / 2, lighting."""
  out = []
  for chunk in CHUNKS:
    cat = read_matrix(_find(folder, chunk, "cat")).reshape(-1)
    info = read_matrix(_find(folder, chunk, "info"))
    errors.require(
      info.ndim == 2 and info.shape == (cat.size, 4),
      f"{folder}: {chunk} info is {list(info.shape)}; expected [{cat.size}, 4]",
      errors.DataError,
    )
    features = np.column_stack([cat, info]).astype(np.int64)
    features[:, 3] //= 2
    out.append(features)
  return out


def load(folder: str) -> image_set.ImageSet:
  """SmallNORB from the folder of its six files (module docstring)."""
  folder = os.path.expanduser(folder)
  errors.require(
    os.path.isdir(folder), f"{folder}: no such folder; {PUBLISHED}", errors.DataError
  )
  features = _labels(folder)
  dats = [_find(folder, chunk, "dat") for chunk in CHUNKS]
  everything = np.concatenate(features)
  errors.require(everything.min() >= 0, f"{folder}: negative labels", errors.DataError)
  sizes = everything.max(axis=0) + 1
  strides = np.cumprod(np.r_[sizes[1:], 1][::-1])[::-1]
  errors.require(
    np.unique(everything @ strides).size == everything.shape[0] == int(np.prod(sizes)),
    f"{folder}: the labels (category, instance, "
    f"elevation, azimuth, lighting; sizes {sizes.tolist()}) do not cover "
    "their grid exactly once",
    errors.DataError,
  )
  num = everything.shape[0]

  def fill(out):
    start = 0
    for path, f in zip(dats, features):
      for block in _image_rows(path, len(f)):
        out[start : start + len(block)] = block
        start += len(block)

  where = cache.cache_path(NAME, dats, "smallnorb-first-camera-lanczos-64")
  images = cache.cached_uint8(
    where, (num, resize.SIZE, resize.SIZE, 1), fill, f"SmallNORB from {folder}"
  )
  keep = [0, 2, 3, 4]  # the instance (column 1) is a nuisance, not a factor
  ds = image_set.ImageSet(
    NAME,
    images,
    "file",
    folder,
    factors=everything[:, keep],
    factor_names=FACTOR_NAMES,
    factor_sizes=tuple(int(s) for s in sizes[keep]),
  )
  ds.notes = (
    f"{num} images (the first camera) resized once, on load, to 64x64 "
    f"(Lanczos); the instance ({int(sizes[1])} per category) is drawn at "
    "random, not a factor",
  )
  return ds

"""A user's own images: an array file (.npz / .h5) or a folder of PNG / JPEG files.

``--config.dataset.name=arrays --config.dataset.path=P`` trains on

* **an array file** ``P`` (.npz or HDF5) holding ``images`` uint8[N, H, W, C], C = 1
  or 3, and optionally ``factors`` int[N, F] (class indices >= 0) with
  ``factor_names`` (F strings) and ``factor_sizes`` (F ints; default: each column's
  max + 1). An uncompressed, contiguous 64x64 array is memory-mapped in place;
  anything else (compressed, chunked, another size) is converted once, a bounded
  number of rows at a time, into the uint8 cache of :mod:`lbvae.data.cache` --
  never the whole array in memory;
* **a folder** ``P`` of PNG / JPEG images at any depth of subfolders (sorted by
  path; no factors): greyscale images make a 1-channel dataset, any colour image a
  3-channel one; decoded and converted once into the cache.

Images that are not 64x64 are resized once on load (:mod:`lbvae.data.resize`; the
run log says so). A problem is one :class:`lbvae.errors.DataError` line before any
training: no ``images`` array, the wrong dtype or rank, an empty folder, an
unreadable image (named), factors of the wrong length or with negative classes.

Synopsis::

  ds = user_data.load("/data/mine.npz")      # an ImageSet, with or without factors
  ds = user_data.load("/data/photos/")
"""

from __future__ import annotations

import os
import pathlib
import zipfile

import numpy as np
from PIL import Image

from lbvae import errors
from lbvae.data import cache
from lbvae.data import containers
from lbvae.data import image_set
from lbvae.data import resize

NAME = "arrays"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _keys(path: str, npz: bool) -> list[str]:
  """The array names of an .npz or the dataset paths of an HDF5 file."""
  try:
    if npz:
      with zipfile.ZipFile(path) as zf:
        return [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
    import h5py  # pylint: disable=g-import-not-at-top

    with h5py.File(path, "r") as f:
      names = []
      f.visititems(
        lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None
      )
      return names
  except (OSError, ValueError, zipfile.BadZipFile) as e:
    raise errors.DataError(f"{path}: not a readable .npz or HDF5 file ({e})") from e


def _optional(path: str, npz: bool, key: str) -> np.ndarray | None:
  """A small array of the file, or None when it has none of that name."""
  try:
    if npz:
      with np.load(path, allow_pickle=False) as f:
        return np.asarray(f[key]) if key in f.files else None
    import h5py  # pylint: disable=g-import-not-at-top

    with h5py.File(path, "r") as f:
      if key not in f:
        return None
      data = f[key]
      if data.dtype.kind in "OS":
        return np.asarray(data.asstr()[()])
      return np.asarray(data)
  except (OSError, ValueError, zipfile.BadZipFile) as e:
    raise errors.DataError(f"{path}: cannot read {key!r} ({e})") from e


def _labels(path: str, npz: bool, num: int) -> dict:
  """The ImageSet keyword arguments of the file's optional labels."""
  factors = _optional(path, npz, "factors")
  if factors is None:
    return {}
  sizes = _optional(path, npz, "factor_sizes")
  sizes = image_set.check_factors(factors, num, sizes, path)
  names = _optional(path, npz, "factor_names")
  if names is None:
    names = [f"factor{j}" for j in range(len(sizes))]
  names = [str(n) for n in np.asarray(names).reshape(-1)]
  errors.require(
    len(names) == len(sizes),
    f"{path}: 'factor_names' has {len(names)} entries for {len(sizes)} factor columns",
    errors.DataError,
  )
  return {"factors": factors, "factor_names": names, "factor_sizes": sizes}


def open_file(path: str) -> image_set.ImageSet:
  """An array file (module docstring)."""
  npz = zipfile.is_zipfile(path)
  keys = _keys(path, npz)
  errors.require(
    "images" in keys,
    f"{path}: no array 'images' (it has: "
    f"{', '.join(keys) or 'none'}); expected images uint8[N, H, W, C]",
    errors.DataError,
  )
  member = (containers.npz_member if npz else containers.h5_member)(path, "images")
  shape = member.shape
  errors.require(
    member.dtype == np.uint8
    and len(shape) == 4
    and shape[3] in (1, 3)
    and shape[0] > 0,
    f"{path}: 'images' is {member.describe()}; expected "
    "uint8[N, H, W, C] with N > 0 and C = 1 or 3",
    errors.DataError,
  )
  labels = _labels(path, npz, shape[0])
  target = (shape[0], resize.SIZE, resize.SIZE, shape[3])
  notes = []
  if member.offset is not None and shape == target:
    images = member.memmap()
  else:
    if shape != target:
      notes.append(resize.resize_note(shape[0], [shape[1:3]]))

    def fill(out):
      start = 0
      for chunk in member.chunks():
        out[start : start + len(chunk)] = resize.to_64(chunk)
        start += len(chunk)

    where = cache.cache_path(NAME, [path], f"arrays-images-{shape}-to-64")
    images = cache.cached_uint8(where, target, fill, f"the images of {path}")
  ds = image_set.ImageSet(NAME, images, "file", path, **labels)
  ds.notes = tuple(notes)
  return ds


def _image_files(folder: str) -> list[pathlib.Path]:
  root = pathlib.Path(folder)
  found = sorted(
    p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
  )
  errors.require(
    bool(found),
    f"{folder}: no PNG or JPEG images in it or its subfolders",
    errors.DataError,
  )
  return found


def _header(path: pathlib.Path) -> tuple[str, tuple[int, int]]:
  """(PIL mode, (height, width)) of an image file, or a DataError naming it."""
  try:
    with Image.open(path) as image:
      return image.mode, (image.height, image.width)
  except (OSError, SyntaxError, ValueError) as e:
    raise errors.DataError(f"{path}: not a readable image ({e})") from e


def open_folder(folder: str) -> image_set.ImageSet:
  """A folder of PNG / JPEG images (module docstring)."""
  paths = _image_files(folder)
  headers = [_header(p) for p in paths]
  channels = 1 if all(mode in GREY_MODES for mode, _ in headers) else 3
  mode = "L" if channels == 1 else "RGB"

  def fill(out):
    for k, p in enumerate(paths):
      try:
        with Image.open(p) as image:
          pixels = np.asarray(image.convert(mode))
      except (OSError, SyntaxError, ValueError) as e:
        raise errors.DataError(f"{p}: not a readable image ({e})") from e
      out[k] = resize.to_64(pixels.reshape((1,) + pixels.shape[:2] + (channels,)))[0]

  target = (len(paths), resize.SIZE, resize.SIZE, channels)
  where = cache.cache_path(NAME, [folder], f"arrays-folder-{channels}-to-64")
  images = cache.cached_uint8(
    where, target, fill, f"the {len(paths)} images of {folder}"
  )
  ds = image_set.ImageSet(NAME, images, "file", folder)
  off = [hw for _, hw in headers if hw != (resize.SIZE, resize.SIZE)]
  if off:
    ds.notes = (resize.resize_note(len(off), off),)
  return ds


def load(path: str) -> image_set.ImageSet:
  """The user's array file or image folder at ``path`` (module docstring)."""
  path = os.path.expanduser(path)
  errors.require(
    os.path.exists(path),
    f"{path}: no such file or folder (dataset "
    "'arrays' reads an .npz / .h5 file or a folder of PNG / JPEG "
    "images)",
    errors.DataError,
  )
  return open_folder(path) if os.path.isdir(path) else open_file(path)

"""Reading one array out of an .npz or HDF5 file without loading it into memory.

The distribution files of dSprites (Matthey et al., 2017), Shapes3D (Burgess & Kim,
2018) and MPI3D (Gondal et al., 2019) hold a few GB of uint8 images each. An
:class:`ArrayMember` describes one array of such a file (shape, dtype) and offers

* :meth:`ArrayMember.memmap` when the bytes lie uncompressed and contiguous in the
  file (an ``np.savez`` member stored without compression, a contiguous HDF5
  dataset): a read-only ``np.memmap`` at the right offset, no copy at all;
* :meth:`ArrayMember.chunks` otherwise: the rows in order, a bounded number at a
  time (inflating a compressed zip member as a stream, or reading HDF5 chunks),
  to convert the array once into a memory-mappable cache (:mod:`lbvae.data.cache`).

Problems with the file (missing, truncated, not the expected container, missing
array) raise :class:`lbvae.errors.Error` naming the file. Pickled members (the
dSprites ``metadata``) are never read: ``np.load(..., allow_pickle=False)`` only.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import zipfile
from typing import Iterator

import numpy as np

from lbvae import errors
from lbvae import untrusted

_ZIP_LOCAL_HEADER = 30
_ROWS_PER_CHUNK = 4096


@dataclasses.dataclass(frozen=True)
class ArrayMember:
  """One array inside a file.

  Attributes:
    path: the file.
    container: "npz" or "h5".
    key: the array's name in the file ("imgs", "images", "latents/classes").
    shape: the array's shape.
    dtype: the array's dtype.
    offset: byte offset of the raw data when it is contiguous and uncompressed,
      else None.
  """

  path: str
  container: str
  key: str
  shape: tuple[int, ...]
  dtype: np.dtype
  offset: int | None

  def describe(self) -> str:
    return f"{self.dtype}{list(self.shape)}"

  @property
  def nbytes(self) -> int:
    return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

  def memmap(self) -> np.ndarray:
    """Read-only memory map of the array (only when ``offset`` is not None)."""
    if self.offset is None:
      raise ValueError(f"{self.path}: {self.key!r} is compressed or chunked")
    size = os.path.getsize(self.path)
    errors.require(
      size >= self.offset + self.nbytes,
      f"{self.path}: truncated: {self.key!r} ({self.describe()}) needs "
      f"{self.offset + self.nbytes} bytes, the file has {size}",
    )
    return np.memmap(self.path, self.dtype, "r", self.offset, self.shape)

  def chunks(self) -> Iterator[np.ndarray]:
    """Yields consecutive row blocks of the array (each ``[k, ...]``), in order."""
    if self.offset is not None:
      array = self.memmap()
      for start in range(0, self.shape[0], _ROWS_PER_CHUNK):
        yield np.asarray(array[start : start + _ROWS_PER_CHUNK])
      return
    if self.container == "npz":
      yield from self._npz_chunks()
    else:
      yield from self._h5_chunks()

  def _npz_chunks(self) -> Iterator[np.ndarray]:
    row = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
    try:
      with zipfile.ZipFile(self.path) as zf, zf.open(self.key + ".npy") as f:
        _read_npy_header(f, self.path, self.key)
        for start in range(0, self.shape[0], _ROWS_PER_CHUNK):
          rows = min(_ROWS_PER_CHUNK, self.shape[0] - start)
          data = f.read(rows * row)
          errors.require(
            len(data) == rows * row,
            f"{self.path}: truncated: {self.key!r} ends at row {start}",
          )
          yield np.frombuffer(data, self.dtype).reshape((rows,) + self.shape[1:])
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
      raise errors.DataError(
        f"{self.path}: cannot read {self.key!r} (truncated or corrupt file?): {e}"
      ) from e

  def _h5_chunks(self) -> Iterator[np.ndarray]:
    import h5py  # pylint: disable=g-import-not-at-top

    try:
      with h5py.File(self.path, "r") as f:
        dataset = f[self.key]
        for start in range(0, self.shape[0], _ROWS_PER_CHUNK):
          yield dataset[start : start + _ROWS_PER_CHUNK]
    except (OSError, KeyError, ValueError) as e:
      raise errors.DataError(
        f"{self.path}: cannot read {self.key!r} (truncated or corrupt file?): {e}"
      ) from e


def require_file(path: str, published: str) -> None:
  """DataError saying where the dataset is published unless ``path`` is a file (a
  FIFO or a device is named as such: reading it might never end)."""
  untrusted.require_regular(path, what="dataset.path")
  errors.require(os.path.isfile(path), f"{path}: no such file; {published}")


def _require_regular_external(path: str, key: str, external) -> None:
  """Refuses an HDF5 dataset whose raw data lies in external files that are not
  regular files (HDF5 would block on a FIFO); each is looked for where HDF5 looks:
  as named, and beside ``path``."""
  for name, *_ in external:
    name = name.decode() if isinstance(name, bytes) else str(name)
    for candidate in {name, os.path.join(os.path.dirname(path), name)}:
      try:
        untrusted.require_regular(candidate)
      except errors.DataError as e:
        raise errors.DataError(
          f"{path}: {key!r} is stored in an external file: {e}"
        ) from None


def _read_npy_header(f, path: str, key: str) -> tuple[tuple[int, ...], np.dtype]:
  """Parses an .npy header from an open stream; returns (shape, dtype)."""
  version = np.lib.format.read_magic(f)
  if version == (1, 0):
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
  else:
    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
  errors.require(
    not fortran, f"{path}: {key!r} is stored in Fortran order; expected C order"
  )
  return tuple(shape), np.dtype(dtype)


def npz_member(path: str, key: str) -> ArrayMember:
  """Describes array ``key`` of an .npz file (without reading its data).

  Raises:
    lbvae.errors.Error: not a readable .npz, or no array ``key``.
  """
  try:
    with zipfile.ZipFile(path) as zf:
      names = [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
      errors.require(
        key in names, f"{path}: no array {key!r} (it has: {', '.join(names) or 'none'})"
      )
      info = zf.getinfo(key + ".npy")
      with zf.open(info) as f:
        shape, dtype = _read_npy_header(f, path, key)
        header_len = f.tell()
      offset = None
      if info.compress_type == zipfile.ZIP_STORED:
        with open(path, "rb") as raw:
          raw.seek(info.header_offset)
          local = raw.read(_ZIP_LOCAL_HEADER)
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        offset = info.header_offset + _ZIP_LOCAL_HEADER + name_len + extra_len
        offset += header_len
  except (zipfile.BadZipFile, EOFError, OSError, ValueError, struct.error) as e:
    raise errors.DataError(
      f"{path}: not a readable .npz archive (truncated or corrupt?): {e}"
    ) from e
  return ArrayMember(path, "npz", key, shape, dtype, offset)


def h5_member(path: str, key: str) -> ArrayMember:
  """Describes dataset ``key`` of an HDF5 file (without reading its data).

  Raises:
    lbvae.errors.Error: not a readable HDF5 file, or no dataset ``key``.
  """
  import h5py  # pylint: disable=g-import-not-at-top

  try:
    with h5py.File(path, "r") as f:
      errors.require(
        key in f and isinstance(f[key], h5py.Dataset),
        f"{path}: no dataset {key!r} (it has: {', '.join(_h5_names(f))})",
      )
      dataset = f[key]
      _require_regular_external(path, key, dataset.external or ())
      offset = dataset.id.get_offset()
      if dataset.chunks is not None or dataset.compression is not None:
        offset = None
      return ArrayMember(
        path,
        "h5",
        key,
        tuple(dataset.shape),
        np.dtype(dataset.dtype),
        None if offset is None else int(offset),
      )
  except errors.Error:
    raise
  except (OSError, ValueError) as e:
    raise errors.DataError(
      f"{path}: not a readable HDF5 file (truncated or corrupt?): {e}"
    ) from e


def is_zip(path: str) -> bool:
  """Whether ``path`` is a zip archive (an .npz), by its first bytes: a truncated
  one, without its central directory, counts too."""
  with open(path, "rb") as f:
    return f.read(4) == b"PK\x03\x04" or zipfile.is_zipfile(path)


def _h5_names(f) -> list[str]:
  names = []
  f.visititems(lambda name, obj: names.append(name) if hasattr(obj, "shape") else None)
  return names


def read_small(member: ArrayMember) -> np.ndarray:
  """Reads a small array (labels) fully into memory, never unpickling."""
  try:
    if member.offset is not None:
      return np.array(member.memmap())
    if member.container == "npz":
      with np.load(member.path, allow_pickle=False) as npz:
        return np.asarray(npz[member.key])
    import h5py  # pylint: disable=g-import-not-at-top

    with h5py.File(member.path, "r") as f:
      return np.asarray(f[member.key])
  except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
    raise errors.DataError(
      f"{member.path}: cannot read {member.key!r} (truncated or corrupt file?): {e}"
    ) from e

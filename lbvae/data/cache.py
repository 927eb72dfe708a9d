"""A one-time uint8 .npy cache for images that cannot be memory-mapped in place.

Compressed distribution files (the dSprites .npz and .hdf5, the gzip-chunked
3dshapes.h5) and TFDS records (PNG-encoded, shuffled at write time) cannot serve
random batches cheaply: every random read would inflate a whole chunk or decode a
PNG. So they are converted once, sequentially, into a plain ``uint8[N, 64, 64, C]``
.npy file in grid order, which is then memory-mapped (and copied to the device in
one transfer when it fits, see :mod:`lbvae.data.batching`).

Where: ``$LBVAE_CACHE_DIR`` if set, else ``~/.cache/lbvae`` -- not next to the
source, which often lives on a read-only or shared mount. The file name carries a
hash of the source's absolute path, size and modification time, and of the
conversion, so a changed source is converted again; a cache file that does not read
as the expected array (truncated, replaced) is converted again too. Writes go to a
temporary file
that is renamed into place when complete: an interrupted conversion leaves no
half-written cache behind. The temporary's blocks are allocated in full before it is
memory-mapped (``posix_fallocate``), so a full file system is a
:class:`lbvae.errors.DataError` line up front, never a SIGBUS half-way; its name
holds the writer's pid, and the temporaries of a writer that no longer runs (one
killed during its conversion) are removed by the next conversion.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import pathlib
import tempfile
from typing import Callable, Sequence

import numpy as np

from lbvae import errors
from lbvae import files
from lbvae import untrusted

ENV_VAR = "LBVAE_CACHE_DIR"
_FORMAT = "lbvae-cache-v1"


def cache_dir() -> pathlib.Path:
  """The directory holding converted arrays."""
  root = os.environ.get(ENV_VAR) or os.path.join("~", ".cache", "lbvae")
  return pathlib.Path(root).expanduser()


def cache_path(stem: str, sources: Sequence[str], conversion: str) -> pathlib.Path:
  """Cache file for ``sources`` (files or directories) converted by ``conversion``.

  Args:
    stem: readable prefix of the file name, e.g. ``"dsprites"``.
    sources: the files (or directories: every file below them counts) the array
      is made from.
    conversion: a string naming the conversion (layout, scaling, order).

  Returns:
    ``cache_dir() / f"{stem}-{hash}.npy"``.
  """
  digest = hashlib.sha1(f"{_FORMAT}|{conversion}".encode())
  for source in sources:
    path = pathlib.Path(source).resolve()
    files = (
      sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    )
    for f in files:
      stat = f.stat()
      digest.update(f"|{f}|{stat.st_size}|{stat.st_mtime_ns}".encode())
  return cache_dir() / f"{stem}-{digest.hexdigest()[:16]}.npy"


def _npy_header(shape: tuple) -> bytes:
  """The .npy header of uint8[shape]."""
  header = {
    "descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
    "fortran_order": False,
    "shape": shape,
  }
  buffer = io.BytesIO()
  np.lib.format.write_array_header_1_0(buffer, header)
  return buffer.getvalue()


def remove_stale_temporaries(directory: pathlib.Path) -> list[pathlib.Path]:
  """Removes the ``<stem>.<pid>.<random>.tmp`` files of writers that no longer run.

  Returns:
    The files removed.
  """
  removed = []
  for tmp in directory.glob("*.tmp"):
    parts = tmp.name.split(".")
    if len(parts) >= 4 and parts[-3].isdigit() and not files.pid_alive(int(parts[-3])):
      try:
        tmp.unlink()
        removed.append(tmp)
      except FileNotFoundError:
        pass
  if removed:
    logging.warning(
      "lbvae: removed %d stale temporary file(s) of an interrupted conversion in %s",
      len(removed),
      directory,
    )
  return removed


def _allocate(fd: int, nbytes: int) -> None:
  """Allocates ``nbytes`` of the file's blocks now (ENOSPC here, not a SIGBUS later)."""
  try:
    os.posix_fallocate(fd, 0, nbytes)
  except OSError as e:
    if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
      raise
    os.ftruncate(fd, nbytes)  # a file system without fallocate: write it densely
    block = bytes(1 << 20)
    for start in range(0, nbytes, len(block)):
      os.pwrite(fd, block[: nbytes - start], start)


def cached_uint8(
  path: pathlib.Path,
  shape: Sequence[int],
  fill: Callable[[np.ndarray], None],
  what: str,
) -> np.ndarray:
  """Memory-maps the cache at ``path``, creating it with ``fill`` first if needed.

  Args:
    path: from :func:`cache_path`.
    shape: the array's shape, e.g. ``(N, 64, 64, C)``.
    fill: writes every element of the writable ``uint8[shape]`` memmap it is
      given (called once, only when the cache does not exist yet).
    what: a few words for the log line, e.g. ``"dSprites from file.npz"``.

  Returns:
    Read-only ``np.memmap`` uint8[shape].
  """
  shape = tuple(int(s) for s in shape)
  if path.exists():
    try:
      untrusted.require_regular(str(path))  # a FIFO would block np.load
      cached = np.load(path, mmap_mode="r")
      found = f"{cached.dtype}{list(cached.shape)}"
      if cached.shape == shape and cached.dtype == np.uint8:
        return cached
    except (OSError, ValueError, EOFError) as e:  # truncated, not an .npy, a FIFO
      found = f"no readable array ({errors.first_line(e)})"
    logging.warning(
      "lbvae: cache %s has %s, expected uint8%s; rebuilding", path, found, list(shape)
    )
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(
      prefix=f"{path.stem}.{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
    os.close(fd)
  except OSError as e:
    raise errors.DataError(
      f"cannot write the image cache in {path.parent} ({e}); "
      f"set {ENV_VAR} to a writable directory"
    ) from e
  nbytes = int(np.prod(shape, dtype=np.int64))
  logging.warning(
    "lbvae: converting %s once into %s (%.2f GiB uint8)", what, path, nbytes / 2**30
  )
  try:
    header = _npy_header(shape)
    fd = os.open(tmp, os.O_RDWR)
    try:
      _allocate(fd, len(header) + nbytes)
      os.pwrite(fd, header, 0)
    finally:
      os.close(fd)
    out = np.lib.format.open_memmap(tmp, mode="r+", dtype=np.uint8, shape=shape)
    fill(out)
    out.flush()
    del out
    os.replace(tmp, path)
  except OSError as e:
    raise errors.DataError(
      f"cannot write the image cache {path} ({nbytes / 2**30:.2f} GiB): "
      f"{e.strerror or e} ({files.free_space(str(path.parent))}); set {ENV_VAR} "
      "to a directory with enough space"
    ) from None
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return np.load(path, mmap_mode="r")

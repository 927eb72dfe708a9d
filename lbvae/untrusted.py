"""Reading files that may not be what they claim: regular files only, sizes bounded.

A released model's ``.pth``, its metrics ``.npz``, a workdir's ``.npz`` or a dataset
file may have been replaced by a FIFO or a device (a read that never ends), or may
declare sizes it does not hold (a zip member that inflates past its header, an
``.npy`` header declaring gigabytes). The readers here refuse anything but a regular
file before reading a byte, and read archive members in bounded blocks, so memory
grows with the bytes actually read and stops at the caller's limit. Every problem is
one :class:`lbvae.errors.DataError` line naming the file. Synopsis::

    with untrusted.open_regular(path) as f:          # a FIFO or /dev/zero: refused
      ...
    untrusted.require_regular(path, what="dataset.path")   # before a library opens it
    data = untrusted.read_member(archive, "x/data.pkl", path, max_bytes=2**20)
    arrays = untrusted.read_npz(path, max_bytes=64 * 2**20)   # {name: np.ndarray}
"""

from __future__ import annotations

import io
import os
import stat
import zipfile

import numpy as np

from lbvae import errors

BLOCK = 1 << 20  # bytes inflated per read of an archive member


def _kind(mode: int) -> str:
  return (
    "a FIFO"
    if stat.S_ISFIFO(mode)
    else "a directory"
    if stat.S_ISDIR(mode)
    else "a device"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
    else "a socket"
    if stat.S_ISSOCK(mode)
    else "not a regular file"
  )


def require_regular(path: str, *, what: str = "") -> None:
  """Refuses (one DataError line) a path that is not a regular file, links resolved.

  For files that another library opens itself (HDF5, memory maps). A missing file
  passes: the opener says so in its own words.
  """
  try:
    mode = os.stat(path).st_mode
  except FileNotFoundError:
    return
  except OSError as e:
    raise errors.DataError(f"{path}: cannot read it ({e.strerror or e})") from None
  if not stat.S_ISREG(mode):
    real = os.path.realpath(path)
    link = f" (a link to {real})" if real != os.path.abspath(path) else ""
    named = f"{what} " if what else ""
    raise errors.DataError(f"{named}{path}{link} is {_kind(mode)}, not a regular file")


def open_regular(path: str, *, what: str = ""):
  """The regular file at ``path`` (links resolved), opened for binary reading.

  Anything else (a device, a FIFO, a directory) is refused before a byte is read:
  the file is opened without blocking and checked with ``fstat`` on the open
  descriptor, so it cannot be swapped between the check and the read.

  Raises:
    lbvae.errors.DataError: not a regular file. FileNotFoundError and other
      OSErrors of ``open`` pass through.
  """
  fd = os.open(os.path.realpath(path), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
  mode = os.fstat(fd).st_mode
  if not stat.S_ISREG(mode):
    os.close(fd)
    require_regular(path, what=what)  # names the kind
    raise errors.DataError(f"{path} is not a regular file")
  os.set_blocking(fd, True)
  return os.fdopen(fd, "rb")


def read_member(archive: zipfile.ZipFile, name, path: str, *, max_bytes: int) -> bytes:
  """The bytes of one archive member, inflated :data:`BLOCK` bytes at a time.

  ``zipfile`` inflates a whole member in one call when asked for all of it, however
  much the stream yields past its declared size; here at most ``max_bytes`` (and never
  more than the member declares) are ever held.

  Args:
    archive: the open archive.
    name: the member's name or ``ZipInfo``.
    path: the archive's file, for messages.
    max_bytes: the most the member may hold.

  Raises:
    lbvae.errors.DataError: the member declares or holds more than ``max_bytes``.
    zipfile.BadZipFile, KeyError: as ``ZipFile.open`` raises them (a CRC error,
      a member that is not there).
  """
  info = name if isinstance(name, zipfile.ZipInfo) else archive.getinfo(name)
  if info.file_size > max_bytes:
    raise errors.DataError(
      f"{path}: refused: member {info.filename} declares "
      f"{info.file_size} bytes, past the {max_bytes} allowed"
    )
  out = bytearray()
  with archive.open(info) as f:
    while True:
      block = f.read(BLOCK)
      if not block:
        return bytes(out)
      out += block
      if len(out) > max_bytes:
        raise errors.DataError(
          f"{path}: refused: member {info.filename} inflates "
          f"past the {max_bytes} bytes allowed"
        )


def _npy(raw: bytes, path: str, name: str, left: int) -> np.ndarray:
  """One ``.npy`` member's array; its declared size is checked before it is made."""
  f = io.BytesIO(raw)
  version = np.lib.format.read_magic(f)
  read_header = (
    np.lib.format.read_array_header_1_0
    if version == (1, 0)
    else np.lib.format.read_array_header_2_0
  )
  shape, fortran, dtype = read_header(f)
  if dtype.hasobject:
    raise errors.DataError(f"{path}: {name} holds Python objects (a pickle); not read")
  count = int(np.prod(shape, dtype=object))
  nbytes = count * dtype.itemsize
  if nbytes > left:
    raise errors.DataError(
      f"{path}: refused: {name} declares {dtype}{list(shape)} "
      f"({nbytes} bytes), past the {left} bytes allowed"
    )
  data = raw[f.tell() :]
  if len(data) != nbytes:
    raise errors.DataError(
      f"{path}: {name} declares {dtype}{list(shape)} "
      f"({nbytes} bytes) but holds {len(data)} bytes"
    )
  array = np.frombuffer(data, dtype, count)
  return array.reshape(shape, order="F" if fortran else "C").copy()


def read_npz(source, path: str, *, max_bytes: int) -> dict[str, np.ndarray]:
  """The arrays of an ``.npz`` (``np.savez``), never unpickling, at most
  ``max_bytes`` read in all (declared sizes checked before anything is made).

  Args:
    source: the archive's bytes, or a binary file object (see :func:`open_regular`).
    path: the file, for messages.
    max_bytes: the most its arrays may hold together.

  Returns:
    ``{name: array}`` for every ``<name>.npy`` member (other members are left out).

  Raises:
    lbvae.errors.DataError: not an ``.npz``, truncated or corrupt, an object
      array, or more than ``max_bytes``.
  """
  if isinstance(source, (bytes, bytearray)):
    source = io.BytesIO(source)
  left, out = max_bytes, {}
  try:
    with zipfile.ZipFile(source) as archive:
      for info in archive.infolist():
        if not info.filename.endswith(".npy"):
          continue
        name = info.filename[: -len(".npy")]
        out[name] = _npy(
          read_member(archive, info, path, max_bytes=left + 4096), path, name, left
        )
        left -= out[name].nbytes
  except errors.Error:
    raise
  except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
    raise errors.DataError(
      f"{path}: not a readable .npz archive (truncated or "
      f"corrupt?): {type(e).__name__}: {str(e)[:120]}"
    ) from None
  return out

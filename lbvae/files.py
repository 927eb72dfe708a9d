"""Atomic writes of the JSON, CSV and text files lbvae leaves on disk.

Every writer goes through a temporary file in the same directory and ``os.replace``,
so a reader (or a run that is killed half-way) never sees a half-written file in
place of a good one. CSV values are formatted by :func:`format_value`: bools as 0/1,
integers as themselves, floats with full round-trip precision (``repr``) or with
``digits`` significant digits, NaN as ``nan``; a missing column is an empty cell.

Synopsis::

    files.write_json(path, {"step": 3})
    files.write_csv(path, ["step", "loss"], rows)                # full precision
    files.write_csv(path, columns, rows, digits=8)               # tables for people
    files.append_csv(path, columns, more_rows)                   # a growing log
    files.append_text(path, "a line\n")
    files.write_npz(path, step=np.arange(3), loss=losses)        # arrays
    files.check_writable_dir(workdir, what="--workdir")         # before any work

A write that fails for want of space or permission becomes one line through
:func:`disk_error` (what could not be written, the errno's text, the free space).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import math
import os
import re
import shutil
import tempfile
from typing import Iterable, Sequence

import numpy as np

from lbvae import errors


@contextlib.contextmanager
def _writing(path: str, temporary: str | None = ""):
  """Writes ``path`` (its directory is created) through the temporary file it
  yields, ``path.tmp<pid><temporary>`` (None: no temporary). An OSError becomes
  :func:`disk_error`'s line and the temporary is removed: the file in place, if
  any, stays as it was."""
  tmp = None if temporary is None else f"{path}.tmp{os.getpid()}{temporary}"
  directory = os.path.dirname(os.path.abspath(path))
  try:
    os.makedirs(directory, exist_ok=True)
    yield tmp
    if tmp is not None:
      os.replace(tmp, path)
  except OSError as e:
    if tmp is not None and os.path.exists(tmp):
      os.remove(tmp)
    raise disk_error(e, path, directory) from None


def write_text(path: str, text: str) -> None:
  """Writes ``text`` to ``path`` atomically."""
  with _writing(path) as tmp, open(tmp, "w") as f:
    f.write(text)


def append_text(path: str, text: str) -> None:
  """Appends ``text`` to ``path`` (a growing log)."""
  with _writing(path, None), open(path, "a") as f:
    f.write(text)


def write_json(path: str, obj, *, indent: int = 1) -> None:
  """Writes ``obj`` as JSON (a trailing newline) atomically."""
  write_text(path, json.dumps(obj, indent=indent) + "\n")


def write_npz(path: str, **arrays) -> None:
  """Writes NumPy arrays as an uncompressed .npz atomically (read it back with
  ``np.load(path, allow_pickle=False)``)."""
  with _writing(path, ".npz") as tmp:  # np.savez appends .npz to other names
    np.savez(tmp, **arrays)


def format_value(v, digits: int | None = None) -> str:
  """One CSV cell (see the module docstring); strings pass through unchanged."""
  if isinstance(v, (bool, np.bool_)):
    return str(int(v))
  if isinstance(v, (int, np.integer)):
    return str(int(v))
  if isinstance(v, (float, np.floating)):
    v = float(v)
    if math.isnan(v):
      return "nan"
    return repr(v) if digits is None else f"{v:.{digits}g}"
  return str(v)


def _cells(row: dict, columns: Sequence[str], digits: int | None) -> list[str]:
  return [format_value(row[c], digits) if c in row else "" for c in columns]


def write_csv(path: str, columns: Sequence[str], rows: Iterable[dict], *,
              digits: int | None = None) -> None:
  """Writes a whole CSV atomically.

  Args:
    path: the file.
    columns: the header; a row's extra keys are ignored, missing ones left empty.
    rows: dicts of values (numbers, bools or strings, e.g. read back from a CSV).
    digits: significant digits of floats (None: full precision).
  """
  with _writing(path) as tmp, open(tmp, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(columns)
    for r in rows:
      w.writerow(_cells(r, columns, digits))


def append_csv(path: str, columns: Sequence[str], rows: Iterable[dict], *,
               digits: int | None = None) -> None:
  """Appends rows to a CSV that :func:`write_csv` started (one ``write`` per row)."""
  with _writing(path, None), open(path, "a", newline="") as f:
    w = csv.writer(f)
    for r in rows:
      w.writerow(_cells(r, columns, digits))


def _existing(path: str) -> str:
  """``path`` or its nearest ancestor that exists."""
  path = os.path.abspath(path)
  while not os.path.lexists(path) and os.path.dirname(path) != path:
    path = os.path.dirname(path)
  return path


def free_space(path: str) -> str:
  """``"N MiB free"`` on the file system that holds (or would hold) ``path``."""
  try:
    free = shutil.disk_usage(_existing(path)).free
  except OSError:
    return "free space unknown"
  return f"{free / 2**20:.1f} MiB free"


def disk_error(error: OSError, what: str, where: str | None = None) -> errors.DiskError:
  """One line for an OSError met writing ``what`` (into directory ``where``): the
  errno's text, the free space there and the file it names."""
  location = error.filename or where
  free = free_space(str(location)) if location else "free space unknown"
  name = f"; {error.filename}" if error.filename else ""
  return errors.DiskError(f"cannot write {what}: {error.strerror or error} "
                          f"({free}{name})")


def os_error_of(error: BaseException) -> OSError | None:
  """The OSError behind ``error``: itself, its cause, or the errno that
  TensorStore (orbax's writer) reports in its text as ``[os_error_code='N']``."""
  while error is not None:
    if isinstance(error, OSError):
      return error
    found = re.search(r"os_error_code='?(\d+)", str(error))
    if found:
      code = int(found.group(1))
      name = re.search(r'Failed writing: "([^"]+)"', str(error))
      return OSError(code, os.strerror(code), name.group(1) if name else None)
    error = error.__cause__ or error.__context__
  return None


def _not_writable(path: str) -> str:
  try:
    read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
  except OSError:
    read_only = False
  return os.strerror(errno.EROFS if read_only else errno.EACCES)


def check_writable_dir(path: str, *, what: str, must_exist: bool = False) -> None:
  """Refuses, before any work, a directory that cannot be written.

  A file where the directory should be, a read-only file system, no permission or
  no space for a small probe file are one :class:`lbvae.errors.DiskError` line; a
  directory that does not exist yet is checked through its nearest existing
  ancestor and not created.

  Args:
    path: the directory.
    what: how the user named it, e.g. ``"--workdir"``.
    must_exist: a missing directory is an error (:class:`lbvae.errors.DataError`).
  """
  if os.path.lexists(path) and not os.path.isdir(path):
    raise errors.DiskError(f"{what} {path} is a file, not a directory")
  if not os.path.isdir(path):
    errors.require(not must_exist, f"{what} {path} does not exist", errors.DataError)
    parent = _existing(path)
    if not os.path.isdir(parent):
      raise errors.DiskError(f"{what} {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
      raise errors.DiskError(f"cannot create {what} {path}: {_not_writable(parent)} "
                             f"({parent}; {free_space(parent)})")
    return
  if not os.access(path, os.W_OK | os.X_OK):
    raise errors.DiskError(f"cannot write in {what} {path}: {_not_writable(path)} "
                           f"({free_space(path)})")
  try:
    fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=path)
    try:
      os.write(fd, b"0" * 4096)
      os.fsync(fd)
    finally:
      os.close(fd)
      os.remove(probe)
  except OSError as e:
    raise disk_error(e, f"in {what} {path}", path) from None

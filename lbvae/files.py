"""Atomic writes of the JSON, CSV and text files lbvae leaves on disk: the one path
layer every workdir file goes through.

A path is a local path or a URL that ``etils.epath`` opens (``gs://`` with ``gcsfs``,
``s3://`` with ``s3fs``); :func:`as_path` makes the ``epath.Path``. A local write goes to
a temporary file renamed over the target (``os.replace``); on an object store the file
is uploaded whole, and an append rewrites it (docs/cluster.md, "The shared workdir").
CSV cells follow :func:`format_value`. A write that fails for want of space or
permission becomes one line through :func:`disk_error`.

Synopsis::

    files.write_json(path, {"step": 3})
    files.write_csv(path, ["step", "loss"], rows)                # full precision
    files.write_csv(path, columns, rows, digits=8)               # tables for people
    files.append_csv(path, columns, more_rows)                   # a growing log
    files.write_npz(path, step=np.arange(3), loss=losses)        # also write_bytes, append_text
    columns, rows = files.read_csv(path)                         # also read_json, ...
    files.check_writable_dir(workdir, what="--workdir")          # before any work
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import re
import shutil
import tempfile
from typing import Iterable, Sequence

from etils import epath
import numpy as np
import tensorstore as ts

from lbvae import errors
from lbvae import untrusted


def is_local(name) -> bool:
  """Whether ``name`` is a path of this machine's file system (not a URL)."""
  return "://" not in os.fspath(name)


def absolute(name) -> str:
  """``name`` made absolute (a leading ``~`` expanded, as a shell would have); a URL
  (``gs://bucket/run``) as it is, less a final /."""
  name = os.fspath(name)
  if not is_local(name):
    return name.rstrip("/")
  return os.path.abspath(os.path.expanduser(name))


def as_path(name, *parts: str) -> epath.Path:
  """``name`` (a local path or a URL), joined with ``parts``, as an ``epath.Path``."""
  return epath.Path(absolute(name), *parts)


def read_bytes(name) -> bytes:
  """A file's bytes; a local one must be a regular file (a FIFO in its place would
  never end the read: :func:`lbvae.untrusted.open_regular`)."""
  if not is_local(name):
    return as_path(name).read_bytes()
  with untrusted.open_regular(absolute(name)) as f:
    return f.read()


def read_text(name) -> str:
  """The UTF-8 text of a file (:func:`read_bytes`)."""
  return read_bytes(name).decode("utf-8")


def read_json(name):
  """A JSON file's value."""
  return json.loads(read_text(name))


def read_csv(
  name,
  *,
  integers: Sequence[str] = (),
  numbers: Sequence[str] = (),
  drop_unfinished: bool = False,
) -> tuple[list[str], list[dict]]:
  """A CSV's header and its rows, checked against what lbvae writes.

  Every row must have one cell per column; the cells of ``integers`` are parsed as
  ints, those of ``numbers`` as floats (an empty cell or ``nan`` is NaN), the others
  stay strings.

  Args:
    name: the file.
    integers, numbers: columns that must hold numbers (each must be in the header).
    drop_unfinished: leave out a last line without its newline (a row whose write
      was cut short by a killed run).

  Raises:
    lbvae.errors.DataError: a missing column, a row with too few or too many
      cells, a cell that is not a number: one line naming the file, line and cell.
  """
  text = read_text(name)
  if drop_unfinished and text and not text.endswith("\n"):
    text = text[: text.rfind("\n") + 1]
  reader = csv.DictReader(io.StringIO(text, newline=""), restkey=_EXTRA)
  columns = list(reader.fieldnames or ())
  missing = [c for c in (*integers, *numbers) if c not in columns]
  errors.require(
    not missing,
    f"{name}: no column {', '.join(missing)} (it has: "
    f"{', '.join(columns) or 'no header'})",
    errors.DataError,
  )
  rows = []
  for row in reader:
    where = f"{name} line {reader.line_num}"
    errors.require(
      _EXTRA not in row and None not in row.values(),
      f"{where} has {_count(row)} cells where the header has {len(columns)}",
      errors.DataError,
    )
    for c in integers:
      row[c] = _cell(row[c], int, where, c)
    for c in numbers:
      row[c] = _cell(row[c], float, where, c) if row[c] != "" else math.nan
    rows.append(row)
  return columns, rows


_EXTRA = object()  # DictReader's key of the cells past the header's


def _count(row: dict) -> int:
  return sum(v is not None for k, v in row.items() if k is not _EXTRA) + len(
    row.get(_EXTRA, ())
  )


def _cell(text: str, kind, where: str, column: str):
  try:
    return kind(text)
  except ValueError:
    raise errors.DataError(
      f"{where}, column {column}: {text!r} is not "
      f"{'an integer' if kind is int else 'a number'}"
    ) from None


def open_own(path, flags: int, mode: int = 0o644) -> int:
  """``os.open`` of a file lbvae writes (a lock, a log, a temporary), never through a
  symbolic link: a link in its place is refused, so that nothing it points to is
  truncated or appended to.

  Raises:
    lbvae.errors.DiskError: ``path`` is a symbolic link. Other OSErrors pass.
  """
  try:
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
  except OSError as e:
    if e.errno == errno.ELOOP or (e.errno == errno.EEXIST and os.path.islink(path)):
      raise errors.DiskError(
        f"{path} is a symbolic link (to {os.path.realpath(path)}); lbvae writes its "
        "own files in place, never through a link: remove it"
      ) from None
    raise


def make_dir(path) -> None:
  """Creates a local directory and its parents; nothing for a URL (an object store
  has no directories to create, and ``mkdir`` there may create a bucket)."""
  if is_local(path):
    as_path(path).mkdir(parents=True, exist_ok=True)


def write_bytes(path, data: bytes) -> None:
  """Writes ``data`` to ``path`` atomically (a local file's directory is created).

  An OSError becomes :func:`disk_error`'s line and the temporary is removed: the
  file in place, if any, stays as it was.
  """
  target = as_path(path)
  if not is_local(target):  # one upload: the object appears whole or not at all
    try:
      target.write_bytes(data)
    except OSError as e:
      raise disk_error(e, os.fspath(path), str(target.parent)) from None
    return
  tmp = target.parent / f"{target.name}.tmp{os.getpid()}"
  try:
    make_dir(target.parent)
    fd = open_own(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "wb") as f:
      f.write(data)
    tmp.replace(target)
  except OSError as e:
    if os.path.isfile(tmp) and not os.path.islink(tmp):
      tmp.unlink()
    raise disk_error(e, os.fspath(path), str(target.parent)) from None


def append_bytes(path, data: bytes) -> None:
  """Appends ``data`` in place (a local file) or by rewriting the file whole."""
  target = as_path(path)
  if not is_local(target):
    old = target.read_bytes() if target.exists() else b""
    write_bytes(path, old + data)
    return
  try:
    make_dir(target.parent)
    fd = open_own(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    with os.fdopen(fd, "wb") as f:
      f.write(data)
  except OSError as e:
    raise disk_error(e, os.fspath(path), str(target.parent)) from None


def _append(path, text: str) -> None:
  append_bytes(path, text.encode("utf-8"))


def write_text(path: str, text: str) -> None:
  """Writes ``text`` (UTF-8) to ``path`` atomically."""
  write_bytes(path, text.encode("utf-8"))


def append_text(path: str, text: str) -> None:
  """Appends ``text`` to ``path`` (a growing log)."""
  _append(path, text)


def write_json(path: str, obj, *, indent: int = 1) -> None:
  """Writes ``obj`` as JSON (a trailing newline) atomically."""
  write_text(path, json.dumps(obj, indent=indent) + "\n")


def write_npz(path: str, **arrays) -> None:
  """Writes NumPy arrays as an uncompressed .npz atomically (read it back with
  :func:`read_npz`)."""
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  write_bytes(path, buffer.getvalue())


NPZ_MAX_BYTES = 2**30  # the most a workdir's .npz may hold (its arrays are MBs)


def read_npz(name, *, max_bytes: int = NPZ_MAX_BYTES) -> dict[str, np.ndarray]:
  """The arrays of a .npz file (no pickles; a local one must be a regular file, and
  at most ``max_bytes`` are read: :func:`lbvae.untrusted.read_npz`)."""
  if is_local(name):
    with untrusted.open_regular(absolute(name)) as f:
      return untrusted.read_npz(f, os.fspath(name), max_bytes=max_bytes)
  return untrusted.read_npz(read_bytes(name), os.fspath(name), max_bytes=max_bytes)


BOOLS = ("int", "text")  # how a CSV writes bools: 1/0, or True/False


def format_value(v, digits: int | None = None, *, bools: str = "int") -> str:
  """One CSV cell: bools 0/1 (``True``/``False`` with ``bools="text"``), ints as
  themselves, floats by ``repr`` (round-trip) or to ``digits`` significant digits, NaN
  as ``nan``, anything else by ``str``. A row missing a column gets an empty cell."""
  if isinstance(v, (bool, np.bool_)):
    return str(bool(v)) if bools == "text" else str(int(v))
  if isinstance(v, (int, np.integer)):
    return str(int(v))
  if isinstance(v, (float, np.floating)):
    v = float(v)
    if math.isnan(v):
      return "nan"
    return repr(v) if digits is None else f"{v:.{digits}g}"
  return str(v)


def _cells(
  row: dict, columns: Sequence[str], digits: int | None, bools: str
) -> list[str]:
  return [
    format_value(row[c], digits, bools=bools) if c in row else "" for c in columns
  ]


def _csv_text(rows, columns, digits, *, header: bool, bools: str = "int") -> str:
  if bools not in BOOLS:
    raise ValueError(f"bools={bools!r}: expected one of {', '.join(BOOLS)}")
  buffer = io.StringIO(newline="")
  w = csv.writer(buffer)
  if header:
    w.writerow(columns)
  for r in rows:
    w.writerow(_cells(r, columns, digits, bools))
  return buffer.getvalue()


def write_csv(
  path: str,
  columns: Sequence[str],
  rows: Iterable[dict],
  *,
  digits: int | None = None,
  bools: str = "int",
) -> None:
  """Writes a whole CSV atomically.

  Args:
    path: the file.
    columns: the header; a row's extra keys are ignored, missing ones left empty.
    rows: dicts of values (numbers, bools or strings, e.g. read back from a CSV).
    digits: significant digits of floats (None: full precision).
    bools: ``"int"`` writes bools as 1/0, ``"text"`` as True/False.
  """
  write_text(path, _csv_text(rows, columns, digits, header=True, bools=bools))


def append_csv(
  path: str, columns: Sequence[str], rows: Iterable[dict], *, digits: int | None = None
) -> None:
  """Appends rows to a CSV that :func:`write_csv` started."""
  _append(path, _csv_text(rows, columns, digits, header=False))


def pid_alive(pid: int) -> bool:
  """Whether process ``pid`` of this host still runs (another user's counts)."""
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def _existing(path: str) -> str:
  """``path`` or its nearest ancestor that exists."""
  path = os.path.abspath(path)
  while not os.path.lexists(path) and os.path.dirname(path) != path:
    path = os.path.dirname(path)
  return path


def free_space(path: str) -> str:
  """``"N MiB free"`` on the file system that holds (or would hold) ``path``."""
  if not is_local(path):
    return "free space unknown"
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
  return errors.DiskError(
    f"cannot write {what}: {error.strerror or error} ({free}{name})"
  )


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


def check_url(path: str, *, what: str) -> None:
  """Refuses a URL that ``etils.epath`` cannot open (a scheme it does not know, or
  one whose file-system package, e.g. ``gcsfs`` for ``gs://``, is not installed),
  or that TensorStore, which writes the checkpoints' arrays, cannot (``az://``).
  A local path passes.

  Raises:
    lbvae.errors.ConfigError: the line naming the scheme or the package.
  """
  if is_local(path):
    return
  scheme = os.fspath(path).split("://", 1)[0]
  try:
    as_path(path).exists()
  except KeyError:
    raise errors.ConfigError(
      f"{what} {path}: etils.epath opens no {scheme}:// URL (it opens gs://, "
      "s3://, az://, hf:// and local paths)"
    ) from None
  except ImportError as e:
    raise errors.ConfigError(f"{what} {path}: {e}") from None
  try:
    ts.KvStore.Spec(f"{absolute(path)}/")
  except ValueError:
    raise errors.ConfigError(
      f"{what} {path}: TensorStore (orbax's array writer) opens no {scheme}:// URL "
      "(it opens gs:// and s3://), so no checkpoint could be kept there"
    ) from None


def _check_writable_url(path: str, *, what: str, must_exist: bool) -> None:
  """:func:`check_writable_dir` for a URL: a small probe object is written and
  removed (an object store has no permission bits or free space to ask for)."""
  check_url(path, what=what)
  target = as_path(path)
  if target.exists() and not target.is_dir():
    raise errors.DiskError(f"{what} {path} is a file, not a directory")
  errors.require(
    not must_exist or target.is_dir(), f"{what} {path} does not exist", errors.DataError
  )
  probe = target / f".write-probe.{os.getpid()}"
  try:
    probe.write_bytes(b"0" * 4096)
    probe.unlink()
  except OSError as e:
    raise disk_error(e, f"in {what} {path}", path) from None


def check_writable_dir(path: str, *, what: str, must_exist: bool = False) -> None:
  """Refuses, before any work, a directory that cannot be written.

  A file where the directory should be, a read-only file system, no permission or
  no space for a small probe file are one :class:`lbvae.errors.DiskError` line; a
  directory that does not exist yet is checked through its nearest existing
  ancestor and not created. A URL (``gs://...``) is checked by :func:`check_url`
  and by writing and removing a probe object.

  Args:
    path: the directory.
    what: how the user named it, e.g. ``"--workdir"``.
    must_exist: a missing directory is an error (:class:`lbvae.errors.DataError`).
  """
  if not is_local(path):
    _check_writable_url(path, what=what, must_exist=must_exist)
    return
  path = os.path.expanduser(path)
  if os.path.lexists(path) and not os.path.isdir(path):
    raise errors.DiskError(f"{what} {path} is a file, not a directory")
  if not os.path.isdir(path):
    errors.require(not must_exist, f"{what} {path} does not exist", errors.DataError)
    parent = _existing(path)
    if not os.path.isdir(parent):
      raise errors.DiskError(f"{what} {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
      raise errors.DiskError(
        f"cannot create {what} {path}: {_not_writable(parent)} "
        f"({parent}; {free_space(parent)})"
      )
    return
  if not os.access(path, os.W_OK | os.X_OK):
    raise errors.DiskError(
      f"cannot write in {what} {path}: {_not_writable(path)} ({free_space(path)})"
    )
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

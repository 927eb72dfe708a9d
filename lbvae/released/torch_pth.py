"""Reads PyTorch ``.pth`` state dicts into NumPy arrays, without PyTorch.

A ``torch.save`` file (PyTorch >= 1.6, the zip format) holds ``<name>/data.pkl`` (a
pickle of the state dict), ``<name>/data/<key>`` (one raw storage per key),
``<name>/byteorder`` ("little" or "big"; absent: little) and ``<name>/version``. A
pickle can name any global and call it, so :func:`load` unpickles with an allow-list:
only the names that rebuild tensors, storages and (ordered) dicts resolve; any other
global (``os.system``, ``builtins.eval``, a model class) raises
:class:`lbvae.errors.DataError` naming the file and the global, before anything is
called. Tensors come back as NumPy arrays (storage dtype, shape, strides, offset and
byte order honoured). Only a regular file is read (links resolved: ``/dev/zero`` or a
FIFO is refused unread, :func:`lbvae.untrusted.open_regular`), and sizes are bounded
before allocating: members declaring more than ``max_bytes`` in all (default
``convert.max_checkpoint_bytes``), a view holding more elements than its storage, and
tensors over ``max_bytes`` together are refused; members are inflated a block at a
time (:func:`lbvae.untrusted.read_member`), so a deflate stream that yields more than
its header declares never takes more memory than that. The legacy (pre-zip) format is not read: re-save it with
``torch.save(torch.load(f), f)``. Synopsis::

  state = torch_pth.load("betavae_beta_4_seed_0.pth")   # {name: np.ndarray}
  state["encoder.fc_mu.weight"].shape                    # (10, 256)
"""

from __future__ import annotations

import collections
import functools
import io
import pickle
import zipfile

import ml_dtypes
import numpy as np

from lbvae import errors
from lbvae import untrusted
from lbvae.released import convert

# Storage type names -> NumPy dtypes (little-endian; see _storage for big-endian).
STORAGE_DTYPES = {
  "DoubleStorage": np.float64,
  "FloatStorage": np.float32,
  "HalfStorage": np.float16,
  "BFloat16Storage": ml_dtypes.bfloat16,
  "LongStorage": np.int64,
  "IntStorage": np.int32,
  "ShortStorage": np.int16,
  "CharStorage": np.int8,
  "ByteStorage": np.uint8,
  "BoolStorage": np.bool_,
}


class _StorageType:
  """What ``torch.<X>Storage`` unpickles to: the storage's NumPy dtype."""

  def __init__(self, name: str):
    self.name = name
    self.dtype = np.dtype(STORAGE_DTYPES[name])


class _Budget:
  """Bytes the tensors of one file may still take; refuses what goes over."""

  def __init__(self, path: str, max_bytes: int):
    self.path, self.max_bytes, self.left = path, max_bytes, max_bytes

  def take(self, nbytes: int, what: str) -> None:
    if nbytes > self.left:
      raise errors.DataError(
        f"{self.path}: refused: {what} would take {nbytes} bytes, past the "
        f"{self.max_bytes} bytes that the authors' conv VAE can need"
      )
    self.left -= nbytes


def _check_strided(storage: np.ndarray, offset, size, stride) -> None:
  """Refuses a view that would read outside its storage (as_strided does not check)
  or hold more elements than it (a zero stride repeating values)."""
  ok = (
    isinstance(offset, int)
    and offset >= 0
    and len(size) == len(stride)
    and all(isinstance(n, int) and n >= 0 for n in size)
    and all(isinstance(s, int) and s >= 0 for s in stride)
  )
  if ok and all(n > 0 for n in size):
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    ok = last < storage.size
  if not ok:
    raise ValueError(
      f"tensor view (offset {offset!r}, size {size!r}, stride "
      f"{stride!r}) does not fit its storage of {storage.size} elements"
    )
  numel = int(np.prod(size, dtype=object))
  if numel > storage.size:
    raise ValueError(
      f"tensor view of size {size!r} (stride {stride!r}) expands its "
      f"storage of {storage.size} elements to {numel}"
    )


def _rebuild_tensor(storage, storage_offset, size, stride, *unused, budget=None):
  """``torch._utils._rebuild_tensor_v2`` (and v1): a NumPy copy of the view."""
  if not isinstance(storage, np.ndarray):
    raise ValueError("a tensor's storage is not a storage record")
  size, stride = tuple(size), tuple(stride)
  _check_strided(storage, storage_offset, size, stride)
  if budget is not None:
    budget.take(
      int(np.prod(size, dtype=object)) * storage.dtype.itemsize,
      f"a tensor of size {size!r}",
    )
  if not all(size):
    return np.zeros(size, storage.dtype)
  item = storage.dtype.itemsize
  view = np.lib.stride_tricks.as_strided(
    storage[storage_offset:],
    shape=size,
    strides=tuple(s * item for s in stride),
    writeable=False,
  )
  return np.array(view)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *unused):
  """``torch._utils._rebuild_parameter``: a parameter is its data."""
  if not isinstance(data, np.ndarray):
    raise ValueError("a parameter's data is not a tensor")
  return data


# The only globals a state dict needs (module, name) -> what they become here.
ALLOWED = {
  ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
  ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
  ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
  ("collections", "OrderedDict"): collections.OrderedDict,
}
ALLOWED.update({("torch", name): _StorageType(name) for name in STORAGE_DTYPES})


class _Unpickler(pickle.Unpickler):
  """Resolves only :data:`ALLOWED` globals; storages come from the zip."""

  def __init__(
    self,
    data: bytes,
    path: str,
    archive: zipfile.ZipFile,
    prefix: str,
    byteorder: str,
    budget: _Budget,
  ):
    super().__init__(io.BytesIO(data))
    self.path, self.archive, self.prefix = path, archive, prefix
    self.byteorder, self.budget = byteorder, budget
    self.storages: dict[str, np.ndarray] = {}

  def find_class(self, module, name):
    try:
      found = ALLOWED[(module, name)]
      if found is _rebuild_tensor:
        return functools.partial(_rebuild_tensor, budget=self.budget)
      return found
    except (KeyError, TypeError):
      raise errors.DataError(
        f"{self.path}: refused to load: its pickle names the global "
        f"{module}.{name}, which is not on the allow-list of tensor, storage and "
        "dict rebuilders (a file that names it could run code; only PyTorch state "
        "dicts are read)"
      ) from None

  def persistent_load(self, pid):
    if not (
      isinstance(pid, tuple)
      and len(pid) >= 5
      and pid[0] == "storage"
      and isinstance(pid[1], _StorageType)
      and isinstance(pid[2], str)
    ):
      raise errors.DataError(
        f"{self.path}: unexpected persistent id {pid!r:.80} in "
        "data.pkl (not a storage record)"
      )
    kind, key = pid[1], pid[2]
    if key not in self.storages:
      self.storages[key] = self._storage(key, kind.dtype)
    storage = self.storages[key]
    if storage.dtype != kind.dtype:
      raise errors.DataError(f"{self.path}: storage {key} is read as two dtypes")
    return storage

  def _storage(self, key: str, dtype: np.dtype) -> np.ndarray:
    name = f"{self.prefix}data/{key}"
    try:
      raw = untrusted.read_member(
        self.archive, name, self.path, max_bytes=self.budget.max_bytes
      )
    except KeyError:
      raise errors.DataError(f"{self.path}: storage {name} is missing") from None
    if len(raw) % dtype.itemsize:
      raise errors.DataError(
        f"{self.path}: storage {name} has {len(raw)} bytes, not "
        f"a multiple of {dtype.itemsize} ({dtype})"
      )
    order = "<" if self.byteorder == "little" else ">"
    return np.frombuffer(raw, dtype.newbyteorder(order)).astype(dtype)


def _prefix(path: str, names: list[str]) -> str:
  pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
  if len(pickles) != 1:
    raise errors.DataError(
      f"{path}: not a PyTorch zip checkpoint (expected one "
      f"<name>/data.pkl, found {len(pickles)})"
    )
  return pickles[0][: -len("data.pkl")]


def _check_sizes(path: str, archive: zipfile.ZipFile, max_bytes: int) -> None:
  """Refuses an archive whose members declare more than ``max_bytes`` in all (zipfile
  never inflates a member past its declared size)."""
  declared = sum(info.file_size for info in archive.infolist())
  if declared > max_bytes:
    big = max(archive.infolist(), key=lambda info: info.file_size)
    raise errors.DataError(
      f"{path}: refused: its members declare {declared} bytes ({big.filename}: "
      f"{big.file_size}), past the {max_bytes} bytes that the authors' conv VAE "
      "can need"
    )


def load(path: str, *, max_bytes: int | None = None):
  """The object saved in a ``.pth`` file, tensors as NumPy arrays.

  Args:
    path: a regular file (or a link to one) written by ``torch.save`` (zip format).
    max_bytes: the most bytes its members and its tensors may take (default:
      ``convert.max_checkpoint_bytes()``, the authors' conv VAE).

  Returns:
    What was saved, with every tensor (and parameter) a ``np.ndarray`` of its dtype
    and shape; for a state dict, an ``OrderedDict`` of name -> array.

  Raises:
    lbvae.errors.DataError: the file is missing, not a regular file, not a zip (or
      truncated or corrupt), legacy-format, larger than ``max_bytes``, or its pickle
      names a global outside :data:`ALLOWED` or is otherwise malformed. Nothing the
      file names is ever called unless allowed.
  """
  if max_bytes is None:
    max_bytes = convert.max_checkpoint_bytes()
  try:
    with untrusted.open_regular(path) as f, zipfile.ZipFile(f) as archive:
      _check_sizes(path, archive, max_bytes)
      prefix = _prefix(path, archive.namelist())
      names = set(archive.namelist())
      byteorder = "little"
      if f"{prefix}byteorder" in names:
        byteorder = (
          untrusted.read_member(archive, f"{prefix}byteorder", path, max_bytes=16)
          .decode()
          .strip()
        )
        if byteorder not in ("little", "big"):
          raise errors.DataError(f"{path}: unknown byte order {byteorder!r:.20}")
      data = untrusted.read_member(
        archive, f"{prefix}data.pkl", path, max_bytes=max_bytes
      )
      return _Unpickler(
        data, path, archive, prefix, byteorder, _Budget(path, max_bytes)
      ).load()
  except errors.Error:
    raise
  except FileNotFoundError:
    raise errors.DataError(f"{path} does not exist") from None
  except OSError as e:
    raise errors.DataError(f"{path}: cannot read it ({e.strerror or e})") from None
  except zipfile.BadZipFile as e:
    legacy = _looks_legacy(path)
    raise errors.DataError(
      f"{path}: "
      + (
        "legacy (pre-1.6) PyTorch format, not read; re-save it with a recent PyTorch"
        if legacy
        else f"not a readable PyTorch zip checkpoint ({e})"
      )
    ) from None
  except Exception as e:  # pylint: disable=broad-except
    # A malformed pickle or archive: truncated data, a bad opcode, a CRC error,
    # an allowed function called with the wrong arguments.
    raise errors.DataError(
      f"{path}: corrupt PyTorch checkpoint ({type(e).__name__}: {str(e)[:120]})"
    ) from None


def _looks_legacy(path: str) -> bool:
  """Legacy files start with a pickled magic number (protocol 2: b'\\x80\\x02\\x8a')."""
  try:
    with open(path, "rb") as f:
      return f.read(3) == b"\x80\x02\x8a"
  except OSError:
    return False

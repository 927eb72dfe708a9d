"""Reads PyTorch ``.pth`` state dicts into NumPy arrays, without PyTorch.

A file written by ``torch.save`` (PyTorch >= 1.6, the zip format) is a zip archive::

  <name>/data.pkl      a pickle of the object (here: a state dict)
  <name>/data/<key>    one raw storage per key (the tensors' bytes)
  <name>/byteorder     "little" or "big" (absent in older files: little)
  <name>/version       the format version

``data.pkl`` names Python globals (the tensor rebuild function, storage types,
``collections.OrderedDict``) and refers to the storages by persistent ids. A pickle
can name *any* global and call it, so a plain ``pickle.load`` of a downloaded file
runs whatever code its author chose. :func:`load` unpickles with an allow-list: only
the names that rebuild tensors, storages and (ordered) dicts resolve; any other
global -- ``os.system``, ``builtins.eval``, ``subprocess.Popen``, a model class --
raises :class:`lbvae.errors.DataError` naming the file and the global, before
anything is called. Tensors come back as NumPy arrays (dtype from the storage type,
shape, strides and offset honoured, the storage's byte order converted).

Synopsis::

  state = torch_pth.load("betavae_beta_4_seed_0.pth")   # {name: np.ndarray}
  state["encoder.fc_mu.weight"].shape                    # (10, 256)

The legacy (pre-zip, PyTorch < 1.6) format is not read; re-save such a file with a
recent PyTorch (``torch.save(torch.load(f), f)``).
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile

import ml_dtypes
import numpy as np

from lbvae import errors

# Storage type names -> NumPy dtypes (little-endian; see _storage for big-endian).
STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32,
    "HalfStorage": np.float16, "BFloat16Storage": ml_dtypes.bfloat16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType:
  """What ``torch.<X>Storage`` unpickles to: the storage's NumPy dtype."""

  def __init__(self, name: str):
    self.name = name
    self.dtype = np.dtype(STORAGE_DTYPES[name])


def _check_strided(storage: np.ndarray, offset, size, stride) -> None:
  """Refuses a view that would read outside its storage (as_strided does not check)."""
  ok = (isinstance(offset, int) and offset >= 0 and len(size) == len(stride)
        and all(isinstance(n, int) and n >= 0 for n in size)
        and all(isinstance(s, int) and s >= 0 for s in stride))
  if ok and all(n > 0 for n in size):
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    ok = last < storage.size
  if not ok:
    raise ValueError(f"tensor view (offset {offset!r}, size {size!r}, stride "
                     f"{stride!r}) does not fit its storage of {storage.size} elements")


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
  """``torch._utils._rebuild_tensor_v2`` (and v1): a NumPy copy of the view."""
  if not isinstance(storage, np.ndarray):
    raise ValueError("a tensor's storage is not a storage record")
  size, stride = tuple(size), tuple(stride)
  _check_strided(storage, storage_offset, size, stride)
  if not all(size):
    return np.zeros(size, storage.dtype)
  item = storage.dtype.itemsize
  view = np.lib.stride_tricks.as_strided(
      storage[storage_offset:], shape=size, strides=tuple(s * item for s in stride),
      writeable=False)
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

  def __init__(self, data: bytes, path: str, archive: zipfile.ZipFile, prefix: str,
               byteorder: str):
    super().__init__(io.BytesIO(data))
    self.path, self.archive, self.prefix = path, archive, prefix
    self.byteorder = byteorder
    self.storages: dict[str, np.ndarray] = {}

  def find_class(self, module, name):
    try:
      return ALLOWED[(module, name)]
    except (KeyError, TypeError):
      raise errors.DataError(
          f"{self.path}: refused to load: its pickle names the global "
          f"{module}.{name}, which is not on the allow-list of tensor, storage and "
          "dict rebuilders (a file that names it could run code; only PyTorch state "
          "dicts are read)") from None

  def persistent_load(self, pid):
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
            and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)):
      raise errors.DataError(f"{self.path}: unexpected persistent id {pid!r:.80} in "
                             "data.pkl (not a storage record)")
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
      raw = self.archive.read(name)
    except KeyError:
      raise errors.DataError(f"{self.path}: storage {name} is missing") from None
    if len(raw) % dtype.itemsize:
      raise errors.DataError(f"{self.path}: storage {name} has {len(raw)} bytes, not "
                             f"a multiple of {dtype.itemsize} ({dtype})")
    order = "<" if self.byteorder == "little" else ">"
    return np.frombuffer(raw, dtype.newbyteorder(order)).astype(dtype)


def _prefix(path: str, names: list[str]) -> str:
  pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
  if len(pickles) != 1:
    raise errors.DataError(f"{path}: not a PyTorch zip checkpoint (expected one "
                           f"<name>/data.pkl, found {len(pickles)})")
  return pickles[0][:-len("data.pkl")]


def load(path: str):
  """The object saved in a ``.pth`` file, tensors as NumPy arrays.

  Args:
    path: a file written by ``torch.save`` (zip format).

  Returns:
    What was saved, with every tensor (and parameter) a ``np.ndarray`` of its dtype
    and shape; for a state dict, an ``OrderedDict`` of name -> array.

  Raises:
    lbvae.errors.DataError: the file is missing, not a zip (or truncated or corrupt),
      legacy-format, or its pickle names a global outside :data:`ALLOWED` or is
      otherwise malformed. Nothing the file names is ever called unless allowed.
  """
  try:
    with zipfile.ZipFile(path) as archive:
      prefix = _prefix(path, archive.namelist())
      names = set(archive.namelist())
      byteorder = "little"
      if f"{prefix}byteorder" in names:
        byteorder = archive.read(f"{prefix}byteorder").decode().strip()
        if byteorder not in ("little", "big"):
          raise errors.DataError(f"{path}: unknown byte order {byteorder!r:.20}")
      data = archive.read(f"{prefix}data.pkl")
      return _Unpickler(data, path, archive, prefix, byteorder).load()
  except errors.Error:
    raise
  except FileNotFoundError:
    raise errors.DataError(f"{path} does not exist") from None
  except zipfile.BadZipFile as e:
    legacy = _looks_legacy(path)
    raise errors.DataError(
        f"{path}: " + ("legacy (pre-1.6) PyTorch format, not read; re-save it with a "
                       "recent PyTorch" if legacy else
                       f"not a readable PyTorch zip checkpoint ({e})")) from None
  except Exception as e:  # pylint: disable=broad-except
    # A malformed pickle or archive: truncated data, a bad opcode, a CRC error,
    # an allowed function called with the wrong arguments.
    raise errors.DataError(f"{path}: corrupt PyTorch checkpoint "
                           f"({type(e).__name__}: {str(e)[:120]})") from None


def _looks_legacy(path: str) -> bool:
  """Legacy files start with a pickled magic number (protocol 2: b'\\x80\\x02\\x8a')."""
  try:
    with open(path, "rb") as f:
      return f.read(3) == b"\x80\x02\x8a"
  except OSError:
    return False

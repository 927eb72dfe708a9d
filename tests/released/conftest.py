"""The PyTorch-written fixture of tests/fixtures (made once by make_torch_fixture.py).

``released_dir`` is a fresh copy of the authors' layout (three dSprites models);
``torch_outputs`` holds PyTorch's own outputs of those models; ``pickles`` builds
``.pth`` archives around hand-assembled pickles (e.g. one that would run a command).
"""

import os
import struct
import tarfile
import zipfile

import numpy as np
import pytest

FIXTURES = os.path.join(
  os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures"
)
ARCHIVE = os.path.join(FIXTURES, "torch_released.tar.xz")
VIEWS = os.path.join(FIXTURES, "torch_views.pth")
STEMS = (
  "betavae_beta_1_seed_0",
  "betavae_beta_4_seed_0",
  "lambda_betavae_beta_4_lambda_2_seed_0",
)


def model_path(root, stem: str) -> str:
  folder = "lambda_betavae_results" if stem.startswith("lambda") else "betavae_results"
  return os.path.join(str(root), folder, "dsprites", f"{stem}.pth")


@pytest.fixture
def released_dir(tmp_path):
  root = tmp_path / "authors"
  with tarfile.open(ARCHIVE) as tar:
    tar.extractall(root, filter="data")
  return root


@pytest.fixture(scope="session")
def torch_outputs():
  with np.load(os.path.join(FIXTURES, "torch_outputs.npz")) as npz:
    return {k: npz[k] for k in npz.files}


# --- hand-assembled pickles (protocol 2 opcodes), so no foreign code is needed ---


def op_global(module: str, name: str) -> bytes:
  return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_str(s: str) -> bytes:
  data = s.encode()
  return b"X" + struct.pack("<I", len(data)) + data


def op_int(i: int) -> bytes:
  return b"J" + struct.pack("<i", i)


def op_tuple(*items: bytes) -> bytes:
  return b"(" + b"".join(items) + b"t"


def op_call(func: bytes, *args: bytes) -> bytes:
  return func + op_tuple(*args) + b"R"


def tensor(key: str, numel: int, offset: int, size, stride) -> bytes:
  """``torch._utils._rebuild_tensor_v2`` of float32 storage ``key``, as torch writes."""
  storage = (
    op_tuple(
      op_str("storage"),
      op_global("torch", "FloatStorage"),
      op_str(key),
      op_str("cpu"),
      op_int(numel),
    )
    + b"Q"
  )
  return op_call(
    op_global("torch._utils", "_rebuild_tensor_v2"),
    storage,
    op_int(offset),
    op_tuple(*map(op_int, size)),
    op_tuple(*map(op_int, stride)),
    b"\x89",
    op_call(op_global("collections", "OrderedDict")),
  )


def state_dict(*items: tuple[str, bytes]) -> bytes:
  """A pickled OrderedDict of (name, pickled value) items."""
  body = b"".join(op_str(k) + v for k, v in items)
  return (
    b"\x80\x02" + op_call(op_global("collections", "OrderedDict")) + b"(" + body + b"u."
  )


def write_pth(path, data_pkl: bytes, storages=None, byteorder="little") -> str:
  """A ``.pth`` zip archive as torch.save lays it out."""
  with zipfile.ZipFile(path, "w") as z:
    z.writestr("archive/data.pkl", data_pkl)
    z.writestr("archive/byteorder", byteorder)
    for key, raw in (storages or {}).items():
      z.writestr(f"archive/data/{key}", raw)
    z.writestr("archive/version", "3\n")
  return str(path)


def replace_pickle(src: str, dst: str, data_pkl: bytes) -> str:
  """A copy of a real torch-written ``.pth`` with its data.pkl replaced."""
  with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
    for item in zin.infolist():
      data = zin.read(item.filename)
      zout.writestr(item, data_pkl if item.filename.endswith("/data.pkl") else data)
  return str(dst)

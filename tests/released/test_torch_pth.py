"""lbvae.released.torch_pth: PyTorch-written files read exactly; foreign code refused."""

import os
import pickle
import shlex
import zipfile

import numpy as np
import pytest

from lbvae import errors
from lbvae.released import convert
from lbvae.released import torch_pth
from tests.released import conftest
from tests.released.conftest import op_call, op_global, op_str


def test_views_and_dtypes_match_torch(torch_outputs):
  """Transposed, offset and strided views and every dtype, as torch saved them."""
  loaded = torch_pth.load(conftest.VIEWS)
  names = {k.split("/", 1)[1] for k in torch_outputs if k.startswith("views/")}
  assert set(loaded) == names
  for name, array in loaded.items():
    want = torch_outputs[f"views/{name}"]
    assert array.shape == want.shape, name
    np.testing.assert_array_equal(array.astype(want.dtype), want, err_msg=name)
  assert loaded["bfloat16"].dtype.name == "bfloat16"
  assert loaded["half"].dtype == np.float16 and loaded["bool"].dtype == np.bool_
  assert loaded["int64"].dtype == np.int64 and loaded["scalar"].dtype == np.float64


def test_state_dict_of_the_authors_architecture(released_dir):
  path = conftest.model_path(released_dir, conftest.STEMS[0])
  sd = torch_pth.load(path)
  assert set(sd) == {f"{m}.{p}" for m in convert.MODULES for p in ("weight", "bias")}
  assert sd["encoder.encoder.0.weight"].shape == (32, 1, 4, 4)       # [out, in, kh, kw]
  assert sd["decoder.decoder.0.weight"].shape == (64, 64, 4, 4)      # [in, out, kh, kw]
  assert sd["decoder.decoder.6.weight"].shape == (32, 1, 4, 4)
  assert sd["encoder.fc1.weight"].shape == (256, 1024)               # [out, in]
  assert all(v.dtype == np.float32 for v in sd.values())


def test_big_endian_storages(tmp_path):
  """A file whose byteorder record says "big" gets its bytes swapped."""
  values = np.arange(6, dtype=np.float32) - 2.5
  pkl = conftest.state_dict(("w", conftest.tensor("0", 6, 1, (2, 2), (1, 2))))
  path = conftest.write_pth(tmp_path / "big.pth", pkl,
                            {"0": values.astype(">f4").tobytes()}, byteorder="big")
  np.testing.assert_array_equal(torch_pth.load(path)["w"],
                                values[1:5].reshape(2, 2, order="F"))


@pytest.mark.parametrize("size, stride, offset", [
    ((2, 4), (4, 1), 0),     # 8 elements from a storage of 6
    ((3,), (3,), 1),         # last element at 7
    ((2,), (1,), 5),         # runs past the end
    ((2,), (-1,), 3),        # negative stride
])
def test_view_outside_its_storage_is_refused(tmp_path, size, stride, offset):
  """as_strided would read foreign memory; the reader checks the bounds first."""
  pkl = conftest.state_dict(("w", conftest.tensor("0", 6, offset, size, stride)))
  path = conftest.write_pth(tmp_path / "oob.pth", pkl,
                            {"0": np.zeros(6, np.float32).tobytes()})
  with pytest.raises(errors.DataError, match="does not fit its storage"):
    torch_pth.load(path)


def _system_call(command: str) -> bytes:
  return op_call(op_global(os.system.__module__, "system"), op_str(command))


def test_pickle_that_would_run_a_command_is_refused(released_dir, tmp_path):
  marker = tmp_path / "ran"
  command = f"touch {shlex.quote(str(marker))}"
  # The payload is live: a plain unpickler runs it.
  pickle.loads(b"\x80\x02" + _system_call(command) + b".")
  assert marker.exists()
  marker.unlink()
  # Hidden in a state dict after a genuine tensor, in a real torch-written archive.
  payload = conftest.state_dict(
      ("encoder.fc_mu.bias", conftest.tensor("0", 10, 0, (10,), (1,))),
      ("x", _system_call(command)))
  src = conftest.model_path(released_dir, conftest.STEMS[0])
  path = conftest.replace_pickle(src, tmp_path / "evil.pth", payload)
  with pytest.raises(errors.DataError) as e:
    torch_pth.load(path)
  assert str(path) in str(e.value)
  assert f"{os.system.__module__}.system" in str(e.value)
  assert not marker.exists()


@pytest.mark.parametrize("module, name", [
    ("builtins", "eval"), ("builtins", "exec"), ("subprocess", "Popen"),
    ("os", "system"), ("torch", "load"), ("torch.storage", "_load_from_bytes"),
    ("__main__", "VAE"), ("numpy", "dtype"), ("collections", "defaultdict"),
])
def test_any_other_global_is_refused(tmp_path, module, name):
  pkl = b"\x80\x02" + op_call(op_global(module, name), op_str("1")) + b"."
  path = conftest.write_pth(tmp_path / "g.pth", pkl)
  with pytest.raises(errors.DataError, match=f"global {module}.{name}"):
    torch_pth.load(path)


def test_corrupt_files(released_dir, tmp_path):
  src = conftest.model_path(released_dir, conftest.STEMS[1])
  with open(src, "rb") as f:
    data = f.read()
  cases = {"truncated.pth": data[: len(data) // 2], "empty.pth": b"",
           "text.pth": b"not a checkpoint\n" * 10,
           "legacy.pth": b"\x80\x02\x8a\x0alp\xfc\x9cF\xf9 j\xa8P\x19."}
  for name, content in cases.items():
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(errors.DataError) as e:
      torch_pth.load(str(path))
    assert str(path) in str(e.value)
    if name == "legacy.pth":
      assert "legacy" in str(e.value)
  # A flipped byte inside a storage fails the zip's CRC check.
  flipped = bytearray(data)
  with zipfile.ZipFile(src) as z:
    info = z.getinfo(next(n for n in z.namelist() if n.endswith("/data/0")))
  flipped[info.header_offset + 200] ^= 0xFF
  (tmp_path / "crc.pth").write_bytes(bytes(flipped))
  with pytest.raises(errors.DataError, match="corrupt"):
    torch_pth.load(str(tmp_path / "crc.pth"))
  with pytest.raises(errors.DataError, match="does not exist"):
    torch_pth.load(str(tmp_path / "missing.pth"))

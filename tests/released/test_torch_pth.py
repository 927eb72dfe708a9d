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
from tests.helpers.within import within
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
  assert sd["encoder.encoder.0.weight"].shape == (32, 1, 4, 4)  # [out, in, kh, kw]
  assert sd["decoder.decoder.0.weight"].shape == (64, 64, 4, 4)  # [in, out, kh, kw]
  assert sd["decoder.decoder.6.weight"].shape == (32, 1, 4, 4)
  assert sd["encoder.fc1.weight"].shape == (256, 1024)  # [out, in]
  assert all(v.dtype == np.float32 for v in sd.values())


def test_big_endian_storages(tmp_path):
  """A file whose byteorder record says "big" gets its bytes swapped."""
  values = np.arange(6, dtype=np.float32) - 2.5
  pkl = conftest.state_dict(("w", conftest.tensor("0", 6, 1, (2, 2), (1, 2))))
  path = conftest.write_pth(
    tmp_path / "big.pth", pkl, {"0": values.astype(">f4").tobytes()}, byteorder="big"
  )
  np.testing.assert_array_equal(
    torch_pth.load(path)["w"], values[1:5].reshape(2, 2, order="F")
  )


@pytest.mark.parametrize(
  "size, stride, offset",
  [
    ((2, 4), (4, 1), 0),  # 8 elements from a storage of 6
    ((3,), (3,), 1),  # last element at 7
    ((2,), (1,), 5),  # runs past the end
    ((2,), (-1,), 3),  # negative stride
  ],
)
def test_view_outside_its_storage_is_refused(tmp_path, size, stride, offset):
  """as_strided would read foreign memory; the reader checks the bounds first."""
  pkl = conftest.state_dict(("w", conftest.tensor("0", 6, offset, size, stride)))
  path = conftest.write_pth(
    tmp_path / "oob.pth", pkl, {"0": np.zeros(6, np.float32).tobytes()}
  )
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
    ("x", _system_call(command)),
  )
  src = conftest.model_path(released_dir, conftest.STEMS[0])
  path = conftest.replace_pickle(src, tmp_path / "evil.pth", payload)
  with pytest.raises(errors.DataError) as e:
    torch_pth.load(path)
  assert str(path) in str(e.value)
  assert f"{os.system.__module__}.system" in str(e.value)
  assert not marker.exists()


@pytest.mark.parametrize(
  "module, name",
  [
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("subprocess", "Popen"),
    ("os", "system"),
    ("torch", "load"),
    ("torch.storage", "_load_from_bytes"),
    ("__main__", "VAE"),
    ("numpy", "dtype"),
    ("collections", "defaultdict"),
  ],
)
def test_any_other_global_is_refused(tmp_path, module, name):
  pkl = b"\x80\x02" + op_call(op_global(module, name), op_str("1")) + b"."
  path = conftest.write_pth(tmp_path / "g.pth", pkl)
  with pytest.raises(errors.DataError, match=f"global {module}.{name}"):
    torch_pth.load(path)


def test_corrupt_files(released_dir, tmp_path):
  src = conftest.model_path(released_dir, conftest.STEMS[1])
  with open(src, "rb") as f:
    data = f.read()
  cases = {
    "truncated.pth": data[: len(data) // 2],
    "empty.pth": b"",
    "text.pth": b"not a checkpoint\n" * 10,
    "legacy.pth": b"\x80\x02\x8a\x0alp\xfc\x9cF\xf9 j\xa8P\x19.",
  }
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


def _load_within(path, seconds=20.0, **kwargs):
  """torch_pth.load in a thread: what it returned or raised, or 'hung'."""
  return within(lambda: torch_pth.load(path, **kwargs), seconds)


def test_a_link_to_a_device_is_refused_unread(tmp_path):
  link = tmp_path / "zero.pth"
  os.symlink("/dev/zero", link)
  e = _load_within(str(link))
  assert isinstance(e, errors.DataError), e
  assert "a link to /dev/zero" in str(e) and "is a device" in str(e)


def test_a_link_to_a_fifo_is_refused_without_waiting(tmp_path):
  fifo = tmp_path / "pipe"
  os.mkfifo(fifo)
  link = tmp_path / "pipe.pth"
  os.symlink(fifo, link)
  e = _load_within(str(link), seconds=10.0)
  assert isinstance(e, errors.DataError), e
  assert "is a FIFO, not a regular file" in str(e)


def test_a_directory_is_refused(tmp_path):
  with pytest.raises(errors.DataError, match="is a directory"):
    torch_pth.load(str(tmp_path))


def test_a_zero_stride_view_that_expands_its_storage_is_refused(tmp_path):
  """One stored float viewed as (2**15)**2 elements: 4 GiB if materialised."""
  pkl = conftest.state_dict(("w", conftest.tensor("0", 1, 0, (2**15, 2**15), (0, 0))))
  path = conftest.write_pth(
    tmp_path / "bomb.pth", pkl, {"0": np.zeros(1, np.float32).tobytes()}
  )
  assert os.path.getsize(path) < 1000
  with pytest.raises(errors.DataError, match="expands its storage of 1 elements"):
    torch_pth.load(path)


def test_tensors_past_the_bound_together_are_refused(tmp_path):
  """Many views of one storage, each legal, that together exceed max_bytes."""
  items = [(f"w{i}", conftest.tensor("0", 256, 0, (256,), (1,))) for i in range(8)]
  path = conftest.write_pth(
    tmp_path / "many.pth",
    conftest.state_dict(*items),
    {"0": np.zeros(256, np.float32).tobytes()},
  )
  assert len(torch_pth.load(path, max_bytes=9 * 1024)) == 8
  with pytest.raises(
    errors.DataError,
    match="a tensor of size .256,. would take 1024 bytes, past the 7000 bytes",
  ):
    torch_pth.load(path, max_bytes=7000)


def test_a_member_declaring_more_than_the_model_can_need_is_refused(tmp_path):
  """A deflated run of zeros: a few kB on disk, past the conv VAE's bound inflated."""
  bound = convert.max_checkpoint_bytes()
  path = tmp_path / "inflate.pth"
  pkl = conftest.state_dict(("w", conftest.tensor("0", 4, 0, (4,), (1,))))
  with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
    z.writestr("archive/data.pkl", pkl)
    with z.open("archive/data/0", "w", force_zip64=True) as f:
      block = bytes(2**20)
      for _ in range(bound // len(block) + 1):
        f.write(block)
  assert os.path.getsize(path) < bound // 100
  with pytest.raises(
    errors.DataError,
    match=f"archive/data/0: .*past the {bound} "
    "bytes that the authors' conv VAE can need",
  ):
    torch_pth.load(str(path))
  assert 16 * 2**20 < bound < 32 * 2**20  # ~0.76 M parameters at latent_dim 10

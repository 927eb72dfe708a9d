"""Device gather and host streaming give the same batches."""

import jax
import numpy as np
import pytest

import lbvae.data as data
from lbvae import errors
from lbvae.data import arrays
from lbvae.data import batching


@pytest.fixture(scope="module")
def tiny():
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, size=(60, 64, 64, 3), dtype=np.uint8)
  return arrays.ArrayDataset("tiny", ("a", "b"), (6, 10), images, "file", "memory")


def test_device_and_host_batches_are_identical(tiny):
  device = data.batch_source(tiny, "device")
  host = data.batch_source(tiny, "host")
  assert device.on_device and not host.on_device and host.operand == ()
  index = np.random.default_rng(1).integers(0, 60, size=(4, 7))
  on_device = jax.jit(device.gather)(device.operand, index.astype(np.int32))
  np.testing.assert_array_equal(np.asarray(on_device), host.host_gather(index))
  np.testing.assert_array_equal(host.host_gather(index), tiny.array[index])
  with pytest.raises(ValueError, match="streamed from the host"):
    host.gather(host.operand, index)


def test_auto_places_small_arrays_on_device_and_procedural_renders(tiny, dsprites):
  free, _ = batching.free_memory_bytes()
  assert data.batch_source(tiny).on_device == (
    free is not None and tiny.array.nbytes <= free / 2
  )
  assert data.batch_source(dsprites, "auto").on_device
  host = data.batch_source(dsprites, "host")
  assert not host.on_device
  assert "dsprites (procedural)" in host.describe()
  with pytest.raises(errors.Error, match="unknown data placement"):
    data.batch_source(tiny, "gpu")


def test_prefetch_yields_the_chunks_in_order(tiny):
  src = data.batch_source(tiny, "host")
  chunks = [np.random.default_rng(i).integers(0, 60, size=(3, 5)) for i in range(6)]
  got = list(src.prefetch(iter(chunks), depth=2))
  assert len(got) == 6
  for index, images in zip(chunks, got):
    assert images.shape == (3, 5, 64, 64, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, tiny.array[index])


def test_prefetch_reraises_and_stops_early(tiny):
  src = data.batch_source(tiny, "host")

  def bad_chunks():
    yield np.zeros((1, 2), np.int64)
    raise RuntimeError("index source broke")

  stream = src.prefetch(bad_chunks())
  next(stream)
  with pytest.raises(RuntimeError, match="index source broke"):
    next(stream)
  endless = (np.zeros((1, 2), np.int64) for _ in iter(int, 1))
  stream = src.prefetch(endless, depth=1)
  next(stream)
  stream.close()  # must not hang on the producer thread


@pytest.mark.parametrize(
  "free,expected", [(10**12, True), (1000, False), (None, False)]
)
def test_auto_rule_follows_free_memory(tiny, monkeypatch, free, expected):
  monkeypatch.setattr(batching, "free_memory_bytes", lambda: (free, "device"))
  src = data.batch_source(tiny, "auto")
  assert src.on_device == expected
  assert "auto" in src.describe()
  assert data.batch_source(tiny, "device").on_device  # forcing ignores the rule

"""The one-time uint8 cache: keyed by its source, reused, never half-written."""

import os
import subprocess
import sys

import numpy as np
import pytest

from lbvae import errors
from lbvae.data import cache
from tests.helpers import small_disk


def _fill_with(value, calls):
  def fill(out):
    calls.append(1)
    out[...] = value

  return fill


def test_cache_is_built_once_then_reused(tmp_path, cache_dir):
  source = tmp_path / "src.bin"
  source.write_bytes(b"abc")
  path = cache.cache_path("toy", [str(source)], "v")
  assert path.parent == cache_dir and path.name.startswith("toy-")
  calls = []
  first = cache.cached_uint8(path, (3, 2), _fill_with(7, calls), "toy")
  second = cache.cached_uint8(path, (3, 2), _fill_with(9, calls), "toy")
  assert calls == [1] and isinstance(second, np.memmap)
  np.testing.assert_array_equal(first, np.full((3, 2), 7))
  np.testing.assert_array_equal(second, first)
  # A cache of another shape is rebuilt.
  third = cache.cached_uint8(path, (4, 2), _fill_with(5, calls), "toy")
  assert calls == [1, 1] and third.shape == (4, 2)


def test_a_truncated_or_replaced_cache_file_is_rebuilt(cache_dir):
  path = cache.cache_path("toy", [], "v")
  calls = []
  cache.cached_uint8(path, (64, 2), _fill_with(7, calls), "toy")
  with open(path, "r+b") as f:  # a cache file cut short (a full disk, a copy)
    f.truncate(os.path.getsize(path) - 10)
  again = cache.cached_uint8(path, (64, 2), _fill_with(7, calls), "toy")
  assert calls == [1, 1]
  np.testing.assert_array_equal(again, np.full((64, 2), 7))
  del again
  os.remove(path)
  os.mkfifo(path)  # a FIFO in its place: never opened, replaced
  cache.cached_uint8(path, (64, 2), _fill_with(7, calls), "toy")
  assert calls == [1, 1, 1] and path.is_file()


def test_key_follows_the_source_and_the_conversion(tmp_path):
  source = tmp_path / "src.bin"
  source.write_bytes(b"abc")
  key = cache.cache_path("toy", [str(source)], "v")
  assert cache.cache_path("toy", [str(source)], "w") != key
  source.write_bytes(b"abcd")
  assert cache.cache_path("toy", [str(source)], "v") != key
  folder = tmp_path / "dir"
  folder.mkdir()
  (folder / "a").write_bytes(b"1")
  before = cache.cache_path("toy", [str(folder)], "v")
  (folder / "b").write_bytes(b"2")
  assert cache.cache_path("toy", [str(folder)], "v") != before


def test_interrupted_conversion_leaves_nothing(tmp_path, cache_dir):
  def broken(out):
    out[0] = 1
    raise errors.ConfigError("source broke halfway")

  path = cache.cache_path("toy", [], "v")
  with pytest.raises(errors.Error, match="source broke halfway"):
    cache.cached_uint8(path, (3, 2), broken, "toy")
  assert os.listdir(cache_dir) == []


def test_unwritable_cache_dir_is_a_usage_error(tmp_path, monkeypatch):
  blocker = tmp_path / "file"
  blocker.write_bytes(b"")
  monkeypatch.setenv(cache.ENV_VAR, str(blocker / "sub"))
  with pytest.raises(
    errors.Error, match="cannot write the image cache.*LBVAE_CACHE_DIR"
  ):
    cache.cached_uint8(cache.cache_path("toy", [], "v"), (1,), lambda out: None, "toy")


_FILL_A_CACHE = """
import sys
from lbvae import errors
from lbvae.data import cache
path = cache.cache_dir() / "big-0123456789abcdef.npy"
def fill(out):
  out[...] = 7
try:
  cache.cached_uint8(path, (64, 64, 64, 8), fill, "a 2 MiB toy")   # 2 MiB
except errors.DataError as e:
  print(e)
  sys.exit(2)
"""


def test_a_full_disk_is_one_error_not_a_sigbus(tmp_path):
  """The cache on a 1 MiB file system: an error line, exit 2, no temporary left."""
  with small_disk.tmpfs(tmp_path / "disk", "1m") as disk:
    env = dict(os.environ, LBVAE_CACHE_DIR=disk)
    result = subprocess.run(
      [sys.executable, "-c", _FILL_A_CACHE],
      env=env,
      capture_output=True,
      text=True,
      timeout=120,
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "cannot write the image cache" in result.stdout
    assert "No space left on device" in result.stdout and "MiB free" in result.stdout
    assert os.listdir(disk) == []


def test_stale_temporaries_of_a_dead_writer_are_removed(tmp_path, cache_dir):
  dead = subprocess.run(
    [sys.executable, "-c", "import os; print(os.getpid())"],
    capture_output=True,
    text=True,
    check=True,
  )
  cache_dir.mkdir(parents=True, exist_ok=True)
  stale = cache_dir / f"toy-0123456789abcdef.{int(dead.stdout)}.k3j2.tmp"
  live = cache_dir / f"toy-fedcba9876543210.{os.getpid()}.x9q1.tmp"
  stale.write_bytes(b"\0" * 4096)
  live.write_bytes(b"\0" * 4096)
  path = cache.cache_path("toy", [str(cache_dir)], "v")
  cache.cached_uint8(path, (3, 2), _fill_with(1, []), "toy")
  assert not stale.exists() and live.exists()

"""Checkpoints of a phase (lbvae.train.checkpoint): any device count, clean failures.

A checkpoint written with the grid sharded over K devices is read back on 1, 2 or
4 devices, and one written on 1 device on 4. The device counts other than this
process's run in subprocesses (``tests/helpers/fake_devices.py``): the 4-device one
reads the 1-device checkpoint and writes its own, which this process and a 2-device
subprocess then read. Grids of 4 members are stored sharded over the grid axis on
every device count, grids of 3 replicated on 2 and 4 devices (the trainer's
:meth:`~lbvae.train.sharding.Placement.state_sharding`); both must come back
bit-identical, on the reader's devices.
"""

import glob
import os
import shutil

import flax.struct
import jax
import numpy as np
import pytest

from lbvae import errors
from lbvae import files
from lbvae.evaluation import checkpoints as eval_checkpoints
from lbvae.train import checkpoint
from lbvae.train import sharding
from tests.helpers import fake_devices

SIZES = (4, 3)  # sharded on 1, 2 and 4 devices; replicated on 2 and 4
STEP = 5


def grid_tree(g: int) -> dict:
  """A small grid state: float32 parameters, int32 step, uint32 keys, bool flags,
  every leaf with the member axis first and a distinct value per member."""
  rows = np.arange(g, dtype=np.float32)[:, None, None]
  return {
    "params": {
      "w": rows + np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
      "b": np.arange(g, dtype=np.float32) * 0.25 - 1.0,
    },
    "step": np.full((g,), 7, np.int32),
    "rng": np.arange(2 * g, dtype=np.uint32).reshape(g, 2) * 2654435761,
    "healthy": np.arange(g) % 2 == 0,
  }


def _directory(root: str, g: int) -> str:
  return os.path.join(root, f"grid{g}", "checkpoints")


def write(root: str, num_devices: int | None = None) -> None:
  """Saves both grids as the trainer stores them between calls on the first
  ``num_devices`` devices (default: all)."""
  place = sharding.Placement(jax.devices()[:num_devices])
  for g in SIZES:
    state = place.put(grid_tree(g), place.state_sharding(g, "vmap"))
    ckpts = checkpoint.PhaseCheckpoints(_directory(root, g))
    ckpts.save(STEP, state, {"step": STEP, "devices": place.num_devices})
    ckpts.close()


def read(root: str, num_devices: int | None = None) -> None:
  """Restores both grids onto the first ``num_devices`` devices (default: all),
  sharded as the trainer would store them there, and checks every value."""
  place = sharding.Placement(jax.devices()[:num_devices])
  for g in SIZES:
    want = grid_tree(g)
    target = place.state_sharding(g, "vmap")
    abstract = jax.tree.map(
      lambda a, s=target: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), want
    )
    ckpts = checkpoint.PhaseCheckpoints(_directory(root, g))
    state, meta = ckpts.restore(STEP, abstract)
    ckpts.close()
    assert meta["step"] == STEP
    for x, y in zip(jax.tree.leaves(want), jax.tree.leaves(state)):
      assert y.sharding == target and y.dtype == x.dtype, (y.sharding, target)
      np.testing.assert_array_equal(np.asarray(y), x)
    params, meta2 = checkpoint.load_params(_directory(root, g))
    assert meta2 == meta
    for x, y in zip(jax.tree.leaves(want["params"]), jax.tree.leaves(params)):
      assert isinstance(y, np.ndarray) and y.shape[0] == g
      np.testing.assert_array_equal(y, x)
  print(f"ok on {place.num_devices} devices")


def read_then_write(read_root: str, write_root: str) -> None:
  read(read_root)
  write(write_root)


@pytest.mark.slow
def test_checkpoints_restore_on_any_device_count(tmp_path, request):
  cache = request.config.cache.mkdir("jax_compilation_cache")
  one, four = str(tmp_path / "on1"), str(tmp_path / "on4")
  write(one, num_devices=1)
  result = fake_devices.run(
    "tests.train.test_checkpoint",
    "read_then_write",
    one,
    four,
    count=4,
    cache_dir=cache,
    timeout=300,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert "ok on 4 devices" in result.stdout  # 1 -> 4
  for g in SIZES:
    _, meta = checkpoint.load_params(_directory(four, g))
    assert meta["devices"] == 4
  result = fake_devices.run(
    "tests.train.test_checkpoint", "read", four, count=2, cache_dir=cache, timeout=300
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert "ok on 2 devices" in result.stdout  # 4 -> 2
  read(four, num_devices=1)  # 4 -> 1


def test_leaves_without_a_sharding_go_to_the_first_device(tmp_path):
  root = str(tmp_path)
  write(root, num_devices=1)
  want = grid_tree(4)
  abstract = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), want)
  ckpts = checkpoint.PhaseCheckpoints(_directory(root, 4))
  state, _ = ckpts.restore(STEP, abstract)
  ckpts.close()
  first = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  for x, y in zip(jax.tree.leaves(want), jax.tree.leaves(state)):
    assert y.sharding == first
    np.testing.assert_array_equal(np.asarray(y), x)


def _truncate(path: str) -> None:
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 2)


def _corrupt(item: str, how: str) -> None:
  if how == "truncated manifest":
    _truncate(os.path.join(item, "manifest.ocdbt"))
  elif how == "truncated data":
    for path in glob.glob(os.path.join(item, "**", "d", "*"), recursive=True):
      _truncate(path)
  elif how == "garbage metadata":
    with open(os.path.join(item, "_METADATA"), "w") as f:
      f.write("{not json")
  elif how == "no metadata":
    os.remove(os.path.join(item, "_METADATA"))
  else:
    shutil.rmtree(item)


# A failure inside orbax's concurrent reads would leave tensorstore callbacks raising
# "Event loop is closed" in other threads; the check before the restore avoids that.
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
  "how",
  [
    "truncated manifest",
    "truncated data",
    "garbage metadata",
    "no metadata",
    "no state",
  ],
)
def test_corrupt_checkpoint_is_one_checkpoint_error(tmp_path, how):
  root = str(tmp_path)
  write(root, num_devices=1)
  directory = _directory(root, 4)
  _corrupt(os.path.join(directory, str(STEP), "state"), how)
  name = os.path.join(directory, str(STEP))
  with pytest.raises(errors.CheckpointError) as e:
    checkpoint.load_params(directory)
  assert name in str(e.value) and "\n" not in str(e.value)
  abstract = jax.tree.map(
    lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), grid_tree(4)
  )
  ckpts = checkpoint.PhaseCheckpoints(directory)
  with pytest.raises(errors.CheckpointError, match="checkpoint .*grid4"):
    ckpts.restore(STEP, abstract)
  ckpts.close()


def test_no_checkpoint_is_a_checkpoint_error(tmp_path):
  with pytest.raises(errors.CheckpointError, match="no checkpoint in"):
    checkpoint.load_params(str(tmp_path / "empty"))


def test_only_finalized_checkpoints_count_on_disk_and_in_a_bucket(tmp_path, bucket):
  local = tmp_path / "checkpoints"
  for name in ("2", "4.orbax-checkpoint-tmp-1700000000", "notes"):
    (local / name).mkdir(parents=True)
  assert checkpoint.finalized_steps(str(local)) == [2]
  # On an object store orbax writes <step>/ in place and marks it complete last.
  remote = f"{bucket}/phase1/checkpoints"
  files.write_text(f"{remote}/2/commit_success.txt", "")
  files.write_json(f"{remote}/2/meta/metadata", {})
  files.write_json(f"{remote}/4/meta/metadata", {})  # a save cut short
  assert checkpoint.finalized_steps(remote) == [2]
  assert checkpoint.finalized_steps(f"{bucket}/phase2/checkpoints") == []
  assert eval_checkpoints.any_checkpoint(bucket)


@flax.struct.dataclass
class _Strengths:
  """Two fields of a grid state, one of them stored under another name."""

  step: jax.Array
  strength: jax.Array


def test_the_strength_is_stored_under_its_0_1_0_name(tmp_path):
  """A state's ``strength`` is ``beta`` on disk (checkpoint.DISK_NAMES): a tree
  stored with ``beta``, as lbvae 0.1.0 stored every state, restores into a state,
  and a state is stored as 0.1.0 stored it."""
  directory = str(tmp_path / "checkpoints")
  ckpts = checkpoint.PhaseCheckpoints(directory)
  old = {
    "step": np.full((3,), 7, np.int32),
    "beta": np.asarray([1.0, 4.0, 16.0], np.float32),
  }
  ckpts.save(2, old, {"step": 2})
  abstract = _Strengths(
    step=jax.ShapeDtypeStruct((3,), np.int32),
    strength=jax.ShapeDtypeStruct((3,), np.float32),
  )
  assert ckpts.stored_fields(2) == {"step", "strength"}
  state, meta = ckpts.restore(2, abstract)
  assert isinstance(state, _Strengths) and meta == {"step": 2}
  np.testing.assert_array_equal(np.asarray(state.strength), old["beta"])
  np.testing.assert_array_equal(np.asarray(state.step), old["step"])
  ckpts.save(4, state, {"step": 4})
  back, _ = ckpts.restore(
    4, {k: jax.ShapeDtypeStruct((3,), v.dtype) for k, v in old.items()}
  )
  ckpts.close()
  assert sorted(back) == ["beta", "step"]
  np.testing.assert_array_equal(np.asarray(back["beta"]), old["beta"])

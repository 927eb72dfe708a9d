"""The grid over several devices (lbvae.train.sharding): sharding, padding, chunks.

Several devices are faked on the CPU (``--xla_force_host_platform_device_count=4``),
which must be set before JAX starts, so the checks run in a subprocess that calls
:func:`_worker` of this module; the tests of the pure helpers run here.
"""

import json
import re

import jax
import numpy as np
import pytest

from lbvae import errors
from lbvae.train import grid_runner
from lbvae.train import sharding
from tests.helpers import fake_devices

FAKE_DEVICES = 4
STEPS = 3


def _worker(ckpt_dir: str) -> None:
  """Runs in the subprocess: the same 5-member grid (β x seed) of the dense TinyVAE,
  vmapped, on 1 device; sharded over 4 (padded to 8); in chunks of 2 (each padded to
  4); with the chunk chosen from the measured memory; then a checkpoint of the
  sharded grid restored onto 1 device. Raises on any difference."""
  from lbvae import data
  from lbvae.train import checkpoint
  from lbvae.train import members as members_lib
  from lbvae.train import state as state_lib
  from lbvae.train import step as step_lib
  from tests.train.conftest import TinyVAE

  assert jax.device_count() == FAKE_DEVICES, jax.devices()
  members = members_lib.phase1_grid((1.0, 2.0, 4.0, 8.0, 16.0), 1)
  keys = state_lib.seed_keys(0, 1)
  config = __import__("lbvae.train.config", fromlist=["x"]).defaults()
  model, tx = TinyVAE(), state_lib.make_optimizer(config)
  source = data.batch_source(data.load("dsprites"), "device")
  step = step_lib.make_train_step(model, tx)
  seeds = members_lib.column(members, "seed", np.int32)

  def train(place, chunk=0):
    runner = grid_runner.GridRunner(
      step, source, batch_size=4, strategy="vmap", grid_chunk=chunk, place=place
    )
    state = state_lib.phase1_state(model, tx, members, keys, window=2)
    print(runner.plan(state, keys.data, seeds))
    state = runner.run(state, keys.data, seeds, 0, 1)
    return runner.run(state, keys.data, seeds, 1, STEPS - 1), runner

  one, _ = train(sharding.Placement(jax.devices()[:1]))
  many, runner = train(sharding.Placement())
  chunked, _ = train(sharding.Placement(), chunk=2)
  auto, _ = train(sharding.Placement(), chunk=sharding.AUTO_CHUNK)
  assert len(many.params["Dense_0"]["kernel"].sharding.device_set) == FAKE_DEVICES
  for other in (many, chunked, auto):
    for x, y in zip(jax.tree.leaves(one), jax.tree.leaves(other)):
      np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-7)
  assert np.all(np.asarray(many.step) == STEPS)
  ckpts = checkpoint.PhaseCheckpoints(ckpt_dir)
  ckpts.save(STEPS, many, {"step": STEPS})
  dev0 = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  target = jax.tree.map(
    lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=dev0), many
  )
  restored, _ = ckpts.restore(STEPS, target)
  ckpts.close()
  for x, y in zip(jax.tree.leaves(many), jax.tree.leaves(restored)):
    assert y.sharding == dev0
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  print("ok")


@pytest.mark.slow
def test_sharded_padded_and_chunked_grids_equal_one_device(tmp_path, request):
  """A sharded (padded) grid step and a chunked one equal the one-device grid."""
  result = fake_devices.run(
    "tests.train.test_sharding",
    "_worker",
    str(tmp_path / "ckpt"),
    count=FAKE_DEVICES,
    timeout=300,
    cache_dir=request.config.cache.mkdir("jax_compilation_cache"),
  )
  assert result.returncode == 0, result.stderr[-3000:]
  out = result.stdout
  assert "grid of 5 models on 1 device" in out
  assert "grid of 5 models sharded over 4 devices (padded with 3 inert copies)" in out
  assert "training the grid in 3 chunks of <= 4 models (config.grid_chunk)" in out
  # XLA:CPU reports no free memory: the whole grid, after measuring one model.
  assert "MiB; training the grid in 1 chunk of <= 8 models" in out
  assert out.strip().endswith("ok")


def _split_worker() -> None:
  """Runs in the subprocess: compiles the accelerator program of a grid of 8 conv
  VAEs (reference layers, vmap, 2 scanned steps per call, traced for "gpu") over
  the 4 fake devices and over 1; prints what each program does as JSON."""
  from lbvae import data
  from lbvae.accel import hlo
  from lbvae.train import config as config_lib
  from lbvae.train import members as members_lib
  from lbvae.train import state as state_lib
  from lbvae.train import step as step_lib

  config = config_lib.defaults()
  config.model_impl = "reference"
  model = state_lib.make_model(config, 1, backend="gpu")
  tx = state_lib.make_optimizer(config)
  members = members_lib.phase1_grid((1.0, 2.0, 4.0, 8.0), 2)
  keys = state_lib.seed_keys(0, 2)
  states = state_lib.abstract_state(model, tx, members, keys, window=2)
  source = data.batch_source(data.load("dsprites"), "device")
  out = {}
  for k in (FAKE_DEVICES, 1):
    runner = grid_runner.GridRunner(
      step_lib.make_train_step(model, tx),
      source,
      batch_size=2,
      strategy="vmap",
      steps_per_call=2,
      place=sharding.Placement(jax.devices()[:k]),
      impl=model.impl,
      backend="gpu",
    )
    compiled = runner.compile(states, 2, len(members))
    text = compiled.as_text()
    ops = r"\b(all-gather|all-to-all|all-reduce)(-start)?\("
    out[k] = {
      "flops": compiled.cost_analysis()["flops"],
      "loop_collectives": hlo.loop_collectives(text),
      "collectives": len(re.findall(ops, text)),
      "scanned": " while(" in text,
    }
  print(json.dumps(out))


@pytest.mark.slow
def test_each_device_computes_only_its_own_members(request):
  """On K devices the compiled grid step is partitioned: no all-gather, all-to-all
  or all-reduce in it (members are independent), and each device does 1/K of the
  one-device program's FLOPs (XLA's cost analysis of the partitioned module)."""
  result = fake_devices.run(
    "tests.train.test_sharding",
    "_split_worker",
    count=FAKE_DEVICES,
    timeout=300,
    cache_dir=request.config.cache.mkdir("jax_compilation_cache"),
  )
  assert result.returncode == 0, result.stderr[-3000:]
  out = json.loads(result.stdout.splitlines()[-1])
  many, one = out[str(FAKE_DEVICES)], out["1"]
  assert many["scanned"] and one["scanned"]  # the accelerator's program: a loop
  assert many["collectives"] == 0 and many["loop_collectives"] == 0
  assert many["flops"] * FAKE_DEVICES == pytest.approx(one["flops"], rel=0.02)


def test_chunks_cover_every_member_once_with_one_padded_size():
  place = sharding.Placement(jax.devices()[:1])
  place.num_devices = 4  # the arithmetic only
  chunks = place.chunks(10, chunk=3)
  assert [c.num_real for c in chunks] == [3, 3, 3, 1]
  assert {c.index.size for c in chunks} == {4}
  real = np.concatenate([c.index[: c.num_real] for c in chunks])
  np.testing.assert_array_equal(real, np.arange(10))
  assert all(np.all(c.index[c.num_real :] == c.index[0]) for c in chunks)
  assert [c.index.size for c in place.chunks(10)] == [12]


@pytest.mark.parametrize(
  "free,expected", [(None, 12), (300.0, 4), (400.0, 8), (600.0, 12), (10.0, 4)]
)
def test_chunk_from_memory(free, expected):
  """100 bytes per model and 80 fixed per device, 4 devices, a grid of 10 (12
  padded): 90% of the free memory holds (0.9 * free - 80) // 100 models a device."""
  assert sharding.chunk_from_memory(100.0, 80.0, free, 4, 10) == expected


def _four_devices():
  place = sharding.Placement(jax.devices()[:1])
  place.num_devices = 4  # the arithmetic only
  return place


def test_plan_chunks_keeps_the_compiled_peak_under_the_free_memory():
  """A grid of 10 (12 padded) on 4 devices whose compiled call of n members peaks
  at 80 + 100 n / 4 bytes per device: 0.9 x 400 bytes hold 2 members a device."""
  calls = []

  def peak(n):
    calls.append(n)
    return 80.0 + 100.0 * n / 4

  place = _four_devices()
  chunks, note = sharding.plan_chunks(place, 10, 0, None, peak)  # memory unknown
  assert [c.index.size for c in chunks] == [12] and note == "" and calls == []
  chunks, note = sharding.plan_chunks(place, 10, 0, 1000.0, peak)  # fits
  assert [c.index.size for c in chunks] == [12] and note == "" and calls == [12]
  calls.clear()
  chunks, note = sharding.plan_chunks(place, 10, 0, 400.0, peak)
  # 380 > 360: shrunk in proportion to 12 x 360 / 380 -> 8, which fits (280).
  assert calls == [12, 8] and [c.index.size for c in chunks] == [8, 8]
  assert note == (
    "12 models need 0.00 GiB per device, more than 0.9 x 0.00 GiB free; "
    "training the grid in 2 chunks of <= 8 models"
  )
  calls.clear()
  chunks, note = sharding.plan_chunks(place, 10, -1, 400.0, peak)  # automatic
  assert calls == [4, 8, 8] and [c.index.size for c in chunks] == [8, 8]
  assert (
    note
    == "peak memory per model: 0.0 MiB; training the grid in 2 chunks of <= 8 models"
  )
  chunks, note = sharding.plan_chunks(place, 10, 3, 1000.0, peak)  # the config's
  assert [c.index.size for c in chunks] == [4, 4, 4, 4]
  assert note == "training the grid in 4 chunks of <= 4 models (config.grid_chunk)"


def test_plan_chunks_when_the_compiler_refuses_or_the_peak_is_not_linear():
  """A compiler that refuses a program too large for the device (XLA's TPU compiler;
  ``GridRunner.peak`` returns inf) halves the chunk; a peak that grows faster than
  the members (a TPU's padding) shrinks it again until it fits; refusing one member
  a device is one line."""
  place = _four_devices()
  refuses_12 = lambda n: 80.0 + 25.0 * n if n < 12 else float("inf")
  chunks, note = sharding.plan_chunks(place, 10, 0, 1000.0, refuses_12)
  assert [c.index.size for c in chunks] == [4, 4, 4]
  assert note.startswith("12 models need more memory than the compiler allows")
  calls = []

  def steep(n):
    calls.append(n)
    return 10.0 * n * n

  chunks, _ = sharding.plan_chunks(place, 10, 0, 600.0, steep)  # 540: n <= 7
  assert calls == [12, 4] and [c.index.size for c in chunks] == [4, 4, 4]
  # Chunks as even as their count allows: 250 members, 197 at most: 2 x 125.
  calls.clear()
  chunks, _ = sharding.plan_chunks(
    _four_devices(), 250, 0, 1.0, lambda n: 0.9 * n / 197
  )
  assert [c.index.size for c in chunks] == [128, 128]
  assert [c.num_real for c in chunks] == [125, 125]
  with pytest.raises(
    errors.ConfigError,
    match="one model per device needs more memory than the compiler allows",
  ):
    sharding.plan_chunks(place, 10, 0, 1000.0, lambda n: float("inf"))


def test_auto_strategy_shards_with_vmap_over_several_devices():
  assert grid_runner.resolve_strategy("auto", "cpu", num_devices=1) == "map"
  assert grid_runner.resolve_strategy("auto", "cpu", num_devices=4) == "vmap"
  assert grid_runner.resolve_strategy("loop", "gpu", num_devices=4) == "loop"
  place = sharding.Placement(jax.devices()[:1])
  assert place.describe(3, "vmap") == "grid of 3 models on 1 device"

"""The grid step (lbvae.train.grid_runner) against one model trained alone, member by member."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lbvae.data as data
from lbvae import errors
from lbvae.train import grid_runner
from lbvae.train import members as members_lib
from lbvae.train import state as state_lib
from lbvae.train import step as step_lib

from tests.helpers.grid_states import assert_same_training
from tests.helpers.grid_states import assert_trees_equal
from tests.train.conftest import BATCH

STEPS = 3


@pytest.fixture(scope="module")
def initial(model, tx, members, keys, tiny_config):
  return state_lib.phase1_state(model, tx, members, keys, window=tiny_config.window)


def fresh(state):
  """A copy (runners donate their input)."""
  return jax.tree.map(jnp.array, state)


def train_alone(train_step, initial, source, keys, members):
  """Every member trained alone by a jitted one-model step.

  Returns:
    (states after STEPS steps, metrics[G][STEPS], states after the first step).
  """
  step = jax.jit(train_step)
  firsts, finals, history = [], [], []
  for m in members:
    one = jax.tree.map(lambda a, i=m.index: a[i], initial)
    metrics = []
    for t in range(STEPS):
      index = step_lib.batch_indices(keys.data[m.seed], t, BATCH, len(source.dataset))
      x = source.gather(source.operand, index)
      one, out = step(one, x, step_lib.noise_key(one.rng, t))
      metrics.append(jax.device_get(out))
      if t == 0:
        firsts.append(jax.tree.map(lambda a: a[None], one))
    finals.append(jax.tree.map(lambda a: a[None], one))
    history.append(metrics)
  return state_lib.stack(finals), history, state_lib.stack(firsts)


@pytest.fixture(scope="module")
def reference(train_step, initial, source, keys, members):
  return train_alone(train_step, initial, source, keys, members)


@pytest.fixture(scope="module")
def tiny_reference(tiny_step, tiny_initial, source, keys, members):
  return train_alone(tiny_step, tiny_initial, source, keys, members)


def make_runner(step_fn, source, strategy):
  return grid_runner.GridRunner(
    step_fn,
    source,
    batch_size=BATCH,
    strategy=strategy,
    map_batch_size=2,
    steps_per_call=1,
  )


@pytest.fixture(scope="module")
def runners(train_step, tiny_step, source):
  """Runners of the conv VAE for vmap and loop, of the tiny VAE for map (lax.map is
  a while loop: slow on XLA:CPU). Each counts its traces (``runner.traces``), and the
  vmap one's step also raises on a second trace (chex)."""
  chex.clear_trace_counter()
  return {
    "vmap": make_runner(chex.assert_max_traces(train_step, n=1), source, "vmap"),
    "loop": make_runner(train_step, source, "loop"),
    "map": make_runner(tiny_step, source, "map"),
    "tiny loop": make_runner(tiny_step, source, "loop"),
  }


def run_in_chunks(runner, state, keys, members):
  seeds = members_lib.column(members, "seed", np.int32)
  state = runner.run(fresh(state), keys.data, seeds, 0, 1)
  return runner.run(state, keys.data, seeds, 1, STEPS - 1)


@pytest.mark.parametrize("strategy", ["vmap", "loop", "map"])
def test_grid_step_equals_each_model_alone(request, runners, strategy, keys, members):
  runner = runners[strategy]
  tiny = strategy == "map"
  initial = request.getfixturevalue("tiny_initial" if tiny else "initial")
  reference = request.getfixturevalue("tiny_reference" if tiny else "reference")
  seeds = members_lib.column(members, "seed", np.int32)
  want, _, want_first = reference
  first = runner.run(fresh(initial), keys.data, seeds, 0, 1)
  got = runner.run(fresh(first), keys.data, seeds, 1, STEPS - 1)
  if strategy == "loop":  # the same one-model program as the reference: bit for bit
    assert_trees_equal(first, want_first)
    assert_trees_equal(got, want)
  else:
    assert_same_training(first, want_first)
    assert_same_training(got, want, moment_tol=1e-2)
  np.testing.assert_array_equal(np.asarray(got.step), STEPS)
  # Two chunks, four members with two β and two seeds: one trace of the step.
  assert runner.traces == 1


def test_one_compilation_serves_other_weights(runners, initial, keys, members):
  runner = runners["vmap"]
  traces = runner.traces
  other = initial.replace(
    strength=jnp.asarray([0.5, 2.0, 32.0, 4.0]), lam=jnp.asarray([0.0, 2.0, 4.0, 8.0])
  )
  out = run_in_chunks(runner, other, keys, members)
  assert runner.traces == traces  # no retrace for new β and λ values
  assert np.all(np.asarray(out.healthy))


def test_windows_and_log_sums_hold_the_step_metrics(
  runners, initial, reference, keys, members, tiny_config
):
  got = run_in_chunks(runners["loop"], initial, keys, members)
  _, history, _ = reference
  w = tiny_config.window
  for m in members:
    terms = np.asarray([[h["nll"], h["kl"], h["l2"]] for h in history[m.index]])
    means = state_lib.window_means(got)
    np.testing.assert_allclose(
      [means[k][m.index] for k in ("nll", "kl", "l2")],
      terms[-w:].mean(axis=0),
      rtol=1e-6,
    )
    np.testing.assert_allclose(
      means["loss"][m.index],
      np.mean([h["loss"] for h in history[m.index]][-w:]),
      rtol=1e-6,
    )
    losses = np.asarray([h["loss"] for h in history[m.index]])
    np.testing.assert_allclose(
      state_lib.log_means(got)["loss"][m.index], losses.mean(), rtol=1e-6
    )


def test_members_of_a_seed_share_init_data_and_noise(runners, initial, keys, members):
  seeds = members_lib.column(members, "seed", np.int32)
  out = runners["loop"].run(fresh(initial), keys.data, seeds, 0, 1)
  sums = np.stack(
    [np.asarray(out.log_sums[k]) for k in ("nll", "kl", "l2", "loss")], -1
  )  # (nll, kl, l2, loss) of step 0 per member
  # (β=1, seed 0) and (β=8, seed 0): same parameters, batch and noise -> same terms.
  np.testing.assert_array_equal(sums[0, :3], sums[2, :3])
  np.testing.assert_array_equal(sums[1, :3], sums[3, :3])
  assert sums[0, 0] != sums[1, 0]  # another seed sees other data
  assert sums[2, 3] != sums[0, 3]  # ... and β changes the loss
  a = step_lib.batch_indices(keys.data[0], 5, BATCH, 1000)
  assert not np.array_equal(a, step_lib.batch_indices(keys.data[0], 6, BATCH, 1000))
  assert not np.array_equal(a, step_lib.batch_indices(keys.data[1], 5, BATCH, 1000))


@pytest.mark.parametrize("strategy", ["vmap", "loop"])
def test_non_finite_member_is_frozen_alone(
  runners, strategy, initial, reference, keys, members
):
  bad = 1
  params = jax.tree.map(lambda a: a, initial.params)
  bias = params["decoder"]["ConvTranspose_3"]["bias"]
  params["decoder"]["ConvTranspose_3"]["bias"] = bias.at[bad].set(jnp.nan)
  poisoned = initial.replace(params=params)
  got = run_in_chunks(runners[strategy], poisoned, keys, members)
  assert list(np.asarray(got.healthy)) == [True, False, True, True]
  assert list(np.asarray(got.frozen_step)) == [-1, 0, -1, -1]
  frozen = jax.tree.map(lambda a: np.asarray(a)[bad], got)
  start = jax.tree.map(lambda a: np.asarray(a)[bad], poisoned)
  for x, y in zip(
    jax.tree.leaves((frozen.params, frozen.opt_state)),
    jax.tree.leaves((start.params, start.opt_state)),
  ):
    np.testing.assert_array_equal(x, y)  # nothing moved (NaN stays NaN)
  assert frozen.window_count == 0 and frozen.log_count == 0
  want, _, _ = reference
  keep = np.asarray([0, 2, 3])
  if strategy == "loop":
    assert_trees_equal(state_lib.take(got, keep), state_lib.take(want, keep))
  else:
    assert_same_training(
      state_lib.take(got, keep), state_lib.take(want, keep), moment_tol=1e-2
    )


def test_host_streaming_equals_device_gather(
  tiny_step, dsprites, tiny_initial, runners, keys, members
):
  host = data.batch_source(dsprites, "host")
  assert not host.on_device
  runner = grid_runner.GridRunner(
    tiny_step, host, batch_size=BATCH, strategy="loop", steps_per_call=2
  )
  got = run_in_chunks(runner, tiny_initial, keys, members)
  want = run_in_chunks(runners["tiny loop"], tiny_initial, keys, members)
  assert_trees_equal(got, want)
  assert runner.traces == 2  # calls of 1 and 2 steps: one program each
  # ... and (vmap) the host feed gives each member its seed's batch.
  vmapped = grid_runner.GridRunner(tiny_step, host, batch_size=BATCH, strategy="vmap")
  assert_same_training(
    run_in_chunks(vmapped, tiny_initial, keys, members), want, moment_tol=1e-2
  )


def test_scanned_steps_equal_unrolled_steps(
  tiny_step, tiny_initial, source, keys, members
):
  """A call's steps as a lax.scan (sub-pixel layers) or unrolled in Python (reference
  layers on CPU) give the same states."""
  got = {}
  for impl in ("subpixel", "reference"):
    runner = grid_runner.GridRunner(
      tiny_step, source, batch_size=BATCH, strategy="map", steps_per_call=2, impl=impl
    )
    assert runner._unroll == (impl == "reference" and jax.default_backend() == "cpu")
    got[impl] = run_in_chunks(runner, tiny_initial, keys, members)
  assert_trees_equal(got["subpixel"], got["reference"])


def test_strategies_and_auto():
  assert grid_runner.resolve_strategy("auto", "cpu") == "map"
  assert grid_runner.resolve_strategy("auto", "cpu", impl="reference") == "loop"
  assert grid_runner.resolve_strategy("auto", "gpu") == "vmap"
  assert grid_runner.resolve_strategy("auto", "gpu", impl="reference") == "vmap"
  assert grid_runner.resolve_strategy("map", "cpu") == "map"
  with pytest.raises(ValueError, match="unknown grid strategy"):
    grid_runner.lift(lambda s, b, r: (s, {}), "pmap")


def test_chunks_keep_the_compiled_peak_under_the_given_memory(
  tiny_step, tiny_initial, source, keys, members
):
  """With ``memory`` given (as a device's free memory is), the whole grid runs only
  if its compiled call fits; else chunks as large as XLA's memory analysis allows,
  decided before the first step; a memory too small for one model is one line."""
  seeds = members_lib.column(members, "seed", np.int32)

  def runner(memory):
    return grid_runner.GridRunner(
      tiny_step, source, batch_size=BATCH, strategy="vmap", memory=memory
    )

  probe = runner(None)
  per_model, fixed = probe.peak_memory(tiny_initial, len(keys.data))
  whole = probe.peak(tiny_initial, len(keys.data), len(members))
  assert per_model > 0 and whole == pytest.approx(
    fixed + len(members) * per_model, rel=0.05
  )
  roomy = runner(whole / 0.9 * 1.01)
  assert (
    roomy.plan(tiny_initial, keys.data, seeds)
    == f"grid of {len(members)} models on 1 device"
  )
  tight = runner((fixed + 2.5 * per_model) / 0.9)
  note = tight.plan(tiny_initial, keys.data, seeds)
  assert f"{len(members)} models need" in note
  assert note.endswith("training the grid in 2 chunks of <= 2 models")
  assert [c.index.size for c in tight.chunks(len(members))] == [2, 2]
  with pytest.raises(errors.ConfigError, match="one model per device needs"):
    runner(fixed / 0.9).plan(tiny_initial, keys.data, seeds)

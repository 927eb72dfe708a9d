"""Older checkpoints' layouts read as today's state: the logged fields keyed by name,
a field logged since NaN where it has no value, one no longer logged dropped."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import errors
from lbvae import objectives
from lbvae.train import checkpoint_layouts as layouts
from lbvae.train import members as members_lib
from lbvae.train import state as state_lib

FIELDS = ("nll", "kl", "l2", "loss")


@pytest.fixture(scope="module")
def fresh(model, tx):
  grid = members_lib.phase1_grid((1.0, 4.0), 1)
  return state_lib.phase1_state(model, tx, grid, state_lib.seed_keys(0, 1), window=3)


def _tree(state) -> dict:
  return {k: getattr(state, k) for k in state.__dataclass_fields__}


def test_a_legacy_window_gains_every_base_field(fresh):
  """A checkpoint from before the objectives held (nll, kl, l2) per step: ``loss``
  is rebuilt from them, and a base field they lack is NaN."""
  rng = np.random.default_rng(0)
  tree = _tree(fresh)
  del tree["objective_state"]
  tree["window"] = jnp.asarray(rng.uniform(1, 9, (2, 3, 3)), jnp.float32)
  tree["log_sums"] = jnp.asarray(rng.uniform(1, 9, (2, 4)), jnp.float32)
  tree["lam"] = jnp.asarray([0.5, 2.0], jnp.float32)
  tree["window_count"] = jnp.asarray([3, 2], jnp.int32)
  restored = layouts.with_fields(layouts.from_legacy(tree), FIELDS)
  assert restored.objective_state == {} and set(restored.window) == set(FIELDS)
  w = np.asarray(tree["window"])
  beta, lam = np.asarray(fresh.strength)[:, None], np.asarray(tree["lam"])[:, None]
  for i, k in enumerate(FIELDS[:3]):
    np.testing.assert_array_equal(restored.window[k], w[..., i])
    np.testing.assert_array_equal(restored.log_sums[k], tree["log_sums"][:, i])
  np.testing.assert_allclose(
    restored.window["loss"], w[..., 0] + beta * w[..., 1] + lam * w[..., 2], rtol=1e-6
  )
  grown = layouts.with_fields(
    layouts.from_legacy(tree), ("nll", "kl", "grad_norm", "l2", "loss")
  )
  # the filled slots of the ring: all 3 of member 0, the first 2 of member 1
  np.testing.assert_array_equal(
    np.isnan(grown.window["grad_norm"]), [[True] * 3, [True, True, False]]
  )
  np.testing.assert_array_equal(grown.window["l2"], w[..., 2])


@pytest.mark.parametrize("objective", objectives.NAMES)
def test_columns_become_named_fields(objective):
  """A checkpoint of one window array: its columns are the objective's fields of
  the time, whatever the objective logs today."""
  names = layouts.ARRAY_FIELDS[objective]
  window = np.random.default_rng(1).normal(size=(2, 3, len(names))).astype(np.float32)
  sums = window.sum(axis=1)
  tree = layouts.from_columns({"window": window, "log_sums": sums}, names)
  for i, k in enumerate(names):
    np.testing.assert_array_equal(tree["window"][k], window[..., i])
    np.testing.assert_array_equal(tree["log_sums"][k], sums[:, i])


def test_a_field_logged_since_is_nan_only_where_it_has_no_value(fresh):
  tree = _tree(fresh)
  tree["window_count"] = jnp.asarray([1, 0], jnp.int32)
  tree["log_count"] = jnp.asarray([0, 2], jnp.int32)
  state = jax.jit(lambda t: layouts.with_fields(t, FIELDS[1:] + ("grad_norm",)))(tree)
  assert set(state.window) == {"kl", "l2", "loss", "grad_norm"}  # nll dropped
  np.testing.assert_array_equal(
    np.isnan(state.window["grad_norm"]), [[True, False, False], [False] * 3]
  )
  np.testing.assert_array_equal(np.isnan(state.log_sums["grad_norm"]), [False, True])
  assert float(state.log_sums["grad_norm"][0]) == 0.0


def test_plans_for_each_layout(fresh):
  abstract = jax.eval_shape(lambda: fresh)
  today = {k: v for k, v in _tree(abstract).items()}
  target, convert = layouts.restore_plan(today, abstract, "beta_vae")
  assert jax.tree.structure(target) == jax.tree.structure(_tree(abstract))
  columns = dict(today, window=jax.ShapeDtypeStruct((2, 3, 4), jnp.float32))
  target, _ = layouts.restore_plan(columns, abstract, "beta_vae")
  assert target["window"].shape == (2, 3, 4) and target["log_sums"].shape == (2, 4)
  with pytest.raises(
    errors.CheckpointError, match="has 4 columns, not the 7 of beta_tcvae"
  ):
    layouts.restore_plan(columns, abstract, "beta_tcvae")
  legacy = {k: v for k, v in columns.items() if k != "objective_state"}
  target, _ = layouts.restore_plan(legacy, abstract, "beta_vae")
  assert "objective_state" not in target and target["window"].shape == (2, 3, 3)
  with pytest.raises(errors.CheckpointError, match="not dip_vae_i"):
    layouts.restore_plan(legacy, abstract, "dip_vae_i")

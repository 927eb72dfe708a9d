"""Train state, grids of members, and the phase-1 -> phase-2 hand-over."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lbvae import errors
from lbvae import objectives
from lbvae.train import members as members_lib
from lbvae.train import state as state_lib


def test_phase_grids_are_beta_major_with_parents():
  g1 = members_lib.phase1_grid((1.0, 4.0), 2)
  assert [(m.strength, m.seed) for m in g1] == [(1, 0), (1, 1), (4, 0), (4, 1)]
  g2 = members_lib.phase2_grid((1.0, 4.0), (0.0, 2.0), 2)
  assert len(g2) == 8
  for m in g2:
    parent = g1[m.parent]
    assert (parent.strength, parent.seed) == (m.strength, m.seed)
  assert [m.lam for m in g2[:4]] == [0.0, 0.0, 2.0, 2.0]
  np.testing.assert_array_equal(members_lib.parents(g2), [0, 1, 0, 1, 2, 3, 2, 3])
  with pytest.raises(ValueError):
    members_lib.parents(g1)


def test_init_grid_and_config_share_the_weight_bounds(model, tx):
  """One check (members.check_weights): a sweep config refuses repeated weights, a
  library grid may hold them; both refuse the same values in the same words."""
  from lbvae.train import config as config_lib

  state, grid = state_lib.init_grid(model, tx, betas=(4.0, 4.0), window=2)
  assert [m.seed for m in grid] == [0, 0] and state_lib.window_length(state) == 2
  for betas, message in (
    ((1.0, -4.0), "must hold finite values >= 0, got -4.0"),
    ((), "is empty: the grid needs at least one beta"),
  ):
    with pytest.raises(errors.ConfigError, match="^betas " + re.escape(message)):
      state_lib.init_grid(model, tx, betas=betas)
    c = config_lib.defaults()
    c.betas = betas
    with pytest.raises(errors.ConfigError, match="^config.betas " + re.escape(message)):
      config_lib.validate(c)
  c = config_lib.defaults()
  c.lambdas = (0.0, 2.0, 2.0)
  with pytest.raises(
    errors.ConfigError,
    match=re.escape("config.lambdas has repeated values: (0.0, 2.0, 2.0)"),
  ):
    config_lib.validate(c)


def test_seed_keys_are_distinct_streams():
  keys = state_lib.seed_keys(0, 3)
  rows = np.concatenate([keys.init, keys.data, keys.noise])
  assert rows.shape == (9, 2) and rows.dtype == np.uint32
  assert len({tuple(r) for r in rows}) == 9
  np.testing.assert_array_equal(state_lib.seed_keys(0, 2).data, keys.data[:2])
  assert not np.array_equal(state_lib.seed_keys(1, 3).data, keys.data)


def test_members_of_a_seed_share_their_initial_parameters(model, tx):
  grid = members_lib.phase1_grid((1.0, 4.0), 2)
  keys = state_lib.seed_keys(0, 2)
  s = state_lib.phase1_state(model, tx, grid, keys, window=3)
  kernel = np.asarray(s.params["encoder"]["Conv_0"]["kernel"])
  np.testing.assert_array_equal(kernel[0], kernel[2])  # seed 0, β = 1 and 4
  np.testing.assert_array_equal(kernel[1], kernel[3])
  assert not np.array_equal(kernel[0], kernel[1])
  np.testing.assert_array_equal(np.asarray(s.strength), [1, 1, 4, 4])
  np.testing.assert_array_equal(np.asarray(s.step), 0)
  assert {k: w.shape for k, w in s.window.items()} == dict.fromkeys(
    ("nll", "kl", "l2", "loss"), (4, 3)
  )  # 3 steps of each logged field
  abstract = state_lib.abstract_state(model, tx, grid, keys, window=3)
  assert jax.tree.structure(abstract) == jax.tree.structure(s)
  for a, b in zip(jax.tree.leaves(abstract), jax.tree.leaves(s)):
    assert a.shape == b.shape and a.dtype == b.dtype


def test_phase2_starts_from_parent_parameters_with_fresh_optimiser(model, tx):
  grid1 = members_lib.phase1_grid((1.0, 8.0), 1)
  grid2 = members_lib.phase2_grid((1.0, 8.0), (0.0, 4.0), 1)
  keys = state_lib.seed_keys(0, 1)
  s1 = state_lib.phase1_state(model, tx, grid1, keys, window=2)

  # Make the phase-1 members differ and carry a used optimiser: one Adam update
  # with a different fake gradient per member.
  @jax.jit
  def adam_step(s):
    grads = jax.tree.map(
      lambda a: a * jnp.arange(1.0, 3.0).reshape((2,) + (1,) * (a.ndim - 1)), s.params
    )
    updates, opt_state = jax.vmap(tx.update)(grads, s.opt_state, s.params)
    return s.replace(
      params=optax.apply_updates(s.params, updates),
      opt_state=opt_state,
      step=s.step + 1,
    )

  s1 = adam_step(s1)
  s1 = s1.replace(
    healthy=jnp.asarray([True, False]), frozen_step=jnp.asarray([-1, 0], jnp.int32)
  )
  s2 = state_lib.phase2_state(tx, grid2, s1, keys, window=2)
  parents = members_lib.parents(grid2)  # [0, 0, 1, 1]
  for leaf1, leaf2 in zip(jax.tree.leaves(s1.params), jax.tree.leaves(s2.params)):
    np.testing.assert_array_equal(np.asarray(leaf1)[parents], np.asarray(leaf2))
  fresh = jax.jit(jax.vmap(tx.init))(s2.params)
  for a, b in zip(jax.tree.leaves(fresh), jax.tree.leaves(s2.opt_state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert int(np.asarray(s1.opt_state[0].count)[0]) == 1
  np.testing.assert_array_equal(np.asarray(s2.step), 1)
  np.testing.assert_array_equal(np.asarray(s2.lam), [0, 4, 0, 4])
  np.testing.assert_array_equal(np.asarray(s2.healthy), [True, True, False, False])
  np.testing.assert_array_equal(np.asarray(s2.window_count), 0)


def test_make_model_and_optimizer(tiny_config):
  vae = state_lib.make_model(tiny_config, 3)
  assert vae.num_channels == 3 and vae.latent_dim == tiny_config.latent_dim
  bad = tiny_config.copy_and_resolve_references()
  bad.model_impl = "cuda"
  with pytest.raises(errors.Error, match="model_impl"):
    state_lib.make_model(bad, 1)
  assert vae.dtype is None  # config.precision defaults to f32
  bad = tiny_config.copy_and_resolve_references()
  bad.precision = "fp16"
  with pytest.raises(errors.ConfigError, match="precision must be one of f32, bf16"):
    state_lib.make_model(bad, 1)
  bad.precision = "bf16"
  assert state_lib.make_model(bad, 1).dtype == jnp.bfloat16
  tx = state_lib.make_optimizer(tiny_config)
  p = {"w": jnp.ones(3)}
  updates, _ = tx.update({"w": jnp.ones(3)}, tx.init(p), p)
  # Adam's first step moves every weight by -lr (bias-corrected m / sqrt(v) = 1).
  np.testing.assert_allclose(
    np.asarray(updates["w"]), -tiny_config.learning_rate, rtol=1e-4
  )
  assert isinstance(tx, optax.GradientTransformation)


def test_factor_vae_discriminator_is_per_member_state_checkpointed_exactly(
  tiny_model, tx, dsprites, tmp_path
):
  """The discriminator (params + Adam) is part of each member's state: initialised
  per seed, trained by the vmapped step, restored bit for bit, and handed to phase 2
  with its parameters and a fresh optimiser."""
  from lbvae.train import checkpoint
  from lbvae.train import step as step_lib

  objective = objectives.make("factor_vae", latent_dim=3, hidden=(8, 8))
  grid1 = members_lib.phase1_grid((10.0, 40.0), 2)
  keys = state_lib.seed_keys(0, 2)
  s = state_lib.phase1_state(tiny_model, tx, grid1, keys, window=2, objective=objective)
  kernel = np.asarray(s.objective_state["params"]["Dense_0"]["kernel"])
  np.testing.assert_array_equal(kernel[0], kernel[2])  # seed 0, γ = 10 and 40
  assert not np.array_equal(kernel[0], kernel[1])
  step = jax.jit(jax.vmap(step_lib.make_train_step(tiny_model, tx, objective)))
  images = dsprites.images(dsprites.index_to_factors(np.arange(4) * 1000))
  for t in range(3):
    rngs = jax.vmap(step_lib.noise_key, (0, None))(s.rng, t)
    s, metrics = step(s, jnp.broadcast_to(images, (4,) + images.shape), rngs)
  assert np.all(np.asarray(metrics["finite"]))
  assert set(s.window) == set(objectives.log_fields(objective))
  assert all(w.shape == (4, 2) for w in s.window.values())
  moved = np.asarray(s.objective_state["params"]["Dense_0"]["kernel"])
  assert not np.array_equal(moved[0], kernel[0])
  assert not np.array_equal(moved[0], moved[2])  # γ changes the codes it sees
  ckpts = checkpoint.PhaseCheckpoints(str(tmp_path / "ckpt"))
  ckpts.save(3, s, {"step": 3})
  abstract = state_lib.abstract_state(
    tiny_model, tx, grid1, keys, window=2, objective=objective
  )
  back, _ = ckpts.restore(3, abstract)
  ckpts.close()
  assert jax.tree.structure(back) == jax.tree.structure(s)
  for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(s)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  grid2 = members_lib.phase2_grid((10.0, 40.0), (0.0, 4.0), 2)
  s2 = state_lib.phase2_state(tx, grid2, back, keys, window=2, objective=objective)
  parents = members_lib.parents(grid2)
  np.testing.assert_array_equal(
    np.asarray(s2.objective_state["params"]["Dense_0"]["kernel"]), moved[parents]
  )
  counts = [
    np.asarray(leaf)
    for leaf in jax.tree.leaves(s2.objective_state["opt_state"])
    if np.asarray(leaf).dtype == np.int32
  ]
  assert counts and all(np.all(c == 0) for c in counts)

"""Gradient solver: clipping, triangular factors, best iterate, grid = loop, optimum."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae.linear import fixed_point
from lbvae.linear import gradient
from lbvae.linear import init
from lbvae.linear import objective
from lbvae.linear import problem as problem_lib

SETTINGS = gradient.Settings(learning_rate=1e-2)  # SPEC lr is 1e-3; faster for tests
BETAS, LAMS = (4.0, 4.0), (0.0, 2.0)
CHUNK = 100


@pytest.fixture(scope="module")
def setup():
  prob = problem_lib.generate(jax.random.key(0), n=6, s=2, noise_var=0.05)
  p0 = init.batch(init.gradient, jax.random.key(2), 2, n=6, m=2)
  start = gradient.init_grid(p0, jnp.array(BETAS), jnp.array(LAMS), SETTINGS)
  return prob, p0, start


@pytest.fixture(scope="module")
def trained(setup):
  prob, _, state = setup
  for _ in range(30):
    state = gradient.run_chunk(state, prob, SETTINGS, CHUNK)
  return state


def _losses(state, prob):
  return np.asarray(jax.vmap(gradient.loss, in_axes=(0, None, 0, 0, None))(
      state.params, prob, state.beta, state.lam, SETTINGS.jitter))


def test_clip_group_bounds_the_joint_norm():
  grads = (jnp.full((3, 2), 4.0), jnp.full((2,), -3.0))
  clipped = gradient.clip_group(grads, 1.0)
  norm = np.sqrt(sum(float(jnp.sum(g**2)) for g in clipped))
  assert norm == pytest.approx(1.0, rel=1e-5)
  ratio = np.asarray(clipped[0]) / 4.0
  np.testing.assert_allclose(np.asarray(clipped[1]) / -3.0, ratio[0, 0])  # same scale
  small = (jnp.full((2,), 0.1),)
  np.testing.assert_allclose(np.asarray(gradient.clip_group(small, 1.0)[0]), 0.1)


def test_steps_keep_factors_triangular_and_remember_the_best(setup, trained):
  prob, _, start = setup
  for l in (trained.params.l_z, trained.params.l_w):
    assert float(jnp.abs(jnp.triu(l, 1)).max()) == 0.0
  params, best = gradient.best_params(trained, prob, SETTINGS)
  assert np.all(np.asarray(best) < _losses(start, prob))
  assert np.all(np.asarray(best) <= _losses(trained, prob))
  again = jax.vmap(lambda p, b, l: objective.total(p, prob, beta=b, lam=l))(
      params, trained.beta, trained.lam)
  np.testing.assert_allclose(np.asarray(again), np.asarray(best), rtol=1e-12)
  assert int(trained.step[0]) == 30 * CHUNK


def test_grid_equals_plain_loop(setup):
  prob, p0, start = setup
  grid = gradient.run_chunk(start, prob, SETTINGS, CHUNK)
  step = jax.jit(gradient.train_step, static_argnums=2)
  for c in range(2):
    for i in range(2):
      state = gradient.init_state(jax.tree.map(lambda x: x[i], p0), BETAS[c], LAMS[c],
                                  SETTINGS)
      for _ in range(CHUNK):
        state = step(state, prob, SETTINGS)
      got = jax.tree.map(lambda x: x[2 * c + i], grid.params)
      for a, b in zip(state.params, got):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12)


def test_reaches_the_fixed_point_optimum(setup, trained):
  """AdamW on the closed form finds the alternating solver's total (beta > 1)."""
  prob = setup[0]
  b0, w0 = init.batch(init.fixed_point, jax.random.key(1), 1, n=6, m=2)
  fp = fixed_point.solve_grid(prob, b0, w0, jnp.array(BETAS), jnp.array(LAMS),
                              jnp.asarray(1e-10), jnp.asarray(10_000, jnp.int32))
  want = [float(objective.total(jax.tree.map(lambda x: x[c, 0], fp.params), prob,
                                beta=BETAS[c], lam=LAMS[c])) for c in range(2)]
  _, best = gradient.best_params(trained, prob, SETTINGS)
  np.testing.assert_allclose(np.asarray(best).reshape(2, 2),
                             np.array(want)[:, None].repeat(2, 1), rtol=1e-5)


def test_step_calls_no_lapack(setup):
  """Batched LAPACK calls can deadlock jaxlib 0.10's 2-thread CPU pool (see spd)."""
  prob, _, start = setup
  text = gradient.run_chunk.lower(start, prob, SETTINGS, 2).as_text()
  assert "lapack" not in text.lower() and "custom_call" not in text

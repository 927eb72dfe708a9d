"""Gradient solver: closed-form gradient, the published AdamW loop transcribed, layout.

The transcription below is the published loop written out sequentially in float64
NumPy around autodiff of the plain objective: full L matrices (their upper
triangles get gradients and AdamW moments, then are cut), torch's clip_grad_norm_
and AdamW formulas, the lowest pre-update loss remembered. The solver under test
uses the closed-form gradient (lbvae/linear/factored.py), masked moments, chunks
and host threads.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae.linear import factored
from lbvae.linear import fixed_point
from lbvae.linear import gradient
from lbvae.linear import init
from lbvae.linear import objective
from lbvae.linear import problem as problem_lib

SETTINGS = gradient.Settings(learning_rate=1e-2, clip_ab=1.0, clip_l=2.0)


def _instance(n, s, seed=0):
  return problem_lib.generate(jax.random.key(seed), n=n, s=s, noise_var=0.05)


def _starts(n, m, num, seed=2):
  return init.batch(init.gradient, jax.random.key(seed), num, n=n, m=m)


@jax.jit
def _autodiff(p, prob, beta, lam):
  """Loss and gradient of the plain objective in the full matrices L_Z, L_W."""
  return jax.value_and_grad(gradient.loss)(p, prob, beta, lam, SETTINGS.jitter)


@pytest.mark.parametrize(
  "n,m,s,vmap", [(12, 4, 3, False), (12, 4, 3, True), (70, 5, 2, False)]
)  # 70: L L^T, G L by blocks
def test_closed_form_gradient_equals_autodiff(n, m, s, vmap):
  prob = _instance(n, s)
  p = jax.tree.map(lambda x: x[0], _starts(n, m, 1))  # L's lower triangular
  fn = lambda p: factored.value_and_grad(
    p, prob, beta=4.0, lam=2.0, jitter=SETTINGS.jitter
  )
  if vmap:
    out = jax.tree.map(
      lambda x: x[1],
      jax.jit(jax.vmap(fn))(jax.tree.map(lambda x: jnp.stack([2 * x, x]), p)),
    )
  else:
    out = jax.jit(fn)(p)
  value, grads = _autodiff(p, prob, 4.0, 2.0)
  np.testing.assert_allclose(float(out.loss), float(value), rtol=1e-12)
  want_recon = objective.recon(gradient.to_params(p, SETTINGS.jitter), prob)
  np.testing.assert_allclose(float(out.recon), float(want_recon), rtol=1e-12)
  for got, want in zip(out.grads, grads):
    np.testing.assert_allclose(
      np.asarray(got),
      np.asarray(want),
      rtol=1e-10,
      atol=1e-11 * float(jnp.abs(want).max()),
    )
  assert float(jnp.abs(jnp.triu(grads.l_z, 1)).max()) > 0  # upper triangle counts


def _clip(grads, max_norm):
  norm = np.sqrt(sum(np.sum(g**2) for g in grads))
  coef = min(1.0, max_norm / (norm + 1e-6))
  return [g * coef for g in grads]


def _transcription(p0, prob, beta, lam, steps):
  """The published loop, sequentially: states before each step, and the best."""
  s = SETTINGS
  params = [np.array(x) for x in p0]
  exp_avg = [np.zeros_like(x) for x in params]
  exp_avg_sq = [np.zeros_like(x) for x in params]
  states, best, best_loss = [], None, np.inf
  for t in range(1, steps + 1):
    states.append([x.copy() for x in params])
    value, grads = _autodiff(init.CholeskyParams(*params), prob, beta, lam)
    grads = [np.asarray(g) for g in grads]
    grads = _clip(grads[:2], s.clip_ab) + _clip(grads[2:], s.clip_l)
    if float(value) < best_loss:
      best_loss, best = float(value), [x.copy() for x in params]
    for k in range(4):
      params[k] = params[k] * (1 - s.learning_rate * s.weight_decay)
      exp_avg[k] = exp_avg[k] + (1 - s.b1) * (grads[k] - exp_avg[k])
      exp_avg_sq[k] = exp_avg_sq[k] * s.b2 + (1 - s.b2) * grads[k] * grads[k]
      denom = np.sqrt(exp_avg_sq[k]) / np.sqrt(1 - s.b2**t) + s.eps
      params[k] = params[k] - s.learning_rate / (1 - s.b1**t) * exp_avg[k] / denom
    params[2], params[3] = np.tril(params[2]), np.tril(params[3])
  return states, best, best_loss


@pytest.fixture(scope="module")
def trajectories():
  """Three runs (beta, lambda) = (1, 0), (4, 2), (16, 8) from one start, 12 steps."""
  prob = _instance(12, 3)
  p0 = _starts(12, 4, 1)
  betas, lams = jnp.array([1.0, 4.0, 16.0]), jnp.array([0.0, 2.0, 8.0])
  first = jax.tree.map(lambda x: x[0], p0)  # its L's are lower triangular
  want = [
    _transcription(first, prob, float(b), float(l), 12) for b, l in zip(betas, lams)
  ]
  return prob, gradient.init_grid(p0, betas, lams, SETTINGS), want


def test_trajectory_equals_the_published_loop_step_for_step(trajectories):
  prob, state, want = trajectories
  for k in range(12):
    for r in range(3):
      got = jax.tree.map(lambda x: np.asarray(x[r]), state.params)
      for g, w in zip(got, want[r][0][k]):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9 * np.abs(w).max())
    state = gradient.run(state, prob, SETTINGS, 1, chunk=2, num_threads=2)
  params, best_loss = gradient.best_params(state, SETTINGS)
  for r in range(3):
    np.testing.assert_allclose(float(best_loss[r]), want[r][2], rtol=1e-12)
    best = init.CholeskyParams(*want[r][1])
    np.testing.assert_allclose(
      np.asarray(params.sigma_z[r]),
      np.asarray(gradient.to_params(best, SETTINGS.jitter).sigma_z),
      rtol=1e-9,
      atol=1e-12,
    )
    recon = objective.recon(gradient.to_params(best, SETTINGS.jitter), prob)
    np.testing.assert_allclose(float(state.best_recon[r]), float(recon), rtol=1e-10)


def test_chunks_and_threads_do_not_change_the_runs(trajectories):
  prob, start, _ = trajectories
  one = gradient.run(start, prob, SETTINGS, 5, chunk=3, num_threads=1)
  split = start
  for _ in range(5):
    split = gradient.run(split, prob, SETTINGS, 1, chunk=2, num_threads=2)
  layout = gradient.split(start, chunk=2, num_threads=2)  # padded: 2 parts of 2
  assert [int(p.step.shape[0]) for p in layout.parts] == [2, 2]
  for _ in range(5):
    layout = gradient.advance(layout, prob, SETTINGS, 1)
  advanced = gradient.join(layout)
  for other in (split, advanced):
    for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(other)):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)
  assert int(split.step[0]) == 5 and split.step.shape == (3,)
  assert advanced.step.tolist() == [5, 5, 5]


def test_clip_group_bounds_the_joint_norm():
  grads = (jnp.full((3, 2), 4.0), jnp.full((2,), -3.0))
  clipped = gradient.clip_group(grads, 1.0)
  norm = np.sqrt(sum(float(jnp.sum(g**2)) for g in clipped))
  assert norm == pytest.approx(1.0, rel=1e-5)
  np.testing.assert_allclose(
    np.asarray(clipped[1]) / -3.0, np.asarray(clipped[0])[0, 0] / 4.0
  )  # one scale
  small = (jnp.full((2,), 0.1),)
  np.testing.assert_allclose(np.asarray(gradient.clip_group(small, 1.0)[0]), 0.1)


def test_reaches_the_fixed_point_optimum():
  """AdamW on the closed form finds the alternating solver's total (beta > 1)."""
  prob = _instance(6, 2)
  betas, lams = jnp.array([4.0, 4.0]), jnp.array([0.0, 2.0])
  state = gradient.init_grid(_starts(6, 2, 2), betas, lams, SETTINGS)
  for _ in range(3):
    state = gradient.run(state, prob, SETTINGS, 1000, chunk=2)
  b0, w0 = init.batch(init.fixed_point, jax.random.key(1), 1, n=6, m=2)
  fp = fixed_point.solve_grid(
    prob, b0, w0, betas, lams, jnp.asarray(1e-10), jnp.asarray(10_000, jnp.int32)
  )
  want = [
    float(
      objective.total(
        jax.tree.map(lambda x: x[c, 0], fp.params), prob, beta=betas[c], lam=lams[c]
      )
    )
    for c in range(2)
  ]
  _, best = gradient.best_params(state, SETTINGS)
  np.testing.assert_allclose(
    np.asarray(best).reshape(2, 2), np.array(want)[:, None].repeat(2, 1), rtol=1e-5
  )


def test_step_calls_no_lapack():
  """Batched LAPACK calls can deadlock jaxlib 0.10's 2-thread CPU pool (see spd)."""
  prob = _instance(6, 2)
  state = gradient.init_grid(
    _starts(6, 2, 2), jnp.array([4.0]), jnp.array([0.0]), SETTINGS
  )
  text = gradient.run_part.lower(state, prob, SETTINGS, 2, 2).as_text()
  assert "lapack" not in text.lower() and "custom_call" not in text

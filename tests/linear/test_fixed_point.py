"""The alternating solver: stationarity, collapse, contraction, the grid.

Checks the science of arXiv 2602.09277 (docs/theory.md) against autodiff;
tests/linear/test_published_fixed_point.py holds it to the authors' loop.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae.linear import contraction
from lbvae.linear import fixed_point
from lbvae.linear import init
from lbvae.linear import scores
from lbvae.linear import objective
from lbvae.linear import problem as problem_lib
from lbvae.linear import protocol


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _setup(seed, n, s, m, num_inits):
  prob = problem_lib.generate(jax.random.key(seed), n=n, s=s, noise_var=0.05)
  b0, w0 = init.batch(init.fixed_point, jax.random.key(seed + 1), num_inits, n=n, m=m)
  return prob, problem_lib.sigma_y(prob), b0, w0


@pytest.fixture(scope="module")
def small():
  """A small published-style instance (n = 12, s = 3, m = 4) and 3 starts."""
  prob, sy, b0, w0 = _setup(0, 12, 3, 4, 3)
  return prob, np.asarray(sy), b0, w0


def _solve1(prob, b0, w0, beta, lam, max_iters, tol=0.0):
  as_f64 = lambda x: jnp.asarray(x, jnp.float64)
  return fixed_point.solve(
    prob,
    b0,
    w0,
    beta=as_f64(beta),
    lam=as_f64(lam),
    tol=as_f64(tol),
    max_iters=jnp.asarray(max_iters, jnp.int32),
  )


def test_decoder_step_zeroes_gradient_of_recon(small):
  prob, _, b0, w0 = small
  p = _solve1(prob, b0[1], w0[1], 8.0, 0.0, 1).params  # one decoder step
  g = jax.jit(jax.grad(objective.recon))(p, prob)
  for name in ("A", "sigma_z"):
    assert float(jnp.abs(getattr(g, name)).max()) < 1e-9, name
  # B and Sigma_W were not optimised, so R still has a gradient there.
  assert float(jnp.abs(g.B).max()) > 1e-3


@jax.jit
def _grad_total(p, prob, beta, lam):
  return jax.grad(objective.total)(p, prob, beta=beta, lam=lam)


@pytest.mark.parametrize("beta,lam", [(4.0, 0.0), (4.0, 2.0), (16.0, 8.0)])
def test_encoder_step_is_stationary_for_total(small, beta, lam):
  prob, _, b0, w0 = small
  p = _solve1(prob, b0[2], w0[2], beta, lam, 2).params  # decoder, then encoder
  g = _grad_total(p, prob, beta, lam)
  for name in ("B", "sigma_w"):
    assert float(jnp.abs(getattr(g, name)).max()) < 1e-8, name
  assert float(jnp.abs(g.A).max()) > 1e-4  # the decoder is one step behind


def test_lambda0_total_splits_into_entropy_information_and_kl(small):
  """With the posterior decoder, total = h(Y) + (beta - 1) I(X;Y) + beta KL."""
  prob, sy, b0, w0 = small
  p = _solve1(prob, b0[0], w0[0], 1.0, 0.0, 1).params  # posterior decoder of B0

  @jax.jit
  def parts(p, betas):
    totals = jax.vmap(lambda b: objective.total(p, prob, beta=b, lam=0.0))(betas)
    return (
      objective.sigma_x(p.B, p.sigma_w, prob),
      scores.mutual_information_xy(p.B, p.sigma_w, prob),
      totals,
    )

  betas = jnp.array([1.0, 4.0, 32.0])
  sx, info, totals = (np.asarray(x) for x in parts(p, betas))
  kl_marginal = 0.5 * (np.trace(sx) - sx.shape[0] - np.linalg.slogdet(sx)[1])
  h_y = 0.5 * (sy.shape[0] * (1 + np.log(2 * np.pi)) + np.linalg.slogdet(sy)[1])
  assert info > 1.0
  np.testing.assert_allclose(
    totals,
    h_y + (np.asarray(betas) - 1) * info + np.asarray(betas) * kl_marginal,
    rtol=1e-10,
  )


@pytest.fixture(scope="module")
def grid(small):
  """beta in {2, 16} x lambda in {0, 2, 8}, 3 starts, solved on the grid."""
  prob, _, b0, w0 = small
  betas = jnp.array([2.0, 2.0, 2.0, 16.0, 16.0, 16.0])
  lams = jnp.array([0.0, 2.0, 8.0, 0.0, 2.0, 8.0])
  res = fixed_point.solve_grid(
    prob,
    b0,
    w0,
    betas,
    lams,
    jnp.asarray(1e-9),
    jnp.asarray(20_000, jnp.int32),
    num_lanes=4,
    num_threads=2,
  )
  return betas, lams, res


def _scores(prob, params):
  """(R, SAP, I_m) of models with one leading run axis."""
  out = protocol.score(params, prob)
  return out["recon"], out["sap"], out["im"]


def test_beta_above_one_at_lambda0_collapses(small, grid):
  prob = small[0]
  betas, lams, res = grid
  collapse = float(problem_lib.collapse_value(prob))
  for c in np.flatnonzero(np.asarray(lams) == 0):
    params = jax.tree.map(lambda x: x[c], res.params)
    recon, sap, i_m = _scores(prob, params)
    np.testing.assert_allclose(recon, collapse, rtol=1e-8)
    assert np.all(sap < 1e-8) and np.all(i_m < 1e-8), float(betas[c])
    assert np.all(np.asarray(res.converged[c]))


def test_positive_lambda_keeps_information(small, grid):
  prob = small[0]
  betas, lams, res = grid
  for c in np.flatnonzero(np.asarray(lams) > 0):
    params = jax.tree.map(lambda x: x[c], res.params)
    recon, sap, i_m = _scores(prob, params)
    assert np.all(i_m > 0.1) and np.all(sap > 0.01), (float(betas[c]), float(lams[c]))
    assert np.all(recon < float(problem_lib.collapse_value(prob)))


def test_lambda_keeps_exactly_the_directions_above_threshold(small):
  """Near B = 0 the encoder update is B -> B (I + 2 lam Sigma_Y) / beta, so B keeps
  one direction per eigenvalue d of Sigma_Y with 1 + 2 lam d > beta."""
  prob, sy, b0, w0 = small
  lam = 0.5
  d = np.linalg.eigvalsh(sy)[::-1]
  thresholds = 1 + 2 * lam * d[:3]
  betas = jnp.asarray(np.outer(thresholds, [1.1, 0.9]).ravel())  # 6 cells, as `grid`
  res = fixed_point.solve_grid(
    prob,
    b0,
    w0,
    betas,
    jnp.full(6, lam),
    jnp.asarray(1e-10),
    jnp.asarray(20_000, jnp.int32),
    num_lanes=4,
    num_threads=2,
  )
  sv = np.linalg.svd(np.asarray(res.params.B), compute_uv=False)  # [6, 3, m]
  kept = np.sum(sv > 1e-4, axis=-1)
  want = np.sum(1 + 2 * lam * d[None, :] > np.asarray(betas)[:, None], axis=1)
  np.testing.assert_array_equal(kept, np.repeat(want[:, None], 3, axis=1))
  np.testing.assert_array_equal(want, [0, 1, 1, 2, 2, 3])
  assert np.all(sv[0] < 1e-8)  # beta above every threshold: collapse despite lam > 0


def test_grid_equals_plain_loop(small, grid):
  prob, _, b0, w0 = small
  betas, lams, res = grid
  for c in range(len(betas)):
    for i in range(b0.shape[0]):
      one = fixed_point.solve(
        prob,
        b0[i],
        w0[i],
        beta=betas[c],
        lam=lams[c],
        tol=jnp.asarray(1e-9),
        max_iters=jnp.asarray(20_000),
      )
      assert int(one.iterations) == int(res.iterations[c, i])
      for a, b in zip(one.params, jax.tree.map(lambda x: x[c, i], res.params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12)


def test_grid_compiles_once_for_all_cells(small, grid):
  """New (beta, lambda) values of the same grid shape trace and compile nothing."""
  prob, _, b0, w0 = small
  betas, lams, res = grid
  events = []

  def listener(name, *args, **kwargs):
    events.append(name)

  args = jax.block_until_ready(
    (betas[::-1] * 1.5, lams[::-1] + 1.0, jnp.asarray(1e-9), jnp.asarray(40, jnp.int32))
  )
  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    again = fixed_point.solve_grid(prob, b0, w0, *args, num_lanes=4, num_threads=2)
    jax.block_until_ready(again)
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
  assert not [e for e in events if "trace" in e or "compile" in e], events
  assert not np.array_equal(np.asarray(again.iterations), np.asarray(res.iterations))


def test_gain_contracts_by_one_over_beta(small):
  prob, _, b0, w0 = small
  betas = jnp.array([2.0, 4.0, 8.0, 32.0, 4.0])
  lams = jnp.array([0.0, 0.0, 0.0, 0.0, 2.0])
  gains = np.asarray(
    contraction.gain_trajectory_grid(prob, b0[0], w0[0], betas, lams, num_iterations=40)
  )
  for c in range(4):
    ratios = gains[c, 10:] / gains[c, 9:-1]
    np.testing.assert_allclose(ratios, 1.0 / float(betas[c]), rtol=0.02)
  assert gains[4, -1] > 0.1 and abs(gains[4, -1] / gains[4, -2] - 1) < 1e-3

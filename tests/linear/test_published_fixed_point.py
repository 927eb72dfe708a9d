"""The fixed-point solver against the authors' loop and their printed figure.

``lbvae.linear.reference`` transcribes the published iteration (dense n x n
inverses, decoder first, two stopping tests, one start at a time); the solver
under test uses Woodbury, a reduced basis and vector lanes. The published cells
are the means over the authors' 50 starts (arXiv 2602.09277, linear figure).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae.linear import fixed_point
from lbvae.linear import objective
from lbvae.linear import problem as problem_lib
from lbvae.linear import protocol
from lbvae.linear import published
from lbvae.linear import reference


@pytest.fixture(scope="module")
def draws():
  return published.replay()


def _start(draws, n, i):
  d = draws[n]
  sy = np.asarray(problem_lib.sigma_y(d.problem))
  return d.problem, sy, d.fixed_point[0][i], d.fixed_point[1][i]


def _solve(prob, b0, w0, beta, lam, tol, max_iters):
  f64 = lambda x: jnp.asarray(x, jnp.float64)
  return fixed_point.solve(
    protocol.as_jax(prob),
    f64(b0),
    f64(w0),
    beta=f64(beta),
    lam=f64(lam),
    tol=f64(tol),
    max_iters=jnp.asarray(max_iters, jnp.int32),
  )


def _assert_state(got, want):
  for g, w in zip(got, want):
    w = np.asarray(w)
    np.testing.assert_allclose(np.asarray(g), w, rtol=1e-9, atol=1e-9 * np.abs(w).max())


@pytest.mark.parametrize(
  "beta,lam,init", [(1.0, 0.0, 0), (1.0, 2.0, 1), (4.0, 0.0, 2), (32.0, 8.0, 3)]
)
def test_trajectory_equals_the_published_loop_step_for_step(draws, beta, lam, init):
  prob, sy, b0, w0 = _start(draws, 50, init)
  want = list(reference.trajectory(sy, b0, w0, beta=beta, lam=lam, length=7))
  for k, state in enumerate(want, start=1):
    got = _solve(prob, b0, w0, beta, lam, -1.0, k)
    assert int(got.iterations) == k
    _assert_state(got.params, state)


@pytest.mark.parametrize(
  "beta,lam,cap",
  [(1.0, 2.0, 301), (1.0, 4.0, 300), (4.0, 2.0, 50_000), (16.0, 0.0, 50_000)],
)
def test_stopping_rule_and_cap_equal_the_published_loop(draws, beta, lam, cap):
  """Odd caps end on a decoder step, even ones on an encoder step."""
  prob, sy, b0, w0 = _start(draws, 50, 4)
  *state, used = reference.solve(
    sy, b0, w0, beta=beta, lam=lam, tol=1e-6, max_iters=cap
  )
  got = _solve(prob, b0, w0, beta, lam, 1e-6, cap)
  assert int(got.iterations) == used
  assert bool(got.converged) == (used < cap)
  _assert_state(got.params, state)


@pytest.mark.parametrize(
  "n,beta,lam,want",
  [
    (50, 1.0, 0.0, (3.931, 0.144, 1.024)),
    (50, 32.0, 2.0, (8.662, 0.105, 0.706)),
    (100, 4.0, 2.0, (-1.123, 0.154, 1.166)),
  ],
)
def test_published_cells(draws, n, beta, lam, want):
  """Mean R, SAP and I_m over the 50 published starts, to the printed decimals."""
  d = draws[n]
  tol, cap = (1e-6, 50_000) if n == 50 else (1e-5, 100_000)
  prob = protocol.as_jax(d.problem)
  b0, w0 = (jnp.asarray(x) for x in d.fixed_point)
  res = fixed_point.solve_grid(
    prob,
    b0,
    w0,
    jnp.array([beta]),
    jnp.array([lam]),
    jnp.asarray(tol),
    jnp.asarray(cap, jnp.int32),
    num_lanes=64,
    num_threads=2,
  )
  assert bool(np.all(np.asarray(res.converged)))
  values = protocol.score(jax.tree.map(lambda x: x[0], res.params), prob)
  got = (np.mean(values["recon"]), np.mean(values["sap"]), np.mean(values["im"]))
  np.testing.assert_allclose(got, want, rtol=0, atol=5e-4)


def test_long_capped_beta1_run_equals_the_published_loop(draws):
  """beta = 1, lambda > 0 drifts towards Sigma_W -> 0 until the cap; the decoder's
  precision matrix grows ill-conditioned, and inverses that lose digits there
  (Gauss-Jordan without pivoting) drift away from the loop by ~1e-6 in R here."""
  prob, sy, b0, w0 = _start(draws, 50, 0)
  *state, used = reference.solve(
    sy, b0, w0, beta=1.0, lam=2.0, tol=1e-6, max_iters=5000
  )
  got = _solve(prob, b0, w0, 1.0, 2.0, 1e-6, 5000)
  assert int(got.iterations) == used == 5000
  jprob = protocol.as_jax(prob)
  want = objective.recon(objective.Params(*(jnp.asarray(x) for x in state)), jprob)
  np.testing.assert_allclose(
    float(objective.recon(got.params, jprob)), float(want), rtol=0, atol=1e-9
  )

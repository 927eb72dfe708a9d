"""Closed-form R, K, D against Monte Carlo sampling of the model (arXiv 2602.09277)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae.linear import objective
from lbvae.linear import problem as problem_lib


def _spd(rng, d, scale=1.0):
  m = rng.normal(size=(d, d))
  return scale * (m @ m.T / d + 0.3 * np.eye(d))


@pytest.fixture(scope="module")
def model():
  rng = np.random.default_rng(3)
  n, m, s = 6, 3, 2
  prob = problem_lib.Problem(
    rng.normal(size=(n, s)), np.diag(rng.uniform(0.1, 1, s)), np.float64(0.05)
  )
  params = objective.Params(
    0.5 * rng.normal(size=(n, m)),
    0.5 * rng.normal(size=(m, n)),
    _spd(rng, n, 0.5),
    _spd(rng, m, 0.3),
  )
  return prob, params


def _log_normal(x, mean, cov):
  """log N(x; mean, cov) for rows of x: float64[N]."""
  d = cov.shape[0]
  chol = np.linalg.cholesky(cov)
  white = np.linalg.solve(chol, (x - mean).T)
  return (
    -0.5 * np.sum(white**2, axis=0)
    - np.sum(np.log(np.diag(chol)))
    - 0.5 * d * np.log(2 * np.pi)
  )


def test_terms_match_monte_carlo(model):
  prob, p = model
  rng = np.random.default_rng(0)
  num = 400_000
  jprob = problem_lib.Problem(*map(jnp.asarray, prob))
  sigma_y = np.asarray(problem_lib.sigma_y(jprob))
  y = rng.multivariate_normal(np.zeros(prob.n), sigma_y, size=num)
  x = y @ p.B.T + rng.multivariate_normal(np.zeros(p.B.shape[0]), p.sigma_w, size=num)
  recon = -_log_normal(y, x @ p.A.T, p.sigma_z)
  kl = _log_normal(x, y @ p.B.T, p.sigma_w) - _log_normal(x, 0.0, np.eye(p.B.shape[0]))
  l2 = np.sum((y - x @ p.A.T) ** 2, axis=1)
  closed = objective.terms(
    objective.Params(*map(jnp.asarray, p)), problem_lib.Problem(*map(jnp.asarray, prob))
  )
  for name, samples in (("recon", recon), ("kl", kl), ("l2", l2)):
    err = samples.std() / np.sqrt(num)
    assert abs(samples.mean() - float(getattr(closed, name))) < 5 * err, name


def test_terms_reject_a_wrong_model(model):
  """The check can fail: a perturbed decoder moves R beyond sampling error."""
  prob, p = model
  jp = problem_lib.Problem(*map(jnp.asarray, prob))
  r0 = objective.recon(objective.Params(*map(jnp.asarray, p)), jp)
  perturbed = objective.Params(jnp.asarray(p.A) * 1.05, *map(jnp.asarray, p[1:]))
  r1 = objective.recon(perturbed, jp)
  assert abs(float(r1 - r0)) > 1e-3


def test_total_combines_terms_and_jit_agrees(model):
  prob, p = model
  jp = problem_lib.Problem(*map(jnp.asarray, prob))
  params = objective.Params(*map(jnp.asarray, p))
  t = objective.terms(params, jp)
  total = objective.total(params, jp, beta=4.0, lam=2.0)
  assert np.isclose(float(total), float(t.recon + 4 * t.kl + 2 * t.l2), rtol=1e-13)
  jitted = jax.jit(objective.total)(params, jp, beta=4.0, lam=2.0)
  assert np.isclose(float(jitted), float(total), rtol=1e-12)
  assert float(objective.total(params, jp, beta=4.0, lam=0.0)) == pytest.approx(
    float(t.recon + 4 * t.kl), rel=1e-13
  )
  assert total.dtype == jnp.float64


def test_recon_matches_spec_expanded_form(model):
  """R equals the paper's trace expression written with explicit inverses."""
  prob, p = model
  sy = np.asarray(problem_lib.sigma_y(problem_lib.Problem(*map(jnp.asarray, prob))))
  zi = np.linalg.inv(p.sigma_z)
  sx = p.B @ sy @ p.B.T + p.sigma_w
  n = prob.n
  expected = 0.5 * (
    np.trace(zi @ sy)
    - 2 * np.trace(zi @ p.A @ p.B @ sy)
    + np.trace(p.A.T @ zi @ p.A @ sx)
    + n * np.log(2 * np.pi)
    + np.linalg.slogdet(p.sigma_z)[1]
  )
  got = objective.recon(
    objective.Params(*map(jnp.asarray, p)), problem_lib.Problem(*map(jnp.asarray, prob))
  )
  assert float(got) == pytest.approx(expected, rel=1e-11)

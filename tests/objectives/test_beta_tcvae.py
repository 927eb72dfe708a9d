"""β-TCVAE's KL decomposition (lbvae.objectives.beta_tcvae) against closed forms.

Chen et al. (2018) split the KL term into index-code MI, total correlation and
dimension-wise KL, with log q(z) estimated on the minibatch. On a population whose
aggregate posterior is Gaussian and known -- μ(n) ~ N(0, Σ_μ), q(z|n) = N(μ(n),
diag s) so q(z) = N(0, Σ_μ + diag s) -- the three parts have closed forms, and both
estimators must approach them as the batch grows.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import losses
from lbvae.objectives import beta_tcvae

JIT = [pytest.param(False, id="eager"), pytest.param(True, id="jit")]
PARTS = ("index_code_mi", "total_correlation", "dimension_kl")
A = np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.3, -0.5, 0.7]])
COV_MU = A @ A.T
S = np.array([0.3, 0.5, 0.2])  # the posterior variances, per latent
POPULATION = 10**9  # N: the batch is a sample of a population


def closed_forms():
  """MI, TC and dimension-wise KL (nats) of the Gaussian population."""
  cov_z = COV_MU + np.diag(S)
  logdet = np.linalg.slogdet(cov_z)[1]
  var = np.diag(cov_z)
  return {
    "index_code_mi": 0.5 * logdet - 0.5 * np.log(S).sum(),
    "total_correlation": 0.5 * np.log(var).sum() - 0.5 * logdet,
    "dimension_kl": 0.5 * (var - 1.0 - np.log(var)).sum(),
  }


def gaussian_batch(rng, size):
  mu = rng.multivariate_normal(np.zeros(3), COV_MU, size=size).astype(np.float32)
  logvar = np.broadcast_to(np.log(S), (size, 3)).astype(np.float32)
  z = (mu + np.sqrt(S) * rng.normal(size=(size, 3))).astype(np.float32)
  return mu, logvar, z


def mean_estimates(estimator, size, reps, seed):
  rng = np.random.default_rng(seed)
  fn = jax.jit(beta_tcvae.decomposition, static_argnames=("dataset_size", "estimator"))
  got = [
    fn(*gaussian_batch(rng, size), dataset_size=POPULATION, estimator=estimator)
    for _ in range(reps)
  ]
  return {k: float(np.mean([float(g[k]) for g in got])) for k in PARTS}


@pytest.mark.parametrize("estimator", beta_tcvae.ESTIMATORS)
def test_estimates_approach_the_closed_forms_as_the_batch_grows(estimator):
  want = closed_forms()
  assert want["total_correlation"] > 0.2  # a correlated code: TC is not ~0
  small = mean_estimates(estimator, 16, reps=8, seed=1)
  large = mean_estimates(estimator, 2048, reps=8, seed=2)
  err_small = max(abs(small[k] - want[k]) for k in PARTS)
  err_large = max(abs(large[k] - want[k]) for k in PARTS)
  for k in PARTS:
    assert abs(large[k] - want[k]) < 0.04, (k, large[k], want[k])
  assert err_large < err_small / 3, (err_small, err_large)


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("estimator", beta_tcvae.ESTIMATORS)
def test_the_three_parts_add_up_to_the_kl_term(jit, estimator):
  """MI + TC + dim-KL is the batch-mean closed-form KL (whatever the batch), so its
  expectation is the KL term's."""
  rng = np.random.default_rng(3)
  mu = rng.normal(size=(64, 5)).astype(np.float32)
  logvar = (0.5 * rng.normal(size=(64, 5)) - 1.0).astype(np.float32)
  z = (mu + np.exp(0.5 * logvar) * rng.normal(size=(64, 5))).astype(np.float32)
  fn = lambda *a: beta_tcvae.decomposition(
    *a, dataset_size=737_280, estimator=estimator
  )
  d = (jax.jit(fn) if jit else fn)(mu, logvar, z)
  kl = float(jnp.mean(losses.gaussian_kl(mu, logvar)))
  np.testing.assert_allclose(sum(float(d[k]) for k in PARTS), kl, rtol=1e-5)


def test_estimators_match_a_direct_numpy_transcription():
  """log q(z_i) = log Σ_j w_ij Π_l N(z_il; μ_jl, σ²_jl), with the weights written out
  from Chen et al. (MWS: 1/B; MSS: 1/N on the diagonal, (N − M)/(NM) once beside
  it, 1/M elsewhere, M = B − 1)."""
  rng = np.random.default_rng(4)
  b, n = 5, 40
  mu = rng.normal(size=(b, 2))
  logvar = 0.3 * rng.normal(size=(b, 2))
  z = mu + np.exp(0.5 * logvar) * rng.normal(size=(b, 2))
  dens = np.exp(-0.5 * (z[:, None] - mu[None]) ** 2 / np.exp(logvar[None])) / np.sqrt(
    2 * np.pi * np.exp(logvar[None])
  )  # [i, j, l]
  m = b - 1
  mss = np.full((b, b), 1.0 / m)
  for i in range(b):
    mss[i, i] = 1.0 / n
    mss[i, (i + 1) % b] = (n - m) / (n * m)
  for name, w in (("mws", np.full((b, b), 1.0 / b)), ("mss", mss)):
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)
    want_qz = np.log((w * dens.prod(-1)).sum(1))
    want_prod = np.log((w[:, :, None] * dens).sum(1)).sum(-1)
    got_qz, got_prod = beta_tcvae.aggregate_log_densities(
      *(jnp.asarray(a, jnp.float32) for a in (z, mu, logvar)),
      dataset_size=n,
      estimator=name,
    )
    np.testing.assert_allclose(got_qz, want_qz, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_prod, want_prod, rtol=1e-5, atol=1e-5)


def test_beta_weighs_only_the_total_correlation():
  """L = NLL + KL + (β − 1)·TC: at β = 1 the β-VAE's loss; the β-derivative is TC."""
  objective = beta_tcvae.BetaTCVAE(dataset_size=1000, estimator="mss")
  rng = np.random.default_rng(5)
  logits = jnp.asarray(rng.normal(size=(8, 4, 4, 1)), jnp.float32)
  x = jnp.asarray(rng.random((8, 4, 4, 1)) > 0.5, jnp.float32)
  mu, logvar, z = (jnp.asarray(a) for a in gaussian_batch(rng, 8))
  loss = lambda b: objective.loss(
    logits, x, mu, logvar, z, strength=b, step=0, state={}
  )
  one, parts = loss(1.0)
  nll = jnp.mean(losses.bernoulli_nll(logits, x))
  np.testing.assert_allclose(one, nll + parts["kl"], rtol=1e-6)
  slope = jax.grad(lambda b: loss(b)[0])(4.0)
  np.testing.assert_allclose(slope, parts["total_correlation"], rtol=1e-6)
  assert math.isfinite(float(parts["index_code_mi"]))

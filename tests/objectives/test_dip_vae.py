"""DIP-VAE's covariance penalties (lbvae.objectives.dip_vae) against NumPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import losses
from lbvae.objectives import dip_vae

JIT = [pytest.param(False, id="eager"), pytest.param(True, id="jit")]


def numpy_penalties(cov):
  off = cov - np.diag(np.diag(cov))
  return (off**2).sum(), ((np.diag(cov) - 1.0) ** 2).sum()


@pytest.mark.parametrize("jit", JIT)
def test_penalties_match_numpy(jit):
  rng = np.random.default_rng(0)
  mu = rng.normal(size=(32, 4)) @ rng.normal(size=(4, 4)) + 3.0
  logvar = rng.normal(size=(32, 4)) - 1.0
  fn = lambda m, lv: dip_vae.covariance_penalties(dip_vae.code_covariance(m, lv))
  fn = jax.jit(fn) if jit else fn
  cov_i = np.cov(mu, rowvar=False, bias=True)  # Cov[μ], divided by B
  cov_ii = cov_i + np.diag(np.exp(logvar).mean(axis=0))  # + E[diag σ²]
  for lv, cov in ((None, cov_i), (logvar, cov_ii)):
    got = fn(
      jnp.asarray(mu, jnp.float32), None if lv is None else jnp.asarray(lv, jnp.float32)
    )
    np.testing.assert_allclose(got, numpy_penalties(cov), rtol=1e-4)


def whitened(rng, size, dim):
  """float64[size, dim] whose batch covariance is exactly the identity."""
  a = rng.normal(size=(size, dim))
  a -= a.mean(axis=0)
  chol = np.linalg.cholesky(a.T @ a / size)
  return a @ np.linalg.inv(chol).T + 5.0  # a mean shift changes nothing


def test_zero_for_a_code_with_identity_covariance():
  rng = np.random.default_rng(1)
  mu = whitened(rng, 64, 5)
  np.testing.assert_allclose(np.cov(mu, rowvar=False, bias=True), np.eye(5), atol=1e-12)
  off, diag = dip_vae.covariance_penalties(
    dip_vae.code_covariance(jnp.asarray(mu, jnp.float32))
  )
  assert float(off) < 1e-10 and float(diag) < 1e-10
  # DIP-VAE-II: Cov[μ] = (1 − s) I and σ² = s give Cov[z] = I.
  s = 0.36
  off, diag = dip_vae.covariance_penalties(
    dip_vae.code_covariance(
      jnp.asarray(np.sqrt(1 - s) * mu, jnp.float32),
      jnp.full((64, 5), np.log(s), jnp.float32),
    )
  )
  assert float(off) < 1e-10 and float(diag) < 1e-10
  # ... while DIP-VAE-I on the same means sees a diagonal of 1 − s.
  off, diag = dip_vae.covariance_penalties(
    dip_vae.code_covariance(jnp.asarray(np.sqrt(1 - s) * mu, jnp.float32))
  )
  np.testing.assert_allclose(float(diag), 5 * s**2, rtol=1e-4)


@pytest.mark.parametrize("kind,factor", [("i", 10.0), ("ii", 1.0)])
def test_loss_weights_the_penalties_by_lambda_od_and_lambda_d(kind, factor):
  rng = np.random.default_rng(2)
  logits = jnp.asarray(rng.normal(size=(16, 4, 4, 1)), jnp.float32)
  x = jnp.asarray(rng.random((16, 4, 4, 1)) > 0.5, jnp.float32)
  mu = jnp.asarray(rng.normal(size=(16, 3)), jnp.float32)
  logvar = jnp.asarray(rng.normal(size=(16, 3)) - 1, jnp.float32)
  objective = dip_vae.DIPVAE(kind=kind)
  total, parts = objective.loss(
    logits, x, mu, logvar, None, strength=5.0, step=0, state={}
  )
  nll = jnp.mean(losses.bernoulli_nll(logits, x))
  want = (
    nll
    + parts["kl"]
    + 5.0 * parts["cov_off_diagonal"]
    + factor * 5.0 * parts["cov_diagonal"]
  )
  np.testing.assert_allclose(total, want, rtol=1e-6)
  cov = np.cov(np.asarray(mu), rowvar=False, bias=True)
  if kind == "ii":
    cov = cov + np.diag(np.exp(np.asarray(logvar)).mean(axis=0))
  np.testing.assert_allclose(
    [parts["cov_off_diagonal"], parts["cov_diagonal"]], numpy_penalties(cov), rtol=1e-4
  )
  assert objective.name == f"dip_vae_{kind}"

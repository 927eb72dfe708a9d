"""Posterior-aware MI (Chen et al., 2018): known channels, pure noise, collapse."""

import functools

import jax
import numpy as np
import pytest
from scipy import integrate
from scipy import stats

from lbvae import metrics
from lbvae.metrics import posterior_mi


def mixture_channel_mi(means: np.ndarray, sigma: float) -> float:
  """Exact I(z; v) for v uniform over K classes and z | v ~ N(means[v], sigma²).

  I = H(z) − H(z | v) with H(z | v) = ½ log(2πe σ²) and H(z) of the equal-weight
  Gaussian mixture, integrated numerically.
  """

  def density(z):
    return stats.norm.pdf(z, means[:, None], sigma).mean(axis=0)

  def integrand(z):
    p = density(np.atleast_1d(z))[0]
    return -p * np.log(p) if p > 0 else 0.0

  lo, hi = means.min() - 10 * sigma, means.max() + 10 * sigma
  h_z, _ = integrate.quad(
    integrand, lo, hi, limit=400, points=list(np.linspace(lo, hi, 50))
  )
  return h_z - 0.5 * np.log(2 * np.pi * np.e * sigma**2)


def channel_code(rng, factors, *, gain, sigma, num_latents=3):
  """Latent 0 carries factor 0 through a Gaussian channel; the others are prior."""
  n = factors.shape[0]
  mu = np.zeros((n, num_latents), np.float32)
  logvar = np.zeros((n, num_latents), np.float32)
  mu[:, 0] = gain * (factors[:, 0] - factors[:, 0].mean())
  logvar[:, 0] = 2 * np.log(sigma)
  return mu, logvar


def stratified_factors(rng, n, sizes):
  return np.stack(
    [rng.permutation(np.resize(np.arange(k), n)) for k in sizes], axis=1
  ).astype(np.int32)


SIZES = (4, 3)


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("gain,sigma", [(1.0, 1.0), (2.0, 0.5), (0.3, 1.0)])
def test_gaussian_channel_converges_to_its_mutual_information(gain, sigma, jit):
  rng = np.random.default_rng(0)
  factors = stratified_factors(rng, 2400, SIZES)
  mu, logvar = channel_code(rng, factors, gain=gain, sigma=sigma)
  fn = functools.partial(metrics.posterior_mutual_info, factor_sizes=SIZES, num_draws=4)
  fn = jax.jit(fn) if jit else fn
  mi = np.asarray(fn(mu, logvar, factors, jax.random.key(1)))
  means = gain * (np.arange(SIZES[0]) - (SIZES[0] - 1) / 2)
  exact = mixture_channel_mi(means, sigma)
  assert 0.01 < exact < np.log(SIZES[0])
  np.testing.assert_allclose(mi[0, 0], exact, atol=0.03, rtol=0.03)
  # The other factor and the other latents carry nothing.
  assert mi[0, 1] < 0.01
  np.testing.assert_allclose(mi[1:], 0.0, atol=1e-6)


def test_estimate_tightens_with_the_sample_size():
  means = 1.0 * (np.arange(SIZES[0]) - 1.5)
  exact = mixture_channel_mi(means, 1.0)
  errors = []
  for n in (120, 2400):
    rng = np.random.default_rng(3)
    err = []
    for rep in range(4):
      factors = stratified_factors(rng, n, SIZES)
      mu, logvar = channel_code(rng, factors, gain=1.0, sigma=1.0)
      mi = metrics.posterior_mutual_info(
        mu, logvar, factors, jax.random.key(rep), factor_sizes=SIZES
      )
      err.append(abs(float(mi[0, 0]) - exact))
    errors.append(np.mean(err))
  assert errors[1] < errors[0]
  assert errors[1] < 0.03


def test_pure_noise_has_zero_information():
  """q(z|x) = N(0, 1) for every image: every log-density term is the same."""
  rng = np.random.default_rng(1)
  factors = stratified_factors(rng, 600, SIZES)
  mu = np.zeros((600, 5), np.float32)
  logvar = np.zeros((600, 5), np.float32)
  out = metrics.posterior_scores(
    mu, logvar, factors, jax.random.key(0), factor_sizes=SIZES
  )
  np.testing.assert_allclose(out["mi_posterior"], 0.0, atol=1e-6)
  assert float(out["mig_posterior"]) == pytest.approx(0.0, abs=1e-6)
  assert float(out["im_posterior"]) == pytest.approx(0.0, abs=1e-5)


def test_a_collapsed_latent_fools_the_histogram_but_not_the_posterior_estimate():
  """μ carries the factor at 1 % of the noise: binned μ says ~H(v), truth is ~0."""
  rng = np.random.default_rng(2)
  factors = stratified_factors(rng, 2400, SIZES)
  mu, logvar = channel_code(rng, factors, gain=0.01, sigma=1.0)
  binned = np.asarray(metrics.mutual_info_matrix(mu, factors, factor_sizes=SIZES))
  post = np.asarray(
    metrics.posterior_mutual_info(
      mu, logvar, factors, jax.random.key(0), factor_sizes=SIZES
    )
  )
  means = 0.01 * (np.arange(SIZES[0]) - 1.5)
  assert mixture_channel_mi(means, 1.0) < 1e-3
  assert binned[0, 0] > 0.9 * np.log(SIZES[0])
  assert post[0, 0] < 0.01


def test_scores_match_mig_and_im_on_the_estimated_matrix():
  rng = np.random.default_rng(4)
  factors = stratified_factors(rng, 1200, SIZES)
  mu, logvar = channel_code(rng, factors, gain=2.0, sigma=0.5)
  mu[:, 1] = 2.0 * (factors[:, 1] - 1)
  logvar[:, 1] = np.log(0.25)
  key = jax.random.key(5)
  out = jax.jit(functools.partial(metrics.posterior_scores, factor_sizes=SIZES))(
    mu, logvar, factors, key
  )
  mi = np.asarray(out["mi_posterior"])
  entropy = np.asarray(metrics.factor_entropy(factors, factor_sizes=SIZES))
  top2 = np.sort(mi, axis=0)[::-1][:2]
  np.testing.assert_allclose(
    out["mig_posterior"], np.mean((top2[0] - top2[1]) / entropy), atol=1e-5
  )
  np.testing.assert_allclose(out["im_posterior"], mi[0, 0] + mi[1, 1], atol=1e-5)


def test_vmapped_over_models_equals_one_at_a_time():
  rng = np.random.default_rng(6)
  factors = stratified_factors(rng, 240, SIZES)
  codes = [channel_code(rng, factors, gain=g, sigma=0.7) for g in (0.5, 1.5)]
  mu = np.stack([c[0] for c in codes])
  logvar = np.stack([c[1] for c in codes])
  fn = functools.partial(posterior_mi.posterior_mutual_info, factor_sizes=SIZES)
  key = jax.random.key(0)
  batched = jax.vmap(fn, in_axes=(0, 0, None, None))(mu, logvar, factors, key)
  for m in range(2):
    np.testing.assert_allclose(
      batched[m], fn(mu[m], logvar[m], factors, key), atol=1e-5
    )

"""The collapse probe: what it records for collapsed and informative encoders."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import losses
from lbvae import metrics
from lbvae.train import collapse
from lbvae.train import probe_settings

NUM_SAMPLES = 240


@pytest.fixture(scope="module")
def probe(model, dsprites):
  return collapse.CollapseProbe(model, dsprites, num_samples=NUM_SAMPLES, seed=0)


@pytest.fixture(scope="module")
def params(model):
  x = jnp.zeros((1, 64, 64, 1), jnp.float32)
  return model.init(jax.random.key(0), x, jax.random.key(1))["params"]


def with_heads(params, *, mu_scale, logvar_bias):
  """The encoder's μ head scaled by ``mu_scale``; its log-variance head constant."""
  p = jax.tree.map(lambda a: a, params)
  enc = dict(p["encoder"])
  enc["mu"] = jax.tree.map(lambda a: a * mu_scale, enc["mu"])
  enc["logvar"] = {
    "kernel": jnp.zeros_like(enc["logvar"]["kernel"]),
    "bias": jnp.full_like(enc["logvar"]["bias"], logvar_bias),
  }
  return {**p, "encoder": enc}


def stack(*trees):
  return jax.tree.map(lambda *a: jnp.stack(a), *trees)


def test_the_probe_owns_its_config_group():
  import re
  from lbvae import errors
  from lbvae.train import config as config_lib

  c = config_lib.defaults()
  assert c.collapse.to_dict() == probe_settings.probe_defaults().to_dict()
  probe_settings.check_probe(c)
  for field, lo in probe_settings.PROBE_LOWEST.items():
    c = config_lib.defaults()
    c.collapse[field] = lo - 1
    message = f"config.collapse.{field} must be an integer >= {lo}, got {lo - 1}"
    for check in (probe_settings.check_probe, config_lib.validate):
      with pytest.raises(errors.ConfigError, match=re.escape(message)):
        check(c)
  c = config_lib.defaults()
  c.collapse.active_threshold = -0.5
  with pytest.raises(
    errors.ConfigError,
    match=re.escape("config.collapse.active_threshold must be >= 0, got -0.5"),
  ):
    probe_settings.check_probe(c)


def test_sample_is_stratified_and_fixed(probe, model, dsprites):
  for j, k in enumerate(dsprites.factor_sizes):
    counts = np.bincount(probe.factors[:, j], minlength=k)
    assert counts.max() - counts.min() <= 1
  again = collapse.CollapseProbe(model, dsprites, num_samples=NUM_SAMPLES, seed=0)
  np.testing.assert_array_equal(probe.factors, again.factors)


def test_scores_match_a_direct_computation(probe, model, params):
  out = probe(stack(params))
  mu, logvar = model.apply(
    {"params": params}, losses.as_float_images(probe.images), method=model.encode
  )
  kl = np.asarray(losses.gaussian_kl_per_latent(mu, logvar)).mean(axis=0)
  np.testing.assert_allclose(out["kl_per_latent"][0], kl, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(out["kl"][0], kl.sum(), rtol=1e-4)
  sizes = tuple(probe.factor_sizes)
  mi = metrics.mutual_info_matrix(mu, probe.factors, factor_sizes=sizes)
  np.testing.assert_allclose(out["mi"][0], mi, atol=1e-5)
  np.testing.assert_allclose(out["im"][0], metrics.im_from_mutual_info(mi), atol=1e-5)


def test_prior_posterior_carries_nothing_and_a_faint_mean_fools_only_the_bins(
  probe, params
):
  """q(z|x) = N(0, 1): zero KL, no active latent, zero MI either way. A μ that
  varies at 1e-3 of the noise: the binned MI of μ stays high, the rate and the
  posterior-aware MI see that nothing gets through."""
  prior = with_heads(params, mu_scale=0.0, logvar_bias=0.0)
  faint = with_heads(params, mu_scale=1e-3, logvar_bias=0.0)
  # The untrained encoder's μ varies by ~1e-3 across images under PyTorch's
  # default initialisation; stretched 100x it stands out of σ = e^-3.
  sharp = with_heads(params, mu_scale=100.0, logvar_bias=-6.0)
  out = probe(stack(prior, faint, sharp))
  np.testing.assert_allclose(out["kl"][0], 0.0, atol=1e-6)
  assert out["active_latents"][0] == 0
  np.testing.assert_allclose(out["mi_posterior"][0], 0.0, atol=1e-6)
  np.testing.assert_allclose(out["mi"][0], 0.0, atol=1e-6)
  assert out["kl"][1] < 1e-3 and out["active_latents"][1] == 0
  assert out["im"][1] > 1.0  # the bins stretch a tiny μ range
  assert out["im_posterior"][1] < 0.02
  # Sharp posteriors (σ = e^-3) around the stretched μ: every latent is
  # active and the posterior-aware MI sees what μ carries.
  assert out["active_latents"][2] == 10
  assert (
    out["im_posterior"][2] > 0.1
    and out["im_posterior"][2] > 10 * out["im_posterior"][1]
  )


def test_without_factors_the_probe_records_the_rate_and_nan_scores(model, params):
  from lbvae.data import image_set

  images = np.random.default_rng(0).integers(0, 256, (50, 64, 64, 1), dtype=np.uint8)
  ds = image_set.ImageSet("arrays", images, "file", "test")
  probe = collapse.CollapseProbe(model, ds, num_samples=80, seed=0)
  assert probe.images.shape == (50, 64, 64, 1)  # all 50, each once
  np.testing.assert_array_equal(
    np.sort(probe.images[:, 0, 0, 0]), np.sort(images[:, 0, 0, 0])
  )
  out = probe(stack(params, with_heads(params, mu_scale=0.0, logvar_bias=0.0)))
  assert np.all(out["kl"][0] > 0) and out["kl"][1] < 1e-6
  assert out["mi"].shape == (2, 10, 0) and out["mi_posterior"].shape == (2, 10, 0)
  for k in ("mig", "im", "mig_posterior", "im_posterior"):
    assert np.isnan(out[k]).all()

"""The λβ-VAE losses (lbvae.losses) against hand-computed values and Monte Carlo."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import losses

JIT = [pytest.param(False, id="eager"), pytest.param(True, id="jit")]


def maybe_jit(fn, jit):
  return jax.jit(fn) if jit else fn


def pixels(values):
  """float32[1, 1, W, 1] image from a list of pixel values."""
  return jnp.asarray(values, jnp.float32).reshape(1, 1, -1, 1)


@pytest.mark.parametrize("jit", JIT)
def test_bernoulli_nll_by_hand(jit):
  nll = maybe_jit(losses.bernoulli_nll, jit)
  got = nll(pixels([0.0, 2.0, -3.0]), pixels([1.0, 0.0, 1.0]))
  want = math.log(2) + math.log1p(math.exp(2)) + math.log1p(math.exp(3))
  np.testing.assert_allclose(got, [want], rtol=1e-6)
  # Stable in the logits: -log sigmoid(100) ~ 0 and -log(1 - sigmoid(100)) = 100.
  np.testing.assert_allclose(nll(pixels([100.0]), pixels([1.0])), [0.0], atol=1e-6)
  np.testing.assert_allclose(nll(pixels([100.0]), pixels([0.0])), [100.0], rtol=1e-6)
  # Soft targets: x = 0.5 at logit 0 is log 2 per pixel.
  np.testing.assert_allclose(
    nll(pixels([0.0]), pixels([0.5])), [math.log(2)], rtol=1e-6
  )


@pytest.mark.parametrize("jit", JIT)
def test_gaussian_kl_by_hand(jit):
  kl = maybe_jit(losses.gaussian_kl, jit)
  mu = jnp.asarray([[1.0, 0.0], [0.0, 0.0]])
  logvar = jnp.asarray([[0.0, math.log(2.0)], [0.0, 0.0]])
  # -1/2 [(1 + 0 - 1 - 1) + (1 + log 2 - 0 - 2)] = 1 - log(2) / 2; the prior itself: 0.
  np.testing.assert_allclose(
    kl(mu, logvar), [1 - math.log(2) / 2, 0.0], rtol=1e-6, atol=1e-7
  )


def test_gaussian_kl_matches_monte_carlo():
  rng = np.random.default_rng(0)
  mu = rng.normal(size=(1, 4)).astype(np.float32)
  logvar = rng.normal(scale=0.5, size=(1, 4)).astype(np.float32)
  z = mu + np.exp(logvar / 2) * rng.normal(size=(400_000, 4))
  log_q = -0.5 * (((z - mu) ** 2) / np.exp(logvar) + logvar + math.log(2 * math.pi))
  log_p = -0.5 * (z**2 + math.log(2 * math.pi))
  mc = np.mean(np.sum(log_q - log_p, axis=1))
  np.testing.assert_allclose(losses.gaussian_kl(mu, logvar)[0], mc, atol=0.01)


@pytest.mark.parametrize("jit", JIT)
def test_l2_penalty_by_hand(jit):
  l2 = maybe_jit(losses.l2_penalty, jit)
  # sigmoid(0) = 0.5 vs 1 -> 0.25; sigmoid(log 3) = 0.75 vs 0 -> 0.5625.
  got = l2(pixels([0.0, math.log(3.0)]), pixels([1.0, 0.0]))
  np.testing.assert_allclose(got, [0.8125], rtol=1e-6)


def batch():
  """Two examples with hand-checkable terms: logits (2, 1, 2, 1), latents (2, 2)."""
  logits = jnp.asarray([[0.0, math.log(3.0)], [0.0, 0.0]]).reshape(2, 1, 2, 1)
  x = jnp.asarray([[1.0, 0.0], [0.0, 0.0]]).reshape(2, 1, 2, 1)
  mu = jnp.asarray([[1.0, 0.0], [0.0, 0.0]])
  logvar = jnp.asarray([[0.0, math.log(2.0)], [0.0, 0.0]])
  nll = np.asarray(
    [math.log(2) + math.log(4), 2 * math.log(2)]
  )  # -log(1 - 0.75) = log 4
  kl = np.asarray([1 - math.log(2) / 2, 0.0])
  l2 = np.asarray([0.8125, 0.5])
  return (logits, x, mu, logvar), (nll, kl, l2)


@pytest.mark.parametrize("jit", JIT)
def test_lambda_beta_loss_by_hand(jit):
  args, (nll, kl, l2) = batch()
  fn = maybe_jit(lambda *a: losses.lambda_beta_loss(*a, beta=4.0, lam=2.0), jit)
  total, aux = fn(*args)
  np.testing.assert_allclose(aux["nll"], nll.mean(), rtol=1e-6)
  np.testing.assert_allclose(aux["kl"], kl.mean(), rtol=1e-6)
  np.testing.assert_allclose(aux["l2"], l2.mean(), rtol=1e-6)
  want = nll.mean() + 4.0 * kl.mean() + 2.0 * l2.mean()
  np.testing.assert_allclose(total, want, rtol=1e-6)
  assert aux["loss"] == total
  nll_t, kl_t, l2_t = losses.terms(*args)
  np.testing.assert_allclose(nll_t, nll, rtol=1e-6)
  np.testing.assert_allclose(kl_t, kl, rtol=1e-6)
  np.testing.assert_allclose(l2_t, l2, rtol=1e-6)


def random_batch(seed=0):
  k = jax.random.split(jax.random.key(seed), 4)
  logits = 3 * jax.random.normal(k[0], (3, 8, 8, 1))
  x = (jax.random.uniform(k[1], (3, 8, 8, 1)) > 0.7).astype(jnp.float32)
  mu = jax.random.normal(k[2], (3, 5))
  logvar = 0.3 * jax.random.normal(k[3], (3, 5))
  return logits, x, mu, logvar


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("lam", [0.0, jnp.float32(0.0)], ids=["python", "array"])
def test_lambda_zero_is_beta_vae_bit_for_bit(jit, lam):
  args = random_batch()

  def lb(*a):
    return losses.lambda_beta_loss(*a, beta=jnp.float32(6.0), lam=lam)[0]

  def b(logits, x, mu, logvar):  # L_β written out from the three terms
    nll, kl, _ = losses.terms(logits, x, mu, logvar)
    return jnp.mean(nll) + jnp.float32(6.0) * jnp.mean(kl)

  grad = lambda f: maybe_jit(jax.value_and_grad(f, argnums=(0, 2, 3)), jit)
  (v1, g1), (v2, g2) = grad(lb)(*args), grad(b)(*args)
  assert np.asarray(v1).tobytes() == np.asarray(v2).tobytes()
  for x, y in zip(g1, g2):
    assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


def test_beta_and_lambda_are_traced_one_compilation():
  args = random_batch(1)
  traces = []

  @jax.jit
  def total(beta, lam):
    traces.append(1)
    return losses.lambda_beta_loss(*args, beta=beta, lam=lam)[0]

  grid = [(1.0, 0.0), (4.0, 2.0), (32.0, 8.0)]
  got = [float(total(jnp.float32(b), jnp.float32(l))) for b, l in grid]
  assert len(traces) == 1
  vmapped = jax.vmap(total)(
    jnp.asarray([g[0] for g in grid]), jnp.asarray([g[1] for g in grid])
  )
  np.testing.assert_allclose(vmapped, got, rtol=1e-6)
  nll, kl, l2 = (jnp.mean(t) for t in losses.terms(*args))
  np.testing.assert_allclose(got[2], nll + 32 * kl + 8 * l2, rtol=1e-6)


@pytest.mark.parametrize("jit", JIT)
def test_uint8_pixels_are_read_as_targets_in_the_unit_interval(jit):
  """Datasets serve uint8 0..255; passing them straight in gives the same loss."""
  logits, x, mu, logvar = random_batch(2)
  pixels = (np.asarray(x) * 255).astype(np.uint8)
  fn = maybe_jit(
    lambda lo, xx, m, lv: losses.lambda_beta_loss(lo, xx, m, lv, beta=4.0, lam=2.0)[0],
    jit,
  )
  np.testing.assert_allclose(
    fn(logits, pixels, mu, logvar), fn(logits, x, mu, logvar), rtol=1e-6
  )
  grey = np.full((3, 8, 8, 1), 128, np.uint8)
  np.testing.assert_allclose(losses.as_float_images(grey), 128 / 255, rtol=1e-7)

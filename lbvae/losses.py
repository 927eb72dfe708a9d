"""Per-example losses of the β-VAE and the λβ-VAE (arXiv 2602.09277, §2).

Synopsis::

    nll, kl, l2 = losses.terms(logits, x, mu, logvar)          # each float32[B]
    total, aux = losses.lambda_beta_loss(logits, x, mu, logvar, beta=b, lam=l)

    L_β  = E_q[-log p(x|z)] + β KL(q(z|x) || N(0, I))
    L_λβ = L_β + λ E_q ||x - g(z)||²,     g(z) = sigmoid(f(z)) (the decoder mean)

Every term is summed over pixels (or latent dimensions) per example, then averaged
over the batch. β and λ may be traced arrays, so one compiled step serves a whole grid.
With λ = 0 the total equals L_β bit for bit (adding ``0 * l2`` is exact for finite l2),
so :func:`lambda_beta_loss` with ``lam=0`` is the β-VAE loss; there is no second copy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def as_float_images(x):
  """Images as Bernoulli targets in [0, 1]: integer (uint8) pixels are divided by 255.

  :mod:`lbvae.data` serves uint8 images (binary dSprites as 0/255); the dtype is
  static, so the conversion is free under jit. Float input must already be in [0, 1].

  Args:
    x: uint8 (or any integer) [..., H, W, C] pixels, or float [..., H, W, C] in [0, 1].

  Returns:
    float32 array of the same shape.
  """
  x = jnp.asarray(x)
  if jnp.issubdtype(x.dtype, jnp.integer):
    return x.astype(jnp.float32) / 255.0
  return x.astype(jnp.float32)


def _sum_per_example(v):
  return jnp.sum(v.reshape(v.shape[0], -1), axis=-1)


def bernoulli_nll(logits, x):
  """-log p(x|z) for Bernoulli pixels.

  Args:
    logits: float32[B, H, W, C], decoder logits f(z).
    x: [B, H, W, C] targets: float in [0, 1], or uint8 pixels (see
      :func:`as_float_images`).

  Returns:
    float32[B], binary cross-entropy summed over pixels (stable in the logits).
  """
  x = as_float_images(x)
  bce = jnp.maximum(logits, 0) - logits * x + jnp.log1p(jnp.exp(-jnp.abs(logits)))
  return _sum_per_example(bce)


def gaussian_kl_per_latent(mu, logvar):
  """KL(N(mu_l, exp(logvar_l)) || N(0, 1)) of each latent: float32[B, L] -> [B, L]."""
  return -0.5 * (1.0 + logvar - mu**2 - jnp.exp(logvar))


def gaussian_kl(mu, logvar):
  """KL(N(mu, diag(exp(logvar))) || N(0, I)) per example: float32[B, L] -> float32[B]."""
  return jnp.sum(gaussian_kl_per_latent(mu, logvar), axis=-1)


def l2_penalty(logits, x):
  """||x - sigmoid(logits)||² summed over pixels: float32[B, ...] -> float32[B].

  ``x`` as for :func:`bernoulli_nll` (float in [0, 1] or uint8 pixels).
  """
  x = as_float_images(x)
  return _sum_per_example((x - jax.nn.sigmoid(logits)) ** 2)


def terms(logits, x, mu, logvar):
  """The three per-example terms (nll, kl, l2), each float32[B].

  ``x``: float targets in [0, 1] or uint8 pixels (:func:`as_float_images`).
  """
  x = as_float_images(x)
  return bernoulli_nll(logits, x), gaussian_kl(mu, logvar), l2_penalty(logits, x)


def lambda_beta_loss(logits, x, mu, logvar, *, beta, lam):
  """Batch-mean L_λβ and its parts.

  Args:
    logits: float32[B, H, W, C]; x: [B, H, W, C], float in [0, 1] or uint8
      pixels (converted by :func:`as_float_images`);
    mu, logvar: float32[B, L]; beta, lam: scalars (Python or traced).

  Returns:
    (total: float32[], {"nll", "kl", "l2", "loss"}: float32[] batch means).
  """
  nll, kl, l2 = terms(logits, x, mu, logvar)
  nll, kl, l2 = jnp.mean(nll), jnp.mean(kl), jnp.mean(l2)
  total = nll + beta * kl + lam * l2
  return total, {"nll": nll, "kl": kl, "l2": l2, "loss": total}

"""D and C of an importance matrix, shared by both DCI predictors (Eastwood & Williams, 2018).

R[i, j] >= 0 says how much latent i serves to predict factor j (:mod:`~lbvae.metrics.dci`:
gradient-boosted trees; :mod:`~lbvae.metrics.dci_lasso`: |LASSO weights|).
Disentanglement D weighs each latent's 1 − entropy over factors by its share of R;
completeness C is each factor's 1 − entropy over latents, weighted by its share of R
or (E&W's LASSO variant) uniformly (docs/method.md §4). Synopsis::

  d, c = disentanglement_completeness(importance)         # two float32[]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _one_minus_entropy(importance: jax.Array, axis: int) -> jax.Array:
  """1 − entropy of R + 1e-11 along ``axis``, in base = that axis's length."""
  size = importance.shape[axis]
  if size == 1:
    return jnp.ones(importance.shape[1 - axis], jnp.float32)
  probs = importance + 1e-11
  probs = probs / probs.sum(axis=axis, keepdims=True)
  return 1.0 + (probs * jnp.log(probs)).sum(axis=axis) / jnp.log(size)


def _weights(mass: jax.Array) -> jax.Array:
  total = mass.sum()
  return jnp.where(total > 0, mass / jnp.where(total > 0, total, 1.0), 1.0 / mass.size)


def disentanglement_completeness(
  importance: jax.Array, *, uniform_completeness: bool = False
) -> tuple[jax.Array, jax.Array]:
  """D and C of an importance matrix (jit-able).

  Args:
    importance: float[L, F], non-negative R.
    uniform_completeness: average the factors' completeness uniformly (E&W's
      definition) instead of weighting factor j by ρ̃_j (disentanglement_lib's).

  Returns:
    (disentanglement, completeness), float32 scalars in [0, 1]; both 0 when R is 0.
  """
  importance = jnp.asarray(importance, jnp.float32)
  if importance.size == 0:
    return jnp.zeros((), jnp.float32), jnp.zeros((), jnp.float32)
  zero = importance.sum() == 0
  per_latent = _one_minus_entropy(importance, axis=1)  # [L]
  per_factor = _one_minus_entropy(importance, axis=0)  # [F]
  d = (per_latent * _weights(importance.sum(axis=1))).sum()
  c = (
    per_factor.mean()
    if uniform_completeness
    else (per_factor * _weights(importance.sum(axis=0))).sum()
  )
  return jnp.where(zero, 0.0, d), jnp.where(zero, 0.0, c)

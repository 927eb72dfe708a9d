"""Mutual Information Gap (MIG).

Chen, Li, Grosse, Duvenaud (2018), "Isolating Sources of Disentanglement in
Variational Autoencoders": for each factor v_j, the gap between the largest and the
second-largest mutual information I(z_i; v_j) over latents, normalised by the
factor's entropy H(v_j), averaged over factors. MI and entropy are the plug-in
estimates of :mod:`lbvae.metrics.mutual_info` (docs/method.md §4: 20 equal-width bins per
latent on the train part, nats).

Synopsis::

  score = mig(latents, factors, factor_sizes=(3, 6, 40, 32, 32))
  # or, from an MI matrix already computed:
  score = mig_from_mutual_info(mi, factor_entropy(factors, factor_sizes=sizes))
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from lbvae.metrics import mutual_info


def top_two_gaps(scores: jax.Array) -> jax.Array:
  """Per column (factor), the largest minus the second-largest entry over rows.

  The gap behind MIG (on MI), SAP (on classifier accuracies) and the closed-form
  linear SAP (on squared correlations).

  Args:
    scores: float[L, F], one row per latent. With a single latent the second-largest
      is taken as 0.

  Returns:
    float[F] gaps (float32 unless ``scores`` is float64).
  """
  scores = jnp.asarray(scores)
  if not jnp.issubdtype(scores.dtype, jnp.floating):
    scores = scores.astype(jnp.float32)
  if scores.shape[0] == 1:
    return scores[0]
  top2, _ = jax.lax.top_k(scores.T, 2)
  return top2[:, 0] - top2[:, 1]


def mig_from_mutual_info(mi_matrix: jax.Array, factor_entropy: jax.Array) -> jax.Array:
  """MIG from an MI matrix and the factors' entropies.

  Factors with zero entropy (a single observed class) carry no information and are
  left out of the mean; if every factor is constant the score is 0.

  Args:
    mi_matrix: float[L, F] MI in nats.
    factor_entropy: float[F] H(v_j) in nats.

  Returns:
    float32 scalar in [0, 1].
  """
  entropy = jnp.asarray(factor_entropy, jnp.float32)
  informative = entropy > 0
  normalised = top_two_gaps(jnp.asarray(mi_matrix, jnp.float32)) / jnp.where(
    informative, entropy, 1.0
  )
  count = informative.sum()
  return jnp.where(informative, normalised, 0.0).sum() / jnp.maximum(count, 1)


def mig(
  latents: jax.Array,
  factors: jax.Array,
  *,
  num_bins: int = 20,
  factor_sizes: Sequence[int] | None = None,
) -> jax.Array:
  """Mutual Information Gap of a code.

  Args:
    latents: float[N, L] codes.
    factors: int[N, F] ground-truth class indices.
    num_bins: equal-width bins per latent.
    factor_sizes: number of classes per factor (static under jit/vmap; see
      :func:`lbvae.metrics.mutual_info.resolve_factor_sizes`).

  Returns:
    float32 scalar: mean over factors of (top − second MI) / H(v_j).
  """
  latents, factors, sizes = mutual_info.resolve_inputs(latents, factors, factor_sizes)
  mi = mutual_info.mutual_info_matrix(
    latents, factors, num_bins=num_bins, factor_sizes=sizes
  )
  entropy = mutual_info.factor_entropy(factors, factor_sizes=sizes)
  return mig_from_mutual_info(mi, entropy)

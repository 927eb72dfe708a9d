"""I_m: the best one-to-one latent-to-factor total mutual information.

arXiv 2602.09277 (§3 and §4; docs/method.md): I_m = max over one-to-one assignments π
of latents to factors of Σ_j MI(z_π(j); v_j); with L latents and F factors an
assignment pairs min(L, F) of them (as ``scipy.optimize.linear_sum_assignment`` on a
rectangular matrix). Solved exactly inside JAX by a dynamic programme over subsets of
the smaller side (Held–Karp style): rows of the larger side are visited in a
``lax.scan``, the state is the set S of columns already matched, and
``best[S ∪ {j}] = max(best[S ∪ {j}], best[S] + M[r, j])``, O(max(L, F) · min(L, F) ·
2^min(L, F)) operations; it jits and vmaps over models. Above ``MAX_EXACT_SIDE`` the
score falls back to ``linear_sum_assignment`` on the host through
``jax.pure_callback`` (still usable under jit and vmap).

Synopsis::

  score = im(latents, factors, factor_sizes=(3, 6, 40, 32, 32))     # binned MI of a code
  score = im_from_mutual_info(mi_matrix)                             # any MI matrix
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from lbvae.metrics import mutual_info

# Largest smaller side solved by the in-JAX subset programme (2^12 = 4096 states).
MAX_EXACT_SIDE = 12


def _subset_programme(scores: jax.Array) -> jax.Array:
  """Exact maximum matching value for scores float32[R, S] with S <= R."""
  num_cols = scores.shape[1]
  states = np.arange(1 << num_cols)
  col_bits = 1 << np.arange(num_cols)
  has_col = (states[None, :] & col_bits[:, None]) != 0  # [S, 2^S]
  without_col = states[None, :] ^ col_bits[:, None]  # [S, 2^S]
  start = jnp.full(states.shape, -jnp.inf, jnp.float32).at[0].set(0.0)

  def visit_row(best, row):
    candidates = jnp.where(has_col, best[without_col] + row[:, None], -jnp.inf)
    return jnp.maximum(best, candidates.max(axis=0)), None

  best, _ = jax.lax.scan(visit_row, start, scores)
  return best[-1]


def host_assignment(scores: np.ndarray) -> np.ndarray:
  """linear_sum_assignment maximum over any leading batch axes of float[..., R, S].

  On the host, in the dtype of ``scores`` (the float64 linear scores use it as is).
  """
  scores = np.asarray(scores)
  out = np.empty(scores.shape[:-2], scores.dtype)
  for index in np.ndindex(out.shape):
    rows, cols = scipy.optimize.linear_sum_assignment(scores[index], maximize=True)
    out[index] = scores[index][rows, cols].sum()
  return out


def im_from_mutual_info(mi_matrix: jax.Array) -> jax.Array:
  """Maximum total MI over one-to-one latent–factor assignments.

  Args:
    mi_matrix: float[L, F] mutual information (nats); L < F is allowed (then every
      latent is matched and F − L factors go unmatched).

  Returns:
    float32 scalar, the optimum Σ MI over min(L, F) matched pairs.
  """
  scores = jnp.asarray(mi_matrix, jnp.float32)
  if scores.shape[0] < scores.shape[1]:
    scores = scores.T
  if scores.shape[1] == 0:
    return jnp.zeros((), jnp.float32)
  if scores.shape[1] <= MAX_EXACT_SIDE:
    return _subset_programme(scores)
  return jax.pure_callback(
    host_assignment,
    jax.ShapeDtypeStruct((), jnp.float32),
    scores,
    vmap_method="expand_dims",
  )


def im(
  latents: jax.Array,
  factors: jax.Array,
  *,
  num_bins: int = 20,
  factor_sizes: Sequence[int] | None = None,
) -> jax.Array:
  """I_m of a code: the best one-to-one total of its binned plug-in MI matrix.

  Args:
    latents: float[N, L] codes (the paper: encoder means).
    factors: int[N, F] ground-truth class indices.
    num_bins: equal-width bins per latent (:func:`lbvae.metrics.mutual_info_matrix`).
    factor_sizes: classes per factor (static under jit/vmap).

  Returns:
    float32 scalar in nats.
  """
  return im_from_mutual_info(
    mutual_info.mutual_info_matrix(
      latents, factors, num_bins=num_bins, factor_sizes=factor_sizes
    )
  )

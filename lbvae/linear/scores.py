"""Closed-form disentanglement metrics of the linear-Gaussian model (arXiv 2602.09277).

Synopsis::

    from lbvae.linear import scores
    rho2 = scores.squared_correlations(B, Sigma_W, prob)      # [m, s]
    sap = scores.sap(rho2); mi = scores.gaussian_mi(rho2)
    i_m = scores.matched_mi(np.asarray(mi))                   # host, Hungarian

From cov(X, V) = B Gamma Sigma_V (m x s) and the squared correlations rho2: SAP
(Kumar et al., 2018, closed-form variant), the Gaussian MI in nats, I_m (Hungarian,
``scipy.optimize.linear_sum_assignment``, on the host), I(X; Y) and ||B||_2
(formulas: docs/theory.md §6). All but :func:`matched_mi` are pure jnp functions of
one model (vmap to batch). Scores of codes drawn from a trained model are in
:mod:`lbvae.metrics`, which shares the top-two gap and the Hungarian total.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lbvae.linear import objective
from lbvae.linear import problem as problem_lib
from lbvae.linear import spd
from lbvae.metrics import im_score
from lbvae.metrics import mutual_info_gap


def cov_xv(b: jax.Array, prob: problem_lib.Problem) -> jax.Array:
  """cov(X, V) = B Gamma Sigma_V: float64[m, s]."""
  return b @ prob.gamma @ prob.sigma_v


def squared_correlations(
  b: jax.Array, sigma_w: jax.Array, prob: problem_lib.Problem
) -> jax.Array:
  """rho2_ij = cov(x_i, v_j)^2 / (var x_i var v_j): float64[m, s] in [0, 1]."""
  var_x = jnp.diagonal(objective.sigma_x(b, sigma_w, prob))
  var_v = jnp.diagonal(prob.sigma_v)
  return cov_xv(b, prob) ** 2 / (var_x[:, None] * var_v[None, :])


def sap(rho2: jax.Array) -> jax.Array:
  """Mean over factors of (top - second) squared correlation.

  Args:
    rho2: float[m, s] (latents x factors), m >= 2.

  Returns:
    float[], in [0, 1].
  """
  return jnp.mean(mutual_info_gap.top_two_gaps(rho2))


def gaussian_mi(rho2: jax.Array) -> jax.Array:
  """MI of jointly Gaussian scalars, -1/2 log(1 - rho2): float[m, s] nats."""
  return -0.5 * jnp.log1p(-rho2)


def matched_mi(mi: np.ndarray) -> np.ndarray:
  """I_m: the Hungarian maximum of sum_ij MI_ij over one-to-one assignments.

  Args:
    mi: float[..., m, s] on the host; leading axes are batch axes.

  Returns:
    float64[...], one value per matrix.
  """
  return im_score.host_assignment(np.asarray(mi, dtype=np.float64))


def mutual_information_xy(
  b: jax.Array, sigma_w: jax.Array, prob: problem_lib.Problem
) -> jax.Array:
  """I(X; Y) = 1/2 (log det Sigma_X - log det Sigma_W), nats."""
  return 0.5 * (spd.logdet(objective.sigma_x(b, sigma_w, prob)) - spd.logdet(sigma_w))


def spectral_norm(b: jax.Array) -> jax.Array:
  """||B||_2, the largest singular value, from the m x m Gram matrix.

  B is rescaled by its largest entry first, so gains near 1e-150 (a collapsed
  encoder after a hundred iterations) do not underflow when squared.
  """
  scale = jnp.max(jnp.abs(b))
  unit = b / jnp.where(scale > 0, scale, 1.0)
  return scale * jnp.sqrt(jnp.maximum(spd.top_eigenvalue(unit @ unit.T), 0.0))

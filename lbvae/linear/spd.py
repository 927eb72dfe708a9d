"""Small symmetric positive definite matrices in plain jnp (arXiv 2602.09277 models).

Synopsis::

    from lbvae.linear import spd
    inv, logdet = spd.inv_logdet(sigma)        # sigma: float64[k, k], SPD
    lam_max = spd.top_eigenvalue(gram)         # gram: float64[k, k], PSD

``lax.fori_loop``s of fused vector updates, no LAPACK custom calls (batched ones can
deadlock jaxlib's CPU thread pool: docs/theory.md §9); the same code on CPU and GPU,
cheap to batch with vmap.

- :func:`inv_logdet`: Cholesky factor R (x = R R^T), its inverse Q by substitution,
  x^-1 = Q^T Q and log det x = 2 sum log R_ii; its custom VJP is matrix products
  only: d(inv) = -inv d(x) inv, d(logdet) = <inv, d(x)>.
- :func:`inv_logdet_blocked`: the same by 2 x 2 block elimination, for speed.
- :func:`top_eigenvalue`: repeated squaring of the normalised matrix (power 2^60),
  then a Rayleigh quotient; exact up to rounding whatever the eigenvalue gap.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def _sym(x):
  return 0.5 * (x + jnp.swapaxes(x, -1, -2))


def cholesky(x: jax.Array) -> jax.Array:
  """Lower Cholesky factor of one SPD matrix, column by column (left-looking).

  Args:
    x: float64[k, k], symmetric positive definite (the lower triangle is read).

  Returns:
    float64[k, k] lower triangular R with R R^T = x; NaN where x is not positive
    definite.
  """
  k = x.shape[-1]
  rows = jnp.arange(k)

  def column(j, r):  # r holds columns 0 .. j-1; the rest are zero
    v = x[:, j] - r @ r[j, :]
    return r.at[:, j].set(jnp.where(rows >= j, v / jnp.sqrt(v[j]), 0.0))

  return lax.fori_loop(0, k, column, jnp.zeros_like(x))


def inv_lower(r: jax.Array) -> jax.Array:
  """Inverse of one lower-triangular matrix, row by row (forward substitution).

  Args:
    r: float64[k, k], lower triangular with a non-zero diagonal.

  Returns:
    float64[k, k], lower triangular r^-1.
  """
  k = r.shape[-1]
  eye = jnp.eye(k, dtype=r.dtype)

  def row(i, q):  # q holds rows 0 .. i-1; the rest are zero
    return q.at[i].set((eye[i] - r[i] @ q) / r[i, i])

  return lax.fori_loop(0, k, row, jnp.zeros_like(r))


@jax.custom_vjp
def inv_logdet(x: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Inverse and log-determinant of one SPD matrix.

  Args:
    x: float64[k, k], symmetric positive definite.

  Returns:
    (float64[k, k] inverse (symmetrised), float64[] log det x). A matrix that is
    not positive definite gives NaN in the log-determinant.
  """
  r = cholesky(x)
  q = inv_lower(r)
  logdet = 2 * jnp.sum(jnp.log(jnp.diagonal(r)))
  return _sym(q.T @ q), logdet


def _inv_logdet_fwd(x):
  out = inv_logdet(x)
  return out, out[0]


def _inv_logdet_bwd(inv, cotangents):
  g_inv, g_logdet = cotangents
  return (_sym(g_logdet * inv - inv @ g_inv @ inv),)


inv_logdet.defvjp(_inv_logdet_fwd, _inv_logdet_bwd)


def inv(x: jax.Array) -> jax.Array:
  """Inverse of one SPD matrix: float64[k, k]."""
  return inv_logdet(x)[0]


def logdet(x: jax.Array) -> jax.Array:
  """log det of one SPD matrix: float64[]."""
  return inv_logdet(x)[1]


def top_eigenvalue(x: jax.Array, *, squarings: int = 60) -> jax.Array:
  """Largest eigenvalue of one symmetric positive semi-definite matrix.

  Args:
    x: float64[k, k], PSD.
    squarings: x is raised to the power 2^squarings (normalised each time); the
      column of largest norm then lies in the top eigenspace up to a factor
      (lambda_2 / lambda_1)^(2^squarings).

  Returns:
    float64[], lambda_max (0 for the zero matrix).
  """

  def square(_, p):
    p = p @ p
    return p / jnp.maximum(jnp.max(jnp.abs(p)), jnp.finfo(p.dtype).tiny)

  scale = jnp.maximum(jnp.max(jnp.abs(x)), jnp.finfo(x.dtype).tiny)
  power = lax.fori_loop(0, squarings, square, x / scale)
  v = power[:, jnp.argmax(jnp.sum(power**2, axis=0))]
  tiny = jnp.finfo(x.dtype).tiny
  return jnp.where(jnp.any(x != 0), v @ x @ v / jnp.maximum(v @ v, tiny), 0.0)


def inv_logdet_blocked(x: jax.Array, *, base: int = 16) -> tuple[jax.Array, jax.Array]:
  """:func:`inv_logdet` by 2 x 2 block elimination, recursively, for speed.

  [[X11, X12], [X21, X22]]^-1 from X11^-1, the Schur complement
  S = X22 - X21 X11^-1 X12 and S^-1: most of the work is in matrix products
  (about 2/3 k^3 multiply-adds in all), and log det x = log det X11 + log det S.
  Blocks of size <= ``base`` use :func:`inv_logdet`. No custom VJP: callers
  that differentiate use :func:`inv_logdet`.

  Args:
    x: float64[k, k], symmetric positive definite.
    base: largest block inverted by :func:`inv_logdet` directly (static).

  Returns:
    (float64[k, k] inverse, float64[] log det x).
  """
  k = x.shape[-1]
  if k <= base:
    return inv_logdet(x)
  h = k // 2
  i11, logdet1 = inv_logdet_blocked(x[:h, :h], base=base)
  x12 = x[:h, h:]
  t = i11 @ x12  # X11^-1 X12, [h, k - h]
  schur = _sym(x[h:, h:] - x12.T @ t)
  i22, logdet2 = inv_logdet_blocked(schur, base=base)
  p12 = -t @ i22
  p11 = _sym(i11 - p12 @ t.T)
  top = jnp.concatenate([p11, p12], axis=1)
  bottom = jnp.concatenate([p12.T, i22], axis=1)
  return jnp.concatenate([top, bottom], axis=0), logdet1 + logdet2

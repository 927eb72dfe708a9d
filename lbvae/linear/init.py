"""Random initialisations of the linear-Gaussian solvers (arXiv 2602.09277).

Synopsis::

    from lbvae.linear import init
    b0, w0 = init.fixed_point(key, n=50, m=10)      # B ~ U[0, 1), Sigma_W random SPD
    p0 = init.gradient(key, n=50, m=10)             # A, B ~ N(0, 1), Cholesky factors

A "random SPD" matrix is :func:`random_spd`, eigenvalues between 1 and about 5; the
gradient solver draws its covariances through factors (:func:`random_cholesky`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class CholeskyParams(NamedTuple):
  """Parameters of the gradient solver; Sigma = L L^T + jitter I (a pytree).

  Attributes:
    A: float64[n, m].
    B: float64[m, n].
    l_z: float64[n, n], lower triangular.
    l_w: float64[m, m], lower triangular.
  """

  A: jax.Array
  B: jax.Array
  l_z: jax.Array
  l_w: jax.Array


def random_spd(key: jax.Array, d: int) -> jax.Array:
  """M M^T / d + I with M ~ N(0, 1): float[d, d]."""
  mat = jax.random.normal(key, (d, d))
  return mat @ mat.T / d + jnp.eye(d, dtype=mat.dtype)


def fixed_point(key: jax.Array, *, n: int, m: int) -> tuple[jax.Array, jax.Array]:
  """Encoder start of the fixed-point solver.

  Returns:
    b0: float[m, n] with U[0, 1) entries.
    sigma_w0: float[m, m], a random SPD matrix.
  """
  k_b, k_w = jax.random.split(key)
  return jax.random.uniform(k_b, (m, n)), random_spd(k_w, m)


def random_cholesky(key: jax.Array, d: int) -> jax.Array:
  """Random lower-triangular factor, unit diagonal, N(0, 1/d) below: float[d, d]."""
  return jnp.eye(d) + jnp.tril(jax.random.normal(key, (d, d)), -1) / jnp.sqrt(d)


def gradient(key: jax.Array, *, n: int, m: int) -> CholeskyParams:
  """Start of the gradient solver: A, B ~ N(0, 1); Sigma_Z, Sigma_W random SPD.

  The covariances are drawn through their Cholesky factors (:func:`random_cholesky`),
  so no factorisation is needed.
  """
  k_a, k_b, k_z, k_w = jax.random.split(key, 4)
  return CholeskyParams(
    A=jax.random.normal(k_a, (n, m)),
    B=jax.random.normal(k_b, (m, n)),
    l_z=random_cholesky(k_z, n),
    l_w=random_cholesky(k_w, m),
  )


def batch(fn, key: jax.Array, num: int, **dims):
  """``num`` independent draws of ``fn(key, **dims)``, stacked on a leading axis."""
  keys = jax.random.split(key, num)
  return jax.vmap(lambda k: fn(k, **dims))(keys)

"""Closed-form lambda-beta-VAE objective, linear-Gaussian model (arXiv 2602.09277).

Synopsis::

    from lbvae.linear import objective
    params = objective.Params(A, B, Sigma_Z, Sigma_W)
    t = objective.terms(params, prob)              # Terms(recon, kl, l2)
    loss = objective.total(params, prob, beta=4.0, lam=2.0)

R (reconstruction NLL), K (KL to the prior) and D (the L2 penalty tr E) in closed
form, with E the expected residual covariance and total = R + beta K + lambda D
(formulas: docs/theory.md §1). B Sigma_Y is applied in factored form, so apart from
Sigma_Z^-1 (:mod:`lbvae.linear.spd`, no LAPACK call) every term costs O(n^2 m). All
functions are pure, for one model; lift them with vmap.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from lbvae.linear import problem as problem_lib
from lbvae.linear import spd


class Params(NamedTuple):
  """The four matrices of the linear-Gaussian VAE (a pytree).

  Attributes:
    A: float64[n, m], decoder mean map.
    B: float64[m, n], encoder mean map (the "gain").
    sigma_z: float64[n, n], decoder covariance (symmetric positive definite).
    sigma_w: float64[m, m], encoder covariance (symmetric positive definite).
  """

  A: jax.Array
  B: jax.Array
  sigma_z: jax.Array
  sigma_w: jax.Array


class Terms(NamedTuple):
  """The three parts of the objective, each float64[] (per example)."""

  recon: jax.Array
  kl: jax.Array
  l2: jax.Array


def sigma_x(b: jax.Array, sigma_w: jax.Array, prob: problem_lib.Problem) -> jax.Array:
  """Marginal covariance of the code, B Sigma_Y B^T + Sigma_W: float64[m, m]."""
  sx = problem_lib.times_sigma_y(prob, b) @ b.T + sigma_w
  return 0.5 * (sx + sx.T)


def residual_covariance(params: Params, prob: problem_lib.Problem) -> jax.Array:
  """E = E[(y - A x)(y - A x)^T]: float64[n, n]."""
  c = problem_lib.times_sigma_y(prob, params.B)  # B Sigma_Y, [m, n]
  ac = params.A @ c
  sx = sigma_x(params.B, params.sigma_w, prob)
  return problem_lib.sigma_y(prob) - ac - ac.T + params.A @ sx @ params.A.T


def recon(params: Params, prob: problem_lib.Problem) -> jax.Array:
  """R, the expected Gaussian negative log-likelihood E_q[-log p(y|x)], nats."""
  n = prob.n
  z_inv, z_logdet = spd.inv_logdet(params.sigma_z)
  e = residual_covariance(params, prob)
  return 0.5 * (jnp.sum(z_inv * e) + n * jnp.log(2 * jnp.pi) + z_logdet)


def kl(params: Params, prob: problem_lib.Problem) -> jax.Array:
  """K, the expected KL(q(x|y) || N(0, I)), nats."""
  m = params.B.shape[0]
  trace_x = jnp.trace(sigma_x(params.B, params.sigma_w, prob))
  return 0.5 * (trace_x - spd.logdet(params.sigma_w) - m)


def l2(params: Params, prob: problem_lib.Problem) -> jax.Array:
  """D, the expected squared error E ||y - A x||^2."""
  return jnp.trace(residual_covariance(params, prob))


def terms(params: Params, prob: problem_lib.Problem) -> Terms:
  """(R, K, D) of one model."""
  return Terms(recon(params, prob), kl(params, prob), l2(params, prob))


def total(
  params: Params, prob: problem_lib.Problem, *, beta: jax.Array, lam: jax.Array
) -> jax.Array:
  """R + beta K + lambda D; beta and lam may be traced."""
  t = terms(params, prob)
  return t.recon + beta * t.kl + lam * t.l2

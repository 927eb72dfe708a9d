"""Spectral contraction of the encoder gain (arXiv 2602.09277, docs/theory.md §4-5).

Synopsis::

    from lbvae.linear import contraction
    gains = contraction.gain_trajectory_grid(prob, b0, w0, betas, lams,
                                             num_iterations=100)  # [cells, k]

Runs a fixed number of full fixed-point iterations (decoder, then encoder; no
stopping rule) and records ||B_k||_2 after each: about 1/beta per iteration at
lambda = 0 and beta > 1, levelling off when lambda > 0. The updates run in the
reduced basis of :mod:`lbvae.linear.fixed_point`, whose spectral norms equal those
of the full B.
"""

from __future__ import annotations

import functools

import jax
from jax import lax

from lbvae.linear import fixed_point
from lbvae.linear import scores
from lbvae.linear import problem as problem_lib


def gain_trajectory(
  prob: problem_lib.Problem,
  b0: jax.Array,
  sigma_w0: jax.Array,
  *,
  beta,
  lam,
  num_iterations: int,
) -> jax.Array:
  """||B_k||_2 after each of ``num_iterations`` full iterations from one start.

  Args:
    prob: the instance.
    b0: float64[m, n]; sigma_w0: float64[m, m] (SPD).
    beta, lam: scalars, may be traced.
    num_iterations: static.

  Returns:
    float64[num_iterations].
  """
  red = fixed_point.reduce(prob, b0, sigma_w0)

  def body(carry, _):
    b, w = carry
    a, sz = fixed_point.decoder_update(b, w, red.d)
    b, w = fixed_point.encoder_update(a, sz, beta=beta, lam=lam)
    return (b, w), scores.spectral_norm(b)

  start = (red.b0, red.sigma_w0)
  return lax.scan(body, start, None, length=num_iterations)[1]


@functools.partial(jax.jit, static_argnames=("num_iterations",))
def gain_trajectory_grid(
  prob: problem_lib.Problem,
  b0: jax.Array,
  sigma_w0: jax.Array,
  betas: jax.Array,
  lams: jax.Array,
  *,
  num_iterations: int,
) -> jax.Array:
  """:func:`gain_trajectory` for one start and C cells: float64[C, num_iterations]."""
  return jax.vmap(
    lambda beta, lam: gain_trajectory(
      prob, b0, sigma_w0, beta=beta, lam=lam, num_iterations=num_iterations
    )
  )(betas, lams)

"""Loss and gradient of the Cholesky-parameterised linear VAE in closed form.

Synopsis::

    from lbvae.linear import factored
    out = factored.value_and_grad(p, prob, beta=4.0, lam=2.0, jitter=5e-5)
    out.loss, out.recon, out.grads     # grads: CholeskyParams, full (not tril) L's

The total R + beta K + lambda D of the gradient solver (Sigma = L L^T + jitter I) and
its gradient for one run, without autodiff. With P = Sigma_Z^-1, U = [Gamma, A, B^T]
and E = sigma^2 I + U M U^T, an n x n matrix meets another only four times
(L L^T, P, [P^2, P U] = P [P, U], (P - P E P) L); the rest is n x (s + 2m) work.
The formulas for M and every gradient are in docs/theory.md §3. The L gradients are
those of the full matrices (upper triangles included, as autodiff of L L^T gives
them); Sigma_Y is never formed. Pure jnp for one run (vmap to batch).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from lbvae.linear import init as init_lib
from lbvae.linear import problem as problem_lib
from lbvae.linear import spd


class ValueAndGrad(NamedTuple):
  """Loss, its reconstruction part and the gradient of one run.

  Attributes:
    loss: float64[], R + beta K + lambda D.
    recon: float64[], R.
    grads: :class:`init.CholeskyParams` of full gradients (A, B, L_Z, L_W).
  """

  loss: jax.Array
  recon: jax.Array
  grads: init_lib.CholeskyParams


def lower_outer(l: jax.Array) -> jax.Array:
  """L L^T for lower-triangular L: float64[k, k].

  With k >= 64, by 2 x 2 blocks, skipping the zero block: L11 L11^T, L21 L11^T,
  L21 L21^T + L22 L22^T (half the multiply-adds of the dense product).
  """
  k = l.shape[0]
  if k < 64:
    return l @ l.T
  h = k // 2
  l11, l21, l22 = l[:h, :h], l[h:, :h], l[h:, h:]
  s21 = l21 @ l11.T
  top = jnp.concatenate([l11 @ l11.T, s21.T], axis=1)
  bottom = jnp.concatenate([s21, l21 @ l21.T + l22 @ l22.T], axis=1)
  return jnp.concatenate([top, bottom], axis=0)


def times_lower(g: jax.Array, l: jax.Array) -> jax.Array:
  """G L for lower-triangular L: float64[k, k].

  With k >= 64, by 2 x 2 blocks, skipping the zero block: [G11 L11 + G12 L21,
  G12 L22; G21 L11 + G22 L21, G22 L22] (three quarters of the multiply-adds).
  """
  k = l.shape[0]
  if k < 64:
    return g @ l
  h = k // 2
  g11, g12, g21, g22 = g[:h, :h], g[:h, h:], g[h:, :h], g[h:, h:]
  l11, l21, l22 = l[:h, :h], l[h:, :h], l[h:, h:]
  top = jnp.concatenate([g11 @ l11 + g12 @ l21, g12 @ l22], axis=1)
  bottom = jnp.concatenate([g21 @ l11 + g22 @ l21, g22 @ l22], axis=1)
  return jnp.concatenate([top, bottom], axis=0)


def value_and_grad(
  p: init_lib.CholeskyParams, prob: problem_lib.Problem, *, beta, lam, jitter
) -> ValueAndGrad:
  """Loss and full gradient of one run, in closed form.

  Args:
    p: A [n, m], B [m, n], l_z [n, n], l_w [m, m] (lower triangular, as kept by
      the solver; the upper triangles must be zero).
    prob: the instance.
    beta, lam, jitter: scalars (may be traced).

  Returns:
    A :class:`ValueAndGrad`.
  """
  a, b, l_z, l_w = p
  n, m = a.shape
  gamma, var_v, noise = prob.gamma, jnp.diagonal(prob.sigma_v), prob.noise_var
  dtype = a.dtype
  eye_n, eye_m = jnp.eye(n, dtype=dtype), jnp.eye(m, dtype=dtype)

  sigma_z = lower_outer(l_z) + jitter * eye_n
  sigma_w = l_w @ l_w.T + jitter * eye_m
  p_z, logdet_z = spd.inv_logdet_blocked(sigma_z, base=16)
  w_inv, logdet_w = spd.inv_logdet(sigma_w)

  bg = b @ gamma  # [m, s]
  k = bg * var_v  # B Gamma Sigma_V, [m, s]
  c = k @ gamma.T + noise * b  # B Sigma_Y, [m, n]
  sigma_x = k @ bg.T + noise * (b @ b.T) + sigma_w  # [m, m]
  sigma_x = 0.5 * (sigma_x + sigma_x.T)

  u = jnp.concatenate([gamma, a, b.T], axis=1)  # [n, s + 2m]
  ppu = p_z @ jnp.concatenate([p_z, u], axis=1)  # one product: [P^2, P U]
  p2, pu = ppu[:, :n], ppu[:, n:]
  pg, pa = pu[:, : gamma.shape[1]], pu[:, gamma.shape[1] : gamma.shape[1] + m]
  s = gamma.shape[1]
  zeros_sm, zeros_mm = jnp.zeros((s, m), dtype), jnp.zeros((m, m), dtype)
  mid = jnp.block(
    [
      [jnp.diag(var_v), -k.T, zeros_sm],
      [-k, sigma_x, -noise * eye_m],
      [zeros_sm.T, -noise * eye_m, zeros_mm],
    ]
  )
  upu = u.T @ pu
  tr_pe = noise * jnp.trace(p_z) + jnp.sum(mid * upu)
  recon = 0.5 * (tr_pe + n * jnp.log(2 * jnp.pi) + logdet_z)
  kl = 0.5 * (jnp.trace(sigma_x) - logdet_w - m)
  ata = a.T @ a
  tr_sigma_y = jnp.sum(var_v * jnp.sum(gamma * gamma, axis=0)) + n * noise
  l2 = tr_sigma_y - 2 * jnp.sum(a.T * c) + jnp.sum(ata * sigma_x)
  loss = recon + beta * kl + lam * l2

  resid = a @ sigma_x - c.T  # A Sigma_X - C^T, [n, m]
  ptc = pg @ k.T + noise * pu[:, s + m :]  # P C^T = P Sigma_Y B^T
  g_a = pa @ sigma_x - ptc + 2 * lam * resid
  h = 0.5 * (a.T @ pa) + lam * ata + 0.5 * beta * eye_m
  h = 0.5 * (h + h.T)
  at_p = pa.T + 2 * lam * a.T  # A^T (P + 2 lam I), [m, n]
  g_b = 2 * h @ c - ((at_p @ gamma) * var_v) @ gamma.T - noise * at_p
  g_lw = 2 * (h - 0.5 * beta * w_inv) @ l_w
  g_z = p_z - noise * p2 - (pu @ mid) @ pu.T  # P - P E P = 2 dR/dSigma_Z
  g_lz = times_lower(g_z, l_z)
  return ValueAndGrad(loss, recon, init_lib.CholeskyParams(g_a, g_b, g_lz, g_lw))

"""Gradient solver of the linear lambda-beta-VAE (SPEC §3, arXiv 2602.09277).

Synopsis::

    from lbvae.linear import gradient, init
    settings = gradient.Settings(clip_ab=1.0, clip_l=2.0)
    p0 = init.batch(init.gradient, key, 50, n=50, m=10)          # [I, ...]
    state = gradient.init_grid(p0, betas, lams, settings)         # [C * I, ...]
    state = gradient.run_chunk(state, prob, settings, num_steps=1000)
    best = gradient.best_params(state, prob, settings)            # objective.Params

(A, B, L_Z, L_W) are optimised jointly with AdamW on the closed-form total
R + beta K + lambda D, with Sigma = tril(L) tril(L)^T + jitter I (so the
covariances stay SPD), per-group gradient-norm clipping ((A, B) and (L_Z, L_W),
as torch's clip_grad_norm_: scale by c / (norm + 1e-6) when the norm exceeds c),
L kept lower triangular after every step, and the lowest-loss iterate remembered.
Every problem of the grid (cells x inits) is one row of a vmapped state, beta and
lambda are per-row traced values, and steps run in ``lax.scan`` chunks (the caller
shows progress between chunks). Each step costs O(n^3) per problem (the Cholesky
factor of the full Sigma_Z).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from lbvae.linear import init as init_lib
from lbvae.linear import objective
from lbvae.linear import problem as problem_lib


class Settings(NamedTuple):
  """Optimiser settings (hashable; defaults are SPEC §3's, n = 50 clipping)."""
  learning_rate: float = 1e-3
  b1: float = 0.9
  b2: float = 0.999
  eps: float = 1e-8
  weight_decay: float = 0.01
  clip_ab: float = 1.0
  clip_l: float = 2.0
  jitter: float = 5e-5


class TrainState(NamedTuple):
  """State of one run (a pytree; the grid stacks it on a leading axis).

  Attributes:
    params: current :class:`init.CholeskyParams`.
    opt_state: AdamW state.
    best: lowest-loss iterate seen so far; best_loss: float64[] its total.
    beta, lam: float64[], this run's weights.
    step: int32[], steps taken.
  """
  params: init_lib.CholeskyParams
  opt_state: optax.OptState
  best: init_lib.CholeskyParams
  best_loss: jax.Array
  beta: jax.Array
  lam: jax.Array
  step: jax.Array


def optimizer(settings: Settings) -> optax.GradientTransformation:
  """AdamW with decoupled weight decay (torch.optim.AdamW semantics)."""
  return optax.adamw(settings.learning_rate, b1=settings.b1, b2=settings.b2,
                     eps=settings.eps, weight_decay=settings.weight_decay)


def to_params(p: init_lib.CholeskyParams, jitter: float) -> objective.Params:
  """Covariances from factors: Sigma = tril(L) tril(L)^T + jitter I."""
  def cov(l):
    l = jnp.tril(l)
    return l @ l.T + jitter * jnp.eye(l.shape[0], dtype=l.dtype)
  return objective.Params(p.A, p.B, cov(p.l_z), cov(p.l_w))


def loss(p: init_lib.CholeskyParams, prob: problem_lib.Problem, beta, lam,
         jitter: float) -> jax.Array:
  """Total R + beta K + lambda D of the Cholesky-parameterised model."""
  return objective.total(to_params(p, jitter), prob, beta=beta, lam=lam)


def clip_group(grads, max_norm: float):
  """Scales a pytree of gradients so its global norm is at most ``max_norm``."""
  norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grads)))
  scale = jnp.minimum(1.0, max_norm / (norm + 1e-6))
  return jax.tree.map(lambda g: g * scale, grads)


def init_state(p0: init_lib.CholeskyParams, beta, lam,
               settings: Settings) -> TrainState:
  """Training state of one run from its start ``p0``."""
  dtype = p0.A.dtype
  p0 = p0._replace(l_z=jnp.tril(p0.l_z), l_w=jnp.tril(p0.l_w))
  return TrainState(p0, optimizer(settings).init(p0), p0,
                    jnp.asarray(jnp.inf, dtype), jnp.asarray(beta, dtype),
                    jnp.asarray(lam, dtype), jnp.zeros((), jnp.int32))


def train_step(state: TrainState, prob: problem_lib.Problem,
               settings: Settings) -> TrainState:
  """One clipped AdamW step of one run; remembers the pre-step iterate if best."""
  value, g = jax.value_and_grad(loss)(state.params, prob, state.beta, state.lam,
                                      settings.jitter)
  ab = clip_group((g.A, g.B), settings.clip_ab)
  ls = clip_group((g.l_z, g.l_w), settings.clip_l)
  g = init_lib.CholeskyParams(ab[0], ab[1], ls[0], ls[1])
  updates, opt_state = optimizer(settings).update(g, state.opt_state, state.params)
  new = optax.apply_updates(state.params, updates)
  new = new._replace(l_z=jnp.tril(new.l_z), l_w=jnp.tril(new.l_w))
  better = value < state.best_loss  # NaN never counts as better.
  best = jax.tree.map(lambda a, b: jnp.where(better, a, b), state.params, state.best)
  return TrainState(new, opt_state, best, jnp.where(better, value, state.best_loss),
                    state.beta, state.lam, state.step + 1)


def init_grid(p0: init_lib.CholeskyParams, betas: jax.Array, lams: jax.Array,
              settings: Settings) -> TrainState:
  """States of every (cell, init) run, cell-major: leading axis C * I.

  Args:
    p0: starts with a leading init axis I (shared by all cells).
    betas, lams: float64[C].
    settings: optimiser settings.
  """
  num_cells, num_inits = betas.shape[0], p0.A.shape[0]
  tiled = jax.tree.map(
      lambda x: jnp.broadcast_to(x, (num_cells,) + x.shape).reshape(
          (-1,) + x.shape[1:]),
      p0)
  return jax.vmap(init_state, in_axes=(0, 0, 0, None))(
      tiled, jnp.repeat(betas, num_inits), jnp.repeat(lams, num_inits), settings)


@functools.partial(jax.jit, static_argnames=("settings", "num_steps"))
def run_chunk(state: TrainState, prob: problem_lib.Problem, settings: Settings,
              num_steps: int) -> TrainState:
  """``num_steps`` vmapped steps of every run, in one ``lax.scan``."""
  step = jax.vmap(train_step, in_axes=(0, None, None))
  return lax.scan(lambda s, _: (step(s, prob, settings), None), state, None,
                  length=num_steps)[0]


@functools.partial(jax.jit, static_argnames=("settings",))
def best_params(state: TrainState, prob: problem_lib.Problem,
                settings: Settings) -> tuple[objective.Params, jax.Array]:
  """The lowest-loss iterate of every run, the final iterate included.

  Returns:
    (params with leading run axis, float64[runs] their totals).
  """
  def one(st):
    final = loss(st.params, prob, st.beta, st.lam, settings.jitter)
    better = final < st.best_loss
    p = jax.tree.map(lambda a, b: jnp.where(better, a, b), st.params, st.best)
    return to_params(p, settings.jitter), jnp.where(better, final, st.best_loss)
  return jax.vmap(one)(state)

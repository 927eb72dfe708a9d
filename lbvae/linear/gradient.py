"""Gradient solver of the linear lambda-beta-VAE (arXiv 2602.09277; docs/theory.md §3).

Synopsis::

    from lbvae.linear import gradient
    settings = gradient.Settings(clip_ab=1.0, clip_l=2.0)
    state = gradient.init_grid(p0, betas, lams, settings)     # [C * I] runs
    state = gradient.run(state, prob, settings, num_steps=500, chunk=25,
                         num_threads=2)
    layout = gradient.split(state, chunk=25, num_threads=2)    # many calls:
    layout = gradient.advance(layout, prob, settings, 500)     # no copies between
    state = gradient.join(layout)
    params, best_loss = gradient.best_params(state, settings)  # objective.Params

The published AdamW loop, run for run, on the closed-form loss and gradient of
:mod:`lbvae.linear.factored`. Each of ``num_threads`` host threads runs its part
``chunk`` runs at a time (``lax.map``), a chunk taking all ``num_steps`` steps in one
``lax.scan``; on a GPU use one thread and one chunk of every run.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from lbvae.linear import factored
from lbvae.linear import init as init_lib
from lbvae.linear import lanes
from lbvae.linear import objective
from lbvae.linear import problem as problem_lib


class Settings(NamedTuple):
  """Optimiser settings (hashable; defaults are the published ones for n = 50)."""

  learning_rate: float = 1e-3
  b1: float = 0.9
  b2: float = 0.999
  eps: float = 1e-8
  weight_decay: float = 0.01
  clip_ab: float = 1.0
  clip_l: float = 2.0
  jitter: float = 5e-5


class AdamWState(NamedTuple):
  """State of one run (a pytree; a grid stacks it on a leading axis).

  Attributes:
    params: current :class:`init.CholeskyParams` (L's lower triangular).
    exp_avg, exp_avg_sq: AdamW's first and second moments, like ``params``.
    best: the lowest-loss iterate so far; best_loss, best_recon: float64[], its
      total and its R (inf and NaN before the first step).
    beta, lam: float64[], this run's weights.
    step: int32[], steps taken.
  """

  params: init_lib.CholeskyParams
  exp_avg: init_lib.CholeskyParams
  exp_avg_sq: init_lib.CholeskyParams
  best: init_lib.CholeskyParams
  best_loss: jax.Array
  best_recon: jax.Array
  beta: jax.Array
  lam: jax.Array
  step: jax.Array


def to_params(p: init_lib.CholeskyParams, jitter: float) -> objective.Params:
  """Covariances from factors: Sigma = L L^T + jitter I."""

  def cov(l):
    return l @ l.T + jitter * jnp.eye(l.shape[0], dtype=l.dtype)

  return objective.Params(p.A, p.B, cov(p.l_z), cov(p.l_w))


def loss(
  p: init_lib.CholeskyParams, prob: problem_lib.Problem, beta, lam, jitter: float
) -> jax.Array:
  """Total R + beta K + lambda D of the Cholesky-parameterised model."""
  return objective.total(to_params(p, jitter), prob, beta=beta, lam=lam)


def clip_group(grads, max_norm: float):
  """torch's ``clip_grad_norm_``: scale by min(1, max_norm / (norm + 1e-6))."""
  norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grads)))
  scale = jnp.minimum(1.0, max_norm / (norm + 1e-6))
  return jax.tree.map(lambda g: g * scale, grads)


def init_state(
  p0: init_lib.CholeskyParams, beta, lam, settings: Settings
) -> AdamWState:
  """Training state of one run from its start ``p0`` (L's cut to lower triangles)."""
  del settings  # the state does not depend on it; kept for a uniform signature
  dtype = p0.A.dtype
  p0 = p0._replace(l_z=jnp.tril(p0.l_z), l_w=jnp.tril(p0.l_w))
  zeros = jax.tree.map(jnp.zeros_like, p0)
  return AdamWState(
    p0,
    zeros,
    zeros,
    p0,
    jnp.asarray(jnp.inf, dtype),
    jnp.asarray(jnp.nan, dtype),
    jnp.asarray(beta, dtype),
    jnp.asarray(lam, dtype),
    jnp.zeros((), jnp.int32),
  )


def _adamw(p, g, m, v, t, s: Settings):
  """One torch.optim.AdamW update of one tensor (single-tensor code path)."""
  p = p * (1 - s.learning_rate * s.weight_decay)
  m = m + (1 - s.b1) * (g - m)  # exp_avg.lerp_(grad, 1 - b1)
  v = v * s.b2 + (1 - s.b2) * g * g
  bias1 = 1 - s.b1**t
  bias2_sqrt = jnp.sqrt(1 - s.b2**t)
  denom = jnp.sqrt(v) / bias2_sqrt + s.eps
  return p - (s.learning_rate / bias1) * (m / denom), m, v


def train_step(
  state: AdamWState, prob: problem_lib.Problem, settings: Settings
) -> AdamWState:
  """One clipped AdamW step of one run; remembers the pre-step iterate if best.

  The L gradients are clipped in full (upper triangles counted in the norm), then
  their upper triangles zeroed: the same as cutting L, as their moments stay zero.
  """
  out = factored.value_and_grad(
    state.params, prob, beta=state.beta, lam=state.lam, jitter=settings.jitter
  )
  g = out.grads
  g_a, g_b = clip_group((g.A, g.B), settings.clip_ab)
  g_lz, g_lw = clip_group((g.l_z, g.l_w), settings.clip_l)
  g = init_lib.CholeskyParams(g_a, g_b, jnp.tril(g_lz), jnp.tril(g_lw))
  t = (state.step + 1).astype(state.best_loss.dtype)
  new = [
    _adamw(*leaves, t, settings)
    for leaves in zip(state.params, g, state.exp_avg, state.exp_avg_sq)
  ]
  pick = lambda i: init_lib.CholeskyParams(*(x[i] for x in new))
  better = out.loss < state.best_loss  # NaN never counts as better.
  best = jax.tree.map(lambda a, b: jnp.where(better, a, b), state.params, state.best)
  return AdamWState(
    pick(0),
    pick(1),
    pick(2),
    best,
    jnp.where(better, out.loss, state.best_loss),
    jnp.where(better, out.recon, state.best_recon),
    state.beta,
    state.lam,
    state.step + 1,
  )


def init_grid(
  p0: init_lib.CholeskyParams, betas: jax.Array, lams: jax.Array, settings: Settings
) -> AdamWState:
  """States of every (cell, init) run, cell-major: leading axis C * I.

  Args:
    p0: starts with a leading init axis I (shared by all cells).
    betas, lams: float64[C].
    settings: optimiser settings.

  Raises:
    lbvae.ConfigError: float64 is off (see :func:`problem.require_x64`).
  """
  problem_lib.require_x64("gradient.init_grid")
  num_cells, num_inits = betas.shape[0], p0.A.shape[0]
  tiled = jax.tree.map(
    lambda x: jnp.broadcast_to(x, (num_cells,) + x.shape).reshape((-1,) + x.shape[1:]),
    p0,
  )
  return jax.vmap(init_state, in_axes=(0, 0, 0, None))(
    tiled, jnp.repeat(betas, num_inits), jnp.repeat(lams, num_inits), settings
  )


@functools.partial(jax.jit, static_argnames=("settings", "num_steps", "chunk"))
def run_part(
  state: AdamWState,
  prob: problem_lib.Problem,
  settings: Settings,
  num_steps: int,
  chunk: int,
) -> AdamWState:
  """``num_steps`` steps of every run of ``state`` (leading axis a multiple of chunk).

  Chunks of ``chunk`` runs go one after another (``lax.map``); each takes all its
  steps in one ``lax.scan`` of a step vmapped over the chunk.
  """
  runs = state.step.shape[0]
  step = jax.vmap(train_step, in_axes=(0, None, None))

  def one_chunk(st):
    return lax.scan(
      lambda s, _: (step(s, prob, settings), None), st, None, length=num_steps
    )[0]

  chunks = jax.tree.map(
    lambda x: x.reshape((runs // chunk, chunk) + x.shape[1:]), state
  )
  out = lax.map(one_chunk, chunks)
  return jax.tree.map(lambda x: x.reshape((runs,) + x.shape[2:]), out)


class Split(NamedTuple):
  """A grid's runs laid out for :func:`advance`: one part per host thread.

  Attributes:
    parts: one :class:`AdamWState` per host thread, each padded (with copies of
      the first run) to a multiple of ``chunk`` runs.
    runs: the number of real runs (the padding comes last).
    chunk: runs advanced together in one vmapped step.
  """

  parts: tuple[AdamWState, ...]
  runs: int
  chunk: int


def split(state: AdamWState, *, chunk: int = 25, num_threads: int = 1) -> Split:
  """Lays the runs of ``state`` out over ``num_threads`` parts of chunks.

  Args:
    state: runs on the leading axis (any number).
    chunk: runs advanced together in one vmapped step.
    num_threads: host threads, e.g. one per CPU core.
  """
  runs = state.step.shape[0]
  parts = max(1, min(int(num_threads), runs))
  chunk = max(1, min(int(chunk), -(-runs // parts)))
  per_part = -(-runs // (parts * chunk)) * chunk
  pad = parts * per_part - runs
  if pad:
    state = jax.tree.map(
      lambda x: jnp.concatenate([x, jnp.repeat(x[:1], pad, axis=0)]), state
    )
  return Split(
    tuple(
      jax.tree.map(lambda x: x[k * per_part : (k + 1) * per_part], state)
      for k in range(parts)
    ),
    runs,
    chunk,
  )


def advance(
  layout: Split, prob: problem_lib.Problem, settings: Settings, num_steps: int
) -> Split:
  """``num_steps`` steps of every run, each part from its own host thread.

  Raises:
    lbvae.ConfigError: float64 is off.
  """
  problem_lib.require_x64("gradient.advance")
  outs = lanes.on_host_threads(
    lambda k: run_part(layout.parts[k], prob, settings, num_steps, layout.chunk),
    len(layout.parts),
  )
  return layout._replace(parts=tuple(outs))


def join(layout: Split) -> AdamWState:
  """The runs of ``layout`` as one state (padding removed)."""
  return jax.tree.map(lambda *xs: jnp.concatenate(xs)[: layout.runs], *layout.parts)


def run(
  state: AdamWState,
  prob: problem_lib.Problem,
  settings: Settings,
  num_steps: int,
  *,
  chunk: int = 25,
  num_threads: int = 1,
) -> AdamWState:
  """``num_steps`` steps of every run: :func:`split`, :func:`advance`, :func:`join`.

  For many calls, split once and advance the :class:`Split` (no copies between).

  Args:
    state: runs on the leading axis (any number).
    prob: the instance (shared).
    settings: optimiser settings.
    num_steps: steps to take (static: one compilation per value).
    chunk: runs advanced together in one vmapped step (static).
    num_threads: host threads, e.g. one per CPU core.

  Returns:
    The state after ``num_steps`` steps (padding removed).

  Raises:
    lbvae.ConfigError: float64 is off.
  """
  problem_lib.require_x64("gradient.run")
  return join(
    advance(
      split(state, chunk=chunk, num_threads=num_threads), prob, settings, num_steps
    )
  )


def best_params(
  state: AdamWState, settings: Settings
) -> tuple[objective.Params, jax.Array]:
  """The reported iterate of every run: the lowest loss seen before an update.

  Returns:
    (params with leading run axis, float64[runs] their totals).
  """
  return jax.vmap(lambda p: to_params(p, settings.jitter))(state.best), state.best_loss

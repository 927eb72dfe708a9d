"""Run many independent while-loops in a fixed number of vector lanes.

Synopsis::

    from lbvae.linear import lanes
    out = lanes.run(init_fn, step_fn, finish_fn, problems, num_lanes=256)
    outs = lanes.on_host_threads(lambda k: solve(part[k]), parts=2)   # one per core

``num_lanes`` problems advance together (one vmapped step); when a lane's problem
finishes, its result is written out and the lane takes the next one from the queue,
all in one compiled ``lax.while_loop`` (why: docs/theory.md §2, "The grid"). Each
problem sees exactly the iterations of its own loop, so results equal a plain loop's.
With ``num_lanes >= len(queue)`` this is a plain vmap (the natural choice on a GPU).

Contract: ``init_fn(problem) -> state`` and ``step_fn(state, problem) -> state``
act on one problem; ``state.done`` is a bool[] field; ``finish_fn(state) -> out`` is
the pytree kept per problem. A problem always receives at least one step.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax import lax


def _take(tree, idx):
  return jax.tree.map(lambda x: x[idx], tree)


def _select(mask, new, old):
  def sel(a, b):
    return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)

  return jax.tree.map(sel, new, old)


def run(
  init_fn: Callable[[Any], Any],
  step_fn: Callable[[Any, Any], Any],
  finish_fn: Callable[[Any], Any],
  problems: Any,
  *,
  num_lanes: int,
) -> Any:
  """Runs ``step_fn`` on every problem until its ``done`` flag is set.

  Args:
    init_fn: problem -> state, for one problem.
    step_fn: (state, problem) -> state, one loop iteration for one problem.
    finish_fn: state -> output pytree, for one problem.
    problems: a pytree whose leaves have a leading axis of length P (the queue;
      problems are started in this order).
    num_lanes: how many problems advance together (static).

  Returns:
    ``finish_fn`` outputs stacked on a leading axis of length P, in queue order.
  """
  num = jax.tree.leaves(problems)[0].shape[0]
  if num == 0:
    raise ValueError("lanes.run needs at least one problem")
  width = max(1, min(num_lanes, num))
  v_init, v_step, v_finish = (jax.vmap(init_fn), jax.vmap(step_fn), jax.vmap(finish_fn))
  idx0 = jnp.arange(width)
  jobs0 = _take(problems, idx0)
  template = jax.eval_shape(lambda p: finish_fn(init_fn(p)), _take(problems, 0))
  out0 = jax.tree.map(lambda t: jnp.zeros((num,) + t.shape, t.dtype), template)

  def harvest(carry, finished):
    idx, jobs, state, nxt, out = carry
    target = jnp.where(finished, idx, num)  # index num is out of range: dropped
    out = jax.tree.map(
      lambda o, x: o.at[target].set(x, mode="drop"), out, v_finish(state)
    )
    fresh_idx = nxt + jnp.cumsum(finished) - 1
    load = finished & (fresh_idx < num)
    new_idx = jnp.where(finished, jnp.where(load, fresh_idx, num), idx)
    fresh_jobs = _take(problems, jnp.minimum(new_idx, num - 1))
    jobs = _select(load, fresh_jobs, jobs)
    state = _select(load, v_init(fresh_jobs), state)
    return new_idx, jobs, state, nxt + jnp.sum(finished), out

  def body(carry):
    idx, jobs, state, nxt, out = carry
    state = v_step(state, jobs)
    finished = state.done & (idx < num)
    carry = (idx, jobs, state, nxt, out)
    return lax.cond(jnp.any(finished), harvest, lambda c, f: c, carry, finished)

  carry = (idx0, jobs0, v_init(jobs0), jnp.asarray(width), out0)
  return lax.while_loop(lambda c: jnp.any(c[0] < num), body, carry)[-1]


def on_host_threads(fn: Callable[[int], Any], parts: int) -> list[Any]:
  """``[fn(0), ..., fn(parts - 1)]``, each in its own host thread when parts > 1.

  JAX's x64 switch is thread-local, so the caller's setting is handed to every
  worker thread; each result is waited for (``block_until_ready``).
  """
  x64 = jax.enable_x64.value

  def call(k):
    with jax.enable_x64(x64):
      return jax.block_until_ready(fn(k))

  if parts == 1:
    return [call(0)]
  with concurrent.futures.ThreadPoolExecutor(parts) as pool:
    return list(pool.map(call, range(parts)))

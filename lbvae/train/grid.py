"""Where one model's train step becomes a compiled grid step (arXiv 2602.09277, §4).

This is the one place where the step of :mod:`lbvae.train.step` is lifted over the
leading grid axis and handed to ``jax.jit`` (with the state donated). A call runs
``steps_per_call`` steps as a ``lax.scan``; the host calls it until the next log or
checkpoint boundary (see :mod:`lbvae.train.loop`).

Strategies for lifting (``config.grid_strategy``):

* ``vmap`` -- one batched program over all members;
* ``map`` -- ``lax.map`` over members (``config.map_batch_size`` members at a time
  through ``vmap``; 0 means one at a time);
* ``loop`` -- a Python loop over members, each a jitted one-model program (the same
  compilation for every member);
* ``auto`` -- ``loop`` on CPU, ``vmap`` elsewhere. Measured on this 2-core CPU
  (batch 64, reference layers, 3 members): one model 0.38 s/step alone, 1.2 s per
  model-step under ``vmap`` (XLA:CPU turns a vmapped convolution into a grouped one)
  and 5.9 s per model-step under ``lax.map``.

Also measured here: on XLA:CPU the step inside a while loop -- even a ``lax.scan``
of length 1 with ``unroll=True`` -- is 6-10x slower than the same step alone
(jax-ml/jax#12868), so on CPU the steps of a call are unrolled in Python
(straight-line code; ``steps_per_call`` should stay small, e.g. 1) and on
accelerators they are a ``lax.scan``.

Data: every seed's batch of a step is made once (``gather`` of the batch source inside
the compiled call when the data is on the device, else streamed host chunks
uint8[K, S, B, 64, 64, C] as scan inputs) and members index it by their seed row.

Synopsis::

    runner = grid.GridRunner(train_step, source, batch_size=64, strategy="vmap")
    state = runner.run(state, data_keys, rows, t0=0, num_steps=100)
"""

from __future__ import annotations

from typing import Iterator

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lbvae.train import state as state_lib
from lbvae.train import step as step_lib

STRATEGIES = ("auto", "vmap", "map", "loop")


def resolve_strategy(strategy: str, backend: str | None = None) -> str:
  """``auto`` -> ``loop`` on CPU and ``vmap`` on accelerators; others unchanged."""
  if strategy != "auto":
    return strategy
  return "loop" if (backend or jax.default_backend()) == "cpu" else "vmap"


def lift(train_step: step_lib.StepFn, strategy: str, map_batch_size: int = 0):
  """Lifts a one-model step to a grid of members (leading axis on every argument).

  Args:
    train_step: ``(state, batch, rng) -> (state, metrics)`` for one model.
    strategy: ``vmap``, ``map`` or ``loop`` (``loop`` expects grids of one member;
      :class:`GridRunner` loops over members).
    map_batch_size: members per ``lax.map`` iteration (0: one).

  Returns:
    ``grid_step(states[G], batches uint8[G, B, ...], rngs key[G]) ->
    (states[G], metrics[G])``.
  """
  if strategy == "vmap":
    return jax.vmap(train_step)
  if strategy == "map":
    def mapped(states, batches, rngs):
      return lax.map(lambda a: train_step(*a), (states, batches, rngs),
                     batch_size=map_batch_size or None)
    return mapped
  if strategy == "loop":
    def single(states, batches, rngs):
      one = jax.tree.map(lambda a: a[0], states)
      out = train_step(one, batches[0], rngs[0])
      return jax.tree.map(lambda a: a[None], out)
    return single
  raise ValueError(f"unknown grid strategy {strategy!r}; choose one of "
                   f"{', '.join(STRATEGIES)}")


class GridRunner:
  """Runs a grid state forward by any number of steps with one compiled program.

  Args:
    train_step: the one-model step.
    source: a ``lbvae.data.BatchSource`` (``on_device``, ``operand``, ``gather``,
      ``prefetch``).
    batch_size: B.
    strategy: see :data:`STRATEGIES`.
    map_batch_size: for ``map``.
    steps_per_call: steps per compiled call (the scan length).
    prefetch_depth: host chunks read ahead when streaming.

  Attributes:
    strategy: the resolved strategy.
    traces: how many times the compiled program was traced (one per distinct
      ``num_steps`` of a call; 1 when boundaries are multiples of steps_per_call).
  """

  def __init__(self, train_step: step_lib.StepFn, source, *, batch_size: int,
               strategy: str = "auto", map_batch_size: int = 0,
               steps_per_call: int = 1, prefetch_depth: int = 2):
    self.source = source
    self.batch_size = int(batch_size)
    self.num_examples = len(source.dataset)
    self.strategy = resolve_strategy(strategy)
    self.steps_per_call = int(steps_per_call)
    self.prefetch_depth = prefetch_depth
    self.traces = 0
    self._grid_step = lift(train_step, self.strategy, map_batch_size)
    self._unroll = jax.default_backend() == "cpu"
    # Where the grid lives: every argument and result on the default device. Fixing
    # the shardings here keeps one compilation whether an input array is fresh,
    # restored from a checkpoint or the output of a previous call.
    self.sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    # The single jit of the trainer; the state (argument 0) is donated.
    self._call = jax.jit(self._steps, static_argnums=(6,),
                         donate_argnums=(0,), in_shardings=self.sharding,
                         out_shardings=self.sharding)
    self._indices = jax.jit(self._host_indices, static_argnames=("num_steps",))

  def _seed_indices(self, data_keys, t):
    """int32[S, B]: every seed's batch of step t."""
    return jax.vmap(step_lib.batch_indices, (0, None, None, None))(
        data_keys, t, self.batch_size, self.num_examples)

  def _host_indices(self, data_keys, t0, *, num_steps):
    ts = t0 + jnp.arange(num_steps, dtype=jnp.int32)
    return jax.vmap(lambda t: self._seed_indices(data_keys, t))(ts)

  def _steps(self, states, operand, data_keys, rows, t0, xs, num_steps):
    self.traces += 1

    def body(states, inp):
      k, seed_images = inp
      t = t0 + k
      if seed_images is None:
        seed_images = self.source.gather(operand, self._seed_indices(data_keys, t))
      batches = seed_images[rows]
      rngs = jax.vmap(step_lib.noise_key, (0, None))(states.rng, t)
      states, _ = self._grid_step(states, batches, rngs)
      return states, None

    if self._unroll:  # straight-line code: no while loop for XLA:CPU
      for k in range(num_steps):
        x_k = None if xs is None else xs[k]
        states, _ = body(states, (jnp.int32(k), x_k))
      return states
    ks = jnp.arange(num_steps, dtype=jnp.int32)
    states, _ = lax.scan(body, states, (ks, xs))
    return states

  def _calls(self, t0: int, num_steps: int) -> list[tuple[int, int]]:
    out, t, end = [], t0, t0 + num_steps
    while t < end:
      k = min(self.steps_per_call, end - t)
      out.append((t, k))
      t += k
    return out

  def _host_chunks(self, data_keys, calls) -> Iterator[np.ndarray]:
    def index_chunks():
      for t, k in calls:
        yield np.asarray(self._indices(data_keys, np.int32(t), num_steps=k))
    return self.source.prefetch(index_chunks(), depth=self.prefetch_depth)

  def run(self, states: state_lib.TrainState, data_keys, rows, t0: int,
          num_steps: int) -> state_lib.TrainState:
    """Advances every member by ``num_steps`` steps.

    Args:
      states: grid state, leading axis G (donated: do not reuse it).
      data_keys: uint32[S, 2] raw data keys, one row per seed index.
      rows: int32[G], the row of ``data_keys`` of each member.
      t0: the global step of the first step.
      num_steps: how many steps.

    Returns:
      The grid state after ``num_steps`` steps.
    """
    calls = self._calls(int(t0), int(num_steps))
    states = jax.device_put(states, self.sharding)
    data_keys = np.asarray(data_keys)
    rows = np.asarray(rows, np.int32)
    on_device = self.source.on_device
    chunks = (iter([None] * len(calls)) if on_device
              else self._host_chunks(data_keys, calls))
    operand = self.source.operand if on_device else ()
    if self.strategy != "loop":
      for (t, k), xs in zip(calls, chunks):
        states = self._call(states, operand, data_keys, rows, np.int32(t), xs, k)
      return states
    # One program per member; every member has the same shapes, so one compilation.
    g = state_lib.grid_size(states)
    singles = state_lib.split(states)
    del states
    own_keys = [data_keys[[r]] for r in rows]
    zero = np.zeros((1,), np.int32)
    for (t, k), xs in zip(calls, chunks):
      for m in range(g):
        x_m = None if xs is None else xs[:, rows[m]][:, None]
        singles[m] = self._call(singles[m], operand, own_keys[m], zero,
                                np.int32(t), x_m, k)
    return state_lib.stack(singles)

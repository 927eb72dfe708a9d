"""Where one model's train step becomes a compiled grid step (arXiv 2602.09277, §4).

The one place where the step of :mod:`lbvae.train.step` is lifted over the leading
grid axis and jitted (state donated). A call runs ``steps_per_call`` steps; the host
calls it up to the next log or checkpoint boundary (:mod:`lbvae.train.loop`).

Strategies (``config.grid_strategy``): ``vmap``, one batched program; ``map``,
``lax.map`` over members (``config.map_batch_size`` at a time; 0: one); ``loop``, a
Python loop over one jitted one-model program, every member on device 0; ``auto``
(:func:`resolve_strategy`). ``vmap`` and ``map`` split the grid over the devices
(:mod:`lbvae.train.sharding`) with ``jax.shard_map``: each device runs the lifted step
on its own members only, with no communication inside a call (a jitted vmap over a
sharded axis alone is not partitioned: XLA gathers the whole grid on every device).
A call's steps are a ``lax.scan``, except with the reference layers on CPU, which
are slow inside a while loop and so are unrolled in Python (keep ``steps_per_call``
small; docs/performance.md has the measurements). Each seed's batch of a step is
made once per device; members index it by their seed row.

The program is traced for the backend of its devices, or for ``backend`` (a CPU host
compiles an accelerator's program: :mod:`experiments.compile_for`). Before the first
step of a grid, :meth:`GridRunner.plan` compiles the call and, where the device says
how much memory it has (or ``memory`` is given), shrinks the chunks until the
compiled peak fits (:func:`lbvae.train.sharding.plan_chunks`); the compiled
program is the one the steps then run.

Synopsis::

    runner = grid_runner.GridRunner(train_step, source, batch_size=64, strategy="vmap")
    state = runner.run(state, data_keys, rows, t0=0, num_steps=100)
"""

from __future__ import annotations

import functools
import math
from typing import Iterator

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import PartitionSpec as P

from lbvae import devices
from lbvae import pytrees
from lbvae.train import sharding
from lbvae.train import state as state_lib
from lbvae.train import step as step_lib

STRATEGIES = ("auto", "vmap", "map", "loop")


def resolve_strategy(
  strategy: str,
  backend: str | None = None,
  num_devices: int = 1,
  impl: str = "subpixel",
) -> str:
  """``auto`` -> the strategy measured fastest (docs/performance.md); others unchanged.

  ``auto`` is ``vmap`` on an accelerator or several devices; on one CPU device ``map``
  with the ``subpixel`` layers and ``loop`` with the reference ones.

  Args:
    strategy: a name of :data:`STRATEGIES`.
    backend: the JAX backend (default: the current one, :func:`lbvae.devices.on_cpu`).
    num_devices: devices the grid is placed on.
    impl: the model's (resolved) layer formulation, "subpixel" or "reference".
  """
  if strategy != "auto":
    return strategy
  if not devices.on_cpu(backend) or num_devices > 1:
    return "vmap"
  return "map" if impl == "subpixel" else "loop"


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
      return lax.map(
        lambda a: train_step(*a),
        (states, batches, rngs),
        batch_size=map_batch_size or None,
      )

    return mapped
  if strategy == "loop":

    def single(states, batches, rngs):
      one = jax.tree.map(lambda a: a[0], states)
      out = train_step(one, batches[0], rngs[0])
      return jax.tree.map(lambda a: a[None], out)

    return single
  raise ValueError(
    f"unknown grid strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}"
  )


class GridRunner:
  """Runs a grid state forward by any number of steps with one compiled program.

  Args:
    train_step: the one-model step.
    source: a ``lbvae.data.BatchSource`` (``on_device``, ``operand``, ``gather``,
      ``prefetch``): on the device, batches are gathered inside the compiled call;
      else host chunks uint8[K, S, B, 64, 64, C] (K steps of a call, S seeds) stream
      in as scan inputs.
    batch_size: B.
    strategy: see :data:`STRATEGIES`.
    map_batch_size: for ``map``.
    steps_per_call: steps per compiled call (the scan length).
    prefetch_depth: host chunks read ahead when streaming.
    grid_chunk: members per chunk (0: the whole grid; -1: chosen from the measured
      peak memory per model, see :mod:`lbvae.train.sharding`); ``loop`` ignores it.
    place: the devices (default: all visible).
    impl: the model's layer formulation ("subpixel" or "reference"): it decides ``auto``
      and, on CPU, whether the steps of a call are unrolled (reference) or scanned.
    backend: the backend the program is traced for ("cpu", "gpu", "tpu"; default:
      that of ``place``'s devices), which decides ``auto`` and the unrolling.
    memory: bytes of free memory per device that a chunk must fit in (default: what
      the first device reports; XLA:CPU reports none, and then the whole grid runs).

  Attributes:
    strategy: the resolved strategy.
    traces: how many times the compiled program was traced (one per distinct
      ``num_steps`` of a call; 1 when boundaries are multiples of steps_per_call).
  """

  def __init__(
    self,
    train_step: step_lib.StepFn,
    source,
    *,
    batch_size: int,
    strategy: str = "auto",
    map_batch_size: int = 0,
    steps_per_call: int = 1,
    prefetch_depth: int = 2,
    grid_chunk: int = 0,
    place: sharding.Placement | None = None,
    impl: str = "subpixel",
    backend: str | None = None,
    memory: float | None = None,
  ):
    self.source = source
    self.batch_size = int(batch_size)
    self.num_examples = len(source.dataset)
    self.place = sharding.Placement() if place is None else place
    self.backend = backend or devices.backend_of(self.place.devices)
    self.memory = memory
    self.strategy = resolve_strategy(
      strategy, self.backend, num_devices=self.place.num_devices, impl=impl
    )
    self.grid_chunk = int(grid_chunk)
    self._plans: dict[int, tuple[list[sharding.Chunk], str]] = {}
    self._compiled = {}  # (members, steps, seeds) -> the call compiled by plan()
    self.steps_per_call = int(steps_per_call)
    self.prefetch_depth = prefetch_depth
    self.traces = 0
    self._grid_step = lift(train_step, self.strategy, map_batch_size)
    self._unroll = devices.on_cpu(self.backend) and impl == "reference"
    # Where the grid lives: the state and each member's seed row sharded over the
    # mesh's grid axis (device 0 for ``loop``), everything else replicated. Fixing
    # the shardings here keeps one compilation whether an input array is fresh,
    # restored from a checkpoint or the output of a previous call.
    p = self.place
    self.sharding = p.single if self.strategy == "loop" else p.grid
    self._other = other = p.single if self.strategy == "loop" else p.replicated
    self._operand = p.put(source.operand, other) if source.on_device else ()
    # The single jit of the trainer; the state (argument 0) is donated.
    steps = self._steps if self.strategy == "loop" else self._split_steps
    self._call = jax.jit(
      steps,
      static_argnums=(6,),
      donate_argnums=(0,),
      in_shardings=(self.sharding, other, other, self.sharding, other, other),
      out_shardings=self.sharding,
    )
    self._take = jax.jit(pytrees.take, out_shardings=self.sharding)
    self._assemble = {}
    self._indices = jax.jit(self._host_indices, static_argnames=("num_steps",))

  def _seed_indices(self, data_keys, t):
    """int32[S, B]: every seed's batch of step t."""
    return jax.vmap(step_lib.batch_indices, (0, None, None, None))(
      data_keys, t, self.batch_size, self.num_examples
    )

  def _host_indices(self, data_keys, t0, *, num_steps):
    ts = t0 + jnp.arange(num_steps, dtype=jnp.int32)
    return jax.vmap(lambda t: self._seed_indices(data_keys, t))(ts)

  def _split_steps(self, states, operand, data_keys, rows, t0, xs, num_steps):
    """:meth:`_steps` on every device for its own members (states and rows split
    over the grid axis, the rest replicated): no collective inside a call."""
    grid, whole = P(sharding.AXIS), P()
    return jax.shard_map(
      functools.partial(self._steps, num_steps=num_steps),
      mesh=self.place.mesh,
      in_specs=(grid, whole, whole, grid, whole, whole),
      out_specs=grid,
    )(states, operand, data_keys, rows, t0, xs)

  def _steps(self, states, operand, data_keys, rows, t0, xs, num_steps):
    self.traces += 1

    def body(states, inp):
      k, seed_images = inp
      t = t0 + k
      if seed_images is None:
        seed_images = self.source.gather(operand, self._seed_indices(data_keys, t))
      else:  # uint8[S, B, 64 * 64 * C] from the host (see _host_chunks)
        seed_images = seed_images.reshape(
          seed_images.shape[:2] + self.source.dataset.image_shape
        )
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
    """uint8[K, S, B, 64 * 64 * C] per call: one row of bytes per image (a TPU
    pads the two minor axes of uint8[..., 64, 3] to tiles; docs/performance.md)."""

    def index_chunks():
      for t, k in calls:
        yield np.asarray(self._indices(data_keys, np.int32(t), num_steps=k))

    for chunk in self.source.prefetch(index_chunks(), depth=self.prefetch_depth):
      yield chunk.reshape(chunk.shape[:3] + (-1,))

  def run(
    self, states: state_lib.TrainState, data_keys, rows, t0: int, num_steps: int
  ) -> state_lib.TrainState:
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
    data_keys = np.asarray(data_keys)
    rows = np.asarray(rows, np.int32)
    on_device = self.source.on_device
    chunks = (
      iter([None] * len(calls)) if on_device else self._host_chunks(data_keys, calls)
    )
    operand = self._operand
    if self.strategy != "loop":
      return self._run_sharded(states, operand, data_keys, rows, calls, chunks)
    states = jax.device_put(states, self.sharding)
    # One program per member; every member has the same shapes, so one compilation.
    g = state_lib.grid_size(states)
    singles = state_lib.split(states)
    del states
    own_keys = [data_keys[[r]] for r in rows]
    zero = np.zeros((1,), np.int32)
    for (t, k), xs in zip(calls, chunks):
      for m in range(g):
        x_m = None if xs is None else xs[:, rows[m]][:, None]
        singles[m] = self._call(
          singles[m], operand, own_keys[m], zero, np.int32(t), x_m, k
        )
    return state_lib.stack(singles)

  def plan(self, states, data_keys, rows) -> str:
    """Chooses the chunks of a grid before its first step (see the module docstring).

    Args:
      states: the grid state (only its shapes are used).
      data_keys: uint32[S, 2].
      rows: int32[G] (unused: every member's row is passed to each call).

    Returns:
      The run-log line(s) saying where the grid is and how it is chunked.

    Raises:
      lbvae.errors.ConfigError: not even one member per device fits in memory.
    """
    del rows
    g = state_lib.grid_size(states)
    where = self.place.describe(g, self.strategy)
    if self.strategy == "loop":
      return where
    if g not in self._plans:
      self._plans[g] = self._make_plan(states, len(data_keys))
    chunks, note = self._plans[g]
    return where if len(chunks) == 1 and not note else f"{where}; {note}"

  def chunks(self, grid_size: int) -> list[sharding.Chunk]:
    """The chunks :meth:`plan` chose for a grid of ``grid_size`` members."""
    return self._plans[grid_size][0]

  def free_memory(self) -> float | None:
    """Bytes a chunk may use per device: ``memory``, else what the device reports."""
    return self.memory if self.memory is not None else self.place.free_memory()

  def _make_plan(self, states, num_seeds: int):
    return sharding.plan_chunks(
      self.place,
      state_lib.grid_size(states),
      self.grid_chunk,
      self.free_memory(),
      lambda n: self.peak(states, num_seeds, n),
    )

  def peak_memory(self, states, num_seeds: int) -> tuple[float, float]:
    """(bytes per extra member, bytes with no member) per device of the compiled
    call (:func:`lbvae.train.sharding.per_model_memory`).

    Args:
      states: a grid state (only its shapes are used).
      num_seeds: S, the rows of the data keys.
    """
    return sharding.per_model_memory(
      lambda n: self.peak(states, num_seeds, n), self.place.num_devices
    )

  def peak(self, states, num_seeds: int, n: int) -> float:
    """Peak bytes per device of the compiled call for a chunk of n members (inf
    when the compiler refuses it for the device's memory, as XLA's TPU compiler does
    with RESOURCE_EXHAUSTED)."""
    try:
      return sharding.peak_bytes(self.compile(states, num_seeds, n))
    except jax.errors.JaxRuntimeError as e:
      if "RESOURCE_EXHAUSTED" not in str(e):
        raise
      return math.inf

  def compile(self, states, num_seeds: int, n: int, num_steps: int | None = None):
    """The compiled call for a chunk of n members (``jax.stages.Compiled``): the
    program :meth:`run` executes for such a chunk (jit reuses it).

    Args:
      states: a grid state or its shapes (``jax.ShapeDtypeStruct`` leaves).
      num_seeds: S.
      n: members in the chunk (a multiple of the device count).
      num_steps: steps per call (default ``steps_per_call``).
    """
    k = self.steps_per_call if num_steps is None else int(num_steps)
    key = (n, k, num_seeds)
    if key not in self._compiled:
      lowered = self._call.lower(*self._abstract_args(states, num_seeds, n, k), k)
      self._compiled[key] = lowered.compile()
    return self._compiled[key]

  def _abstract_args(self, states, num_seeds: int, n: int, k: int):
    """Shapes and shardings of one call's arguments (a chunk of n, k steps)."""

    def spec(shape, dtype, where):
      return jax.ShapeDtypeStruct(tuple(shape), dtype, sharding=where)

    chunk = jax.tree.map(
      lambda a: spec((n,) + a.shape[1:], a.dtype, self.sharding), states
    )
    operand = jax.tree.map(lambda a: spec(a.shape, a.dtype, self._other), self._operand)
    xs = None
    if not self.source.on_device:
      xs = spec(
        (k, num_seeds, self.batch_size, int(np.prod(self.source.dataset.image_shape))),
        np.uint8,
        self._other,
      )
    return (
      chunk,
      operand,
      spec((num_seeds, 2), np.uint32, self._other),
      spec((n,), np.int32, self.sharding),
      spec((), np.int32, self._other),
      xs,
    )

  def _run_sharded(self, states, operand, data_keys, rows, calls, chunks):
    """The grid in padded chunks over the mesh; the real members come back."""
    g = state_lib.grid_size(states)
    if g not in self._plans:
      self._plans[g] = self._make_plan(states, len(data_keys))
    plan = self._plans[g][0]
    states = self.place.put(states, self.place.state_sharding(g, self.strategy))
    whole = len(plan) == 1 and plan[0].num_real == plan[0].index.size
    parts = [states] if whole else [self._take(states, c.index) for c in plan]
    del states
    part_rows = [self.place.put(rows[c.index], self.sharding) for c in plan]
    for (t, k), xs in zip(calls, chunks):
      for i, c in enumerate(plan):
        args = (parts[i], operand, data_keys, part_rows[i], np.int32(t), xs)
        compiled = self._compiled.get((c.index.size, k, len(data_keys)))
        # The program plan() compiled, else jit's (compiling it once).
        parts[i] = compiled(*args) if compiled else self._call(*args, k)
    if whole:  # no padding, one chunk: the result is the grid itself
      return parts[0]
    size = plan[0].index.size
    positions = np.concatenate(
      [i * size + np.arange(c.num_real, dtype=np.int32) for i, c in enumerate(plan)]
    )
    out = self.place.state_sharding(g, self.strategy)
    if out not in self._assemble:
      self._assemble[out] = jax.jit(sharding.assemble, out_shardings=out)
    return self._assemble[out](parts, positions)

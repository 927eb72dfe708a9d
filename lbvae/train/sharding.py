"""Where the grid of arXiv 2602.09277, §4 lives: devices, hosts, padding and chunks.

The grid axis (the leading axis of every leaf of a grid state) is sharded with a
1-D :class:`jax.sharding.Mesh` named ``grid`` over all visible devices (of every host
after :func:`~lbvae.train.hosts.maybe_initialize_distributed`; one device gives a
mesh of one). The compiled step sees chunks whose size is a multiple of the device
count K: a short chunk is filled up with copies of its first member (:class:`Chunk`),
which train inertly and are dropped before any log, CSV or checkpoint.
``config.grid_chunk`` picks the chunks (0: the whole grid; M > 0: at most M members;
-1: the largest that fits in memory, :func:`chunk_from_memory`); where the device
says how much memory it has, a chunk whose compiled call would not fit is made
smaller before the first step (:func:`plan_chunks`). Chunks take turns within every
compiled call. docs/performance.md ("Several devices and hosts") has
the details.

Synopsis::

    place = sharding.Placement()                       # all visible devices
    place.describe(25, "vmap")    # "grid of 25 models sharded over 4 devices ..."
    chunks = place.chunks(25, chunk=8)                 # [Chunk(index int32[8], n)]
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from lbvae import errors
from lbvae import pytrees
from lbvae.data import batching

AXIS = "grid"
AUTO_CHUNK = -1
MEMORY_HEADROOM = 0.9  # fraction of the free device memory a chunk may use
MIB = 2**20
GIB = 2**30


def is_main_process() -> bool:
  """True on the one process that writes logs, CSVs and metadata."""
  return jax.process_index() == 0


def to_host(x) -> np.ndarray:
  """A (possibly sharded, multi-host) array as one numpy array on every host."""
  if jax.process_count() == 1 or getattr(x, "is_fully_replicated", True):
    return np.asarray(x)
  return np.asarray(multihost_utils.process_allgather(x, tiled=True))


@dataclasses.dataclass(frozen=True)
class Chunk:
  """Members trained together: ``index`` int32[C] (C a multiple of K), the first
  ``num_real`` of them real, the rest copies of ``index[0]``."""

  index: np.ndarray
  num_real: int


def chunk_from_memory(
  per_model: float, fixed: float, free: float | None, num_devices: int, grid_size: int
) -> int:
  """The largest chunk (a multiple of K, at most the padded grid) that fits.

  Args:
    per_model: peak bytes per extra member on one device.
    fixed: peak bytes of the step with no member (parameters of the data, etc.).
    free: free bytes per device, or None when unknown (then: the whole grid).
    num_devices: K.
    grid_size: G.

  Returns:
    Members per chunk (>= K).
  """
  whole = -(-grid_size // num_devices) * num_devices
  if free is None or per_model <= 0:
    return whole
  per_device = int((MEMORY_HEADROOM * free - fixed) // per_model)
  return int(min(whole, max(1, per_device) * num_devices))


def per_model_memory(peak, num_devices: int) -> tuple[float, float]:
  """(bytes per extra member, bytes with no member) per device of a compiled call,
  from its peaks for chunks of one and of two members per device.

  Args:
    peak: ``peak(n)``, peak bytes per device of the call compiled for n members.
    num_devices: K.
  """
  peaks = [peak(n * num_devices) for n in (1, 2)]
  if not math.isfinite(peaks[0]):
    return math.inf, math.inf
  per_model = max(peaks[1] - peaks[0], 0.0)
  return per_model, peaks[0] - per_model


def _balanced(place: "Placement", grid_size: int, size: int) -> list[Chunk]:
  """Chunks of at most ``size`` members, as few as that allows and of equal padded
  size (250 members at most 197 a chunk: 2 of 125, not 197 + 53 padded to 197)."""
  count = -(-grid_size // size)
  return place.chunks(grid_size, -(-grid_size // count))


def plan_chunks(
  place: "Placement", grid_size: int, grid_chunk: int, free: float | None, peak
) -> tuple[list[Chunk], str]:
  """The chunks of a grid, chosen before its first step, and the run-log note.

  The first size is the config's (``grid_chunk`` >= 0; 0: the whole grid) or, for
  ``AUTO_CHUNK``, the largest that fits by :func:`per_model_memory`
  (:func:`chunk_from_memory`). Where ``free`` is known, the call is then compiled
  for that size and, while its peak exceeds ``MEMORY_HEADROOM * free``, the size
  shrinks in proportion and is compiled again: accelerator compilers need not refuse
  a program larger than the device (XLA's GPU compiler does not), and a compiled
  peak need not be linear in the members (a TPU pads small batches to its tiles).

  Args:
    place: the devices.
    grid_size: G.
    grid_chunk: ``config.grid_chunk``.
    free: bytes a chunk may use per device, or None when unknown.
    peak: ``peak(n)``, peak bytes per device of the call compiled for n members
      (inf when the compiler refuses it).

  Raises:
    lbvae.errors.ConfigError: not even one member per device fits.
  """
  k, auto = place.num_devices, grid_chunk == AUTO_CHUNK
  notes, size = [], grid_chunk
  if auto:
    per_model, fixed = per_model_memory(peak, k)
    size = (
      chunk_from_memory(per_model, fixed, free, k, grid_size)
      if math.isfinite(per_model + fixed)
      else k
    )
    notes.append(f"peak memory per model: {per_model / MIB:.1f} MiB")
  chunks = _balanced(place, grid_size, size) if auto else place.chunks(grid_size, size)
  shrunk = False
  while free is not None:
    n = chunks[0].index.size
    need, limit = peak(n), MEMORY_HEADROOM * free
    if need <= limit:
      break
    amount = (
      f"{need / GIB:.2f} GiB"
      if math.isfinite(need)
      else "more memory than the compiler allows"
    )
    errors.require(
      n > k,
      f"one model per device needs {amount}, more than "
      f"{MEMORY_HEADROOM:g} x {free / GIB:.2f} GiB free; use a smaller "
      "batch_size or steps_per_call",
    )
    if not shrunk:
      notes.append(
        f"{n} models need {amount} per device, more than "
        f"{MEMORY_HEADROOM:g} x {free / GIB:.2f} GiB free"
      )
      shrunk = True
    fits = int(n * limit / need) if math.isfinite(need) else n // 2
    chunks = _balanced(place, grid_size, max(k, min(fits // k * k, n - k)))
  if len(chunks) > 1 or notes:
    by_config = not auto and not shrunk
    notes.append(chunks_text(chunks) + (" (config.grid_chunk)" if by_config else ""))
  return chunks, "; ".join(notes)


class Placement:
  """The devices of the grid and the shardings of its arrays.

  Args:
    devices: the devices to shard over (default: all visible, on every host).
  """

  def __init__(self, devices=None):
    self.devices = list(jax.devices() if devices is None else devices)
    self.num_devices = len(self.devices)
    self.mesh = Mesh(np.array(self.devices), (AXIS,))
    self.grid = NamedSharding(self.mesh, P(AXIS))
    self.replicated = NamedSharding(self.mesh, P())
    self.single = jax.sharding.SingleDeviceSharding(self.devices[0])

  def state_sharding(self, grid_size: int, strategy: str):
    """How a grid state of G real members is stored between compiled calls.

    Sharded over the mesh when G is a multiple of K, else replicated (an uneven
    split is not a sharding); on device 0 for the ``loop`` strategy. Checkpoints
    are restored straight into it, whatever the device count when they were saved.
    """
    if strategy == "loop":
      return self.single
    return self.grid if grid_size % self.num_devices == 0 else self.replicated

  def describe(self, grid_size: int, strategy: str) -> str:
    """The run-log line saying where the grid is."""
    if strategy == "loop" and self.num_devices > 1:
      return (
        f"grid of {grid_size} models on 1 device (strategy loop runs every "
        f"member on device 0 of {self.num_devices})"
      )
    if self.num_devices == 1:
      return f"grid of {grid_size} models on 1 device"
    hosts = jax.process_count()
    where = f" on {hosts} hosts" if hosts > 1 else ""
    pad = -grid_size % self.num_devices
    note = f" (padded with {pad} inert copies)" if pad else ""
    return (
      f"grid of {grid_size} models sharded over {self.num_devices} devices{where}{note}"
    )

  def chunks(self, grid_size: int, chunk: int = 0) -> list[Chunk]:
    """Splits members 0..G-1 into padded chunks of one common size.

    Args:
      grid_size: G.
      chunk: at most this many real members per chunk (0: all of them).

    Returns:
      Chunks whose ``index`` all have the same length, a multiple of K.
    """
    per = grid_size if chunk <= 0 else min(chunk, grid_size)
    size = -(-per // self.num_devices) * self.num_devices
    out = []
    for lo in range(0, grid_size, per):
      real = np.arange(lo, min(lo + per, grid_size), dtype=np.int32)
      pad = np.full((size - len(real),), lo, np.int32)
      out.append(Chunk(np.concatenate([real, pad]), len(real)))
    return out

  def put(self, tree, sharding):
    """Places every leaf with ``sharding`` (host-local values become global; a
    ``jax.ShapeDtypeStruct`` gets the sharding, for compiling without devices)."""

    def one(x):
      if isinstance(x, jax.ShapeDtypeStruct):
        return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)
      if sharding.is_fully_addressable:
        return jax.device_put(x, sharding)
      if isinstance(x, jax.Array):  # a global array: resharded by XLA, not via host
        return _reshard(x, sharding)
      x = np.asarray(x)
      return jax.make_array_from_callback(x.shape, sharding, lambda i: x[i])

    return jax.tree.map(one, tree)

  def free_memory(self) -> float | None:
    """Free bytes on this host's first device of the mesh, or None when the backend
    does not say (XLA:CPU)."""
    local = [d for d in self.devices if d.process_index == jax.process_index()]
    free = batching.device_free_bytes(local[0]) if local else None
    return None if free is None else float(free)


def _reshard(x: jax.Array, sharding) -> jax.Array:
  """``x`` with ``sharding``; works for arrays that span several processes."""
  if x.sharding == sharding:
    return x
  return jax.jit(lambda a: a, out_shardings=sharding)(x)


def peak_bytes(compiled) -> float:
  """Peak bytes per device of a compiled program (arguments, outputs, temporaries)."""
  m = compiled.memory_analysis()
  if m is None:
    return math.nan
  return float(
    m.argument_size_in_bytes
    + m.output_size_in_bytes
    + m.temp_size_in_bytes
    - m.alias_size_in_bytes
  )


def chunks_text(chunks: list[Chunk]) -> str:
  """'training the grid in C chunks of <= M models'."""
  n = len(chunks)
  return (
    f"training the grid in {n} chunk{'s' if n > 1 else ''} of <= "
    f"{chunks[0].index.size} models"
  )


def assemble(parts, positions):
  """The members at ``positions`` (int32[G]) of the concatenated chunk states."""
  return pytrees.take(
    jax.tree.map(lambda *a: jnp.concatenate(a, axis=0), *parts), positions
  )

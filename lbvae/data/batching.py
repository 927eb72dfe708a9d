"""Where batches come from: gathered on the device, or streamed from the host.

The trainer draws a batch of grid indices per step; :func:`batch_source` decides once
where the images of those indices are made (both placements give bit-identical batches):

* **device** -- inside the compiled step: procedural datasets render the batch there
  (``operand`` is ``()``); an array is copied to the device once, as uint8, and passed
  to the step as ``operand`` (never baked in as a constant), which ``gather`` indexes.
* **host** -- :meth:`BatchSource.prefetch` reads ``uint8[K, B, 64, 64, C]`` for index
  chunks ``int64[K, B]`` from the memory-mapped array on a background thread while the
  device runs the previous chunk.

``placement="auto"``: procedural -> device; an array -> device when its uint8 size is
at most half of the device's free memory (``memory_stats()``; where unavailable, as on
CPU, half of /proc/meminfo's ``MemAvailable``), else host. Synopsis::

  src = lbvae.data.batch_source(ds)              # "auto" | "device" | "host"
  out = jax.jit(lambda op, index: model(src.gather(op, index)))(src.operand, index)
  for images in src.prefetch(index_chunks): ...  # host: uint8[K, B, 64, 64, C]
"""

from __future__ import annotations

import dataclasses
import functools
import queue
import threading
from typing import Any, Callable, Iterable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from lbvae import errors
from lbvae.data import arrays
from lbvae.data import dsprites_variants
from lbvae.data import factor_grid
from lbvae.data import procedural

PLACEMENTS = ("auto", "device", "host")
DEVICE_FRACTION = 0.5


def device_free_bytes(device: jax.Device) -> int | None:
  """Free bytes of an accelerator's memory, or None when the backend does not say
  (XLA:CPU reports no limit)."""
  try:
    stats = device.memory_stats()
  except Exception:  # pylint: disable=broad-except  (backends without stats raise)
    return None
  if not stats or "bytes_limit" not in stats:
    return None
  return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))


def free_memory_bytes(device: jax.Device | None = None) -> tuple[int | None, str]:
  """Free memory where a device-placed array would live: the device's, else the
  host's available RAM (a CPU "device" is host memory).

  Args:
    device: the device (default: the first one).

  Returns:
    (bytes or None when unknown, a word naming where the number comes from).
  """
  free = device_free_bytes(device or jax.devices()[0])
  if free is not None:
    return free, "device"
  free = host_free_bytes()
  return (free, "host RAM") if free is not None else (None, "unknown")


def host_free_bytes() -> int | None:
  """The host's available RAM (/proc/meminfo's ``MemAvailable``), or None."""
  try:
    with open("/proc/meminfo") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  return None


def _gib(num_bytes: float) -> str:
  return f"{num_bytes / 2**30:.2f} GiB"


@dataclasses.dataclass(frozen=True, eq=False)
class BatchSource:
  """How the trainer gets the images of a batch of grid indices.

  Attributes:
    dataset: the dataset the indices refer to.
    on_device: True -> call :meth:`gather` inside the compiled step.
    operand: pytree of device arrays that :meth:`gather` takes as its first
      argument (``()`` for procedural datasets and for host placement).
    note: human-readable reason for the placement.
  """

  dataset: factor_grid.FactorGrid
  on_device: bool
  operand: Any
  note: str
  _gather: Callable[[Any, jnp.ndarray], jnp.ndarray]
  _host_gather: Callable[[np.ndarray], np.ndarray]

  def gather(self, operand: Any, index: jnp.ndarray) -> jnp.ndarray:
    """Pure, traceable batch of images.

    Args:
      operand: :attr:`operand` (passed through the compiled step's arguments).
      index: int32[...] grid indices.

    Returns:
      uint8[..., 64, 64, C].
    """
    return self._gather(operand, index)

  def host_gather(self, index) -> np.ndarray:
    """Host batch of images: int[...] grid indices -> uint8[..., 64, 64, C]."""
    index = np.asarray(index, np.int64)
    return self._host_gather(index).reshape(index.shape + self.dataset.image_shape)

  def prefetch(
    self, index_chunks: Iterable[np.ndarray], depth: int = 2
  ) -> Iterator[np.ndarray]:
    """Reads chunks of batches on a background thread, ``depth`` chunks ahead.

    Args:
      index_chunks: iterable of int[K, B] grid indices (any leading shape).
      depth: how many chunks may be ready and waiting.

    Yields:
      uint8[K, B, 64, 64, C] per chunk, in order. An exception raised while
      reading is re-raised here; leaving the loop early stops the thread.
    """
    q: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
      while not stop.is_set():
        try:
          q.put(item, timeout=0.1)
          return True
        except queue.Full:
          continue
      return False

    def work():
      try:
        for chunk in index_chunks:
          if not put(("ok", self.host_gather(chunk))):
            return
        put(("ok", done))
      except BaseException as e:  # pylint: disable=broad-except  (re-raised below)
        put(("err", e))

    thread = threading.Thread(target=work, name="lbvae-prefetch", daemon=True)
    thread.start()
    try:
      while True:
        kind, item = q.get()
        if kind == "err":
          raise item
        if item is done:
          return
        yield item
    finally:
      stop.set()
      thread.join(timeout=5.0)

  def describe(self) -> str:
    """One line for the run log."""
    where = "on device" if self.on_device else "streamed from host"
    verb = (
      "rendered"
      if isinstance(self.dataset, procedural.ProceduralDataset)
      else ("gathered")
    )
    notes = "".join(f"; {n}" for n in self.dataset.notes)
    return (
      f"{self.dataset.name} ({self.dataset.source}): {verb} {where}; {self.note}{notes}"
    )


def _procedural_source(
  ds: procedural.ProceduralDataset, on_device: bool
) -> BatchSource:
  def gather(operand, index):
    del operand
    return ds.render_index(index)

  def host_gather(index):
    return ds.images(ds.index_to_factors(index.reshape(-1)))

  note = f"{len(ds)} images, none stored"
  return BatchSource(ds, on_device, (), note, gather, host_gather)


def _array_source(ds: arrays.ArrayDataset, placement: str) -> BatchSource:
  size = ds.array.nbytes
  free, where = free_memory_bytes()
  if placement == "auto":
    on_device = free is not None and size <= DEVICE_FRACTION * free
    rule = (
      f"auto: {_gib(size)} uint8 vs {DEVICE_FRACTION:g} x {_gib(free)} free {where}"
      if free is not None
      else "auto: free memory unknown"
    )
  else:
    on_device = placement == "device"
    rule = f"forced: {_gib(size)} uint8"

  def host_gather(index):
    return ds.read_rows(ds.rows_of(index))

  if not on_device:

    def no_gather(operand, index):
      raise ValueError(
        f"{ds.name} is streamed from the host (placement 'host'); "
        "use prefetch/host_gather, not gather"
      )

    return BatchSource(ds, False, (), rule, no_gather, host_gather)

  # One row of bytes per image: a TPU tiles the two minor axes of an array, and
  # uint8[N, 64, 64, 3] padded that way (and relaid for the gather) needs more than
  # a v5e's 16 GiB for Shapes3D's 5.9 GB (docs/performance.md).
  operand = {"images": jax.device_put(np.asarray(ds.array).reshape(len(ds), -1))}
  if ds.rows is not None:
    operand["rows"] = jax.device_put(ds.rows.astype(np.int32))
  return BatchSource(
    ds,
    True,
    operand,
    rule,
    functools.partial(_gather_rows, image_shape=ds.image_shape),
    host_gather,
  )


def _gather_rows(operand, index, *, image_shape):
  """The device gather of an array dataset: ``images[rows[index]]`` as
  uint8[..., 64, 64, C] (the operand holds uint8[N, 64 * 64 * C])."""
  index = jnp.asarray(index, jnp.int32)
  if "rows" in operand:
    index = operand["rows"][index]
  return operand["images"][index].reshape(index.shape + tuple(image_shape))


def shape_source(ds: arrays.ArrayDataset, on_device: bool) -> BatchSource:
  """The batch source of an array dataset as shapes only (``jax.ShapeDtypeStruct``
  operand), for compiling the trainer's program without reading the data."""
  gather = functools.partial(_gather_rows, image_shape=ds.image_shape)
  if not on_device:
    return BatchSource(
      ds, False, (), "shapes only, streamed from host", gather, ds.read_rows
    )
  operand = {
    "images": jax.ShapeDtypeStruct((len(ds), int(np.prod(ds.image_shape))), np.uint8)
  }
  return BatchSource(ds, True, operand, "shapes only, on device", gather, ds.read_rows)


def _variant_source(
  ds: dsprites_variants.DspritesVariant, placement: str
) -> BatchSource:
  """The base dSprites' source, its batches transformed where they are made."""
  base = batch_source(ds.base, placement)
  operand = {"base": base.operand}
  if ds.background is not None and base.on_device:
    operand["background"] = jax.device_put(ds.background)

  def gather(operand, index):
    index = jnp.asarray(index, jnp.int32)
    return dsprites_variants.transform(
      base.gather(operand["base"], index),
      index,
      operand.get("background"),
      kind=ds.kind,
    )

  def host_gather(index):
    return ds.apply(base.host_gather(index), index)

  return BatchSource(
    ds,
    base.on_device,
    operand if base.on_device else (),
    f"{base.note}; {ds.kind} draws per image",
    gather,
    host_gather,
  )


def batch_source(ds: factor_grid.FactorGrid, placement: str = "auto") -> BatchSource:
  """Chooses where the images of a batch are produced (see the module docstring).

  Args:
    ds: a dataset from :func:`lbvae.data.load`.
    placement: ``"auto"``, ``"device"`` or ``"host"``.

  Returns:
    A :class:`BatchSource`.

  Raises:
    lbvae.errors.Error: unknown placement.
  """
  errors.require(
    placement in PLACEMENTS,
    f"unknown data placement {placement!r}; choose one of {', '.join(PLACEMENTS)}",
  )
  if isinstance(ds, procedural.ProceduralDataset):
    return _procedural_source(ds, on_device=placement != "host")
  if isinstance(ds, arrays.ArrayDataset):
    return _array_source(ds, placement)
  if isinstance(ds, dsprites_variants.DspritesVariant):
    return _variant_source(ds, placement)
  raise TypeError(f"not a dataset from lbvae.data.load: {type(ds).__name__}")

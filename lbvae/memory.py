"""What a run's sizes need in memory, checked against what is free before any work.

Every size a config chooses (the batch, the grid's models and their optimiser state
and loss windows, the collapse probe's sample, the evaluation's samples, votes and
encoder batches, the linear instances) is turned into a :class:`Need`: the bytes that
must be held at once, a lower bound, and where they live (the accelerator or the
host). :func:`require` adds them up per memory (one on XLA:CPU, where device arrays
are host memory) and refuses, in one line naming the largest need's field, what
cannot fit in the free memory, before anything is written. Free memory comes from
:func:`lbvae.data.batching.free_memory_bytes` (the device's ``memory_stats``, else
the host's ``MemAvailable``). Synopsis::

    memory.require([
        memory.Need("config.batch_size=64", step_bytes, "one model's step", "use a "
                    "smaller batch_size"),
        memory.Need("config.collapse.num_samples=1000", memory.image_bytes(1000, 1),
                    "the collapse probe's images", "use fewer", on_device=False)])
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from lbvae import devices
from lbvae import errors
from lbvae.data import batching

IMAGE_PIXELS = 64 * 64  # every dataset's images are 64 x 64 (lbvae.data)


@dataclasses.dataclass(frozen=True)
class Need:
  """Memory one size of a run needs at least.

  Attributes:
    field: the config field and its value as the user writes it
      (``config.batch_size=64``); several when they multiply.
    nbytes: the bytes held at once.
    what: what they hold, e.g. "one model's step (its activations and their
      gradients)".
    remedy: what to change, e.g. "use a smaller batch_size".
    on_device: held on the accelerator (else in host RAM; the same on CPU).
  """

  field: str
  nbytes: int
  what: str
  remedy: str
  on_device: bool = True


def image_bytes(count: int, num_channels: int, *, itemsize: int = 1) -> int:
  """Bytes of ``count`` 64x64 images of ``num_channels`` (uint8, or ``itemsize``)."""
  return int(count) * IMAGE_PIXELS * int(num_channels) * int(itemsize)


def _gib(nbytes: float) -> str:
  gib = nbytes / 2**30
  return f"{gib:.3g}" if gib < 1000 else f"{gib:,.0f}"


def _pools(needs: Sequence[Need]) -> list[tuple[list[Need], int | None, str]]:
  """(needs, free bytes, where) per memory: one pool where device arrays live in
  host memory (XLA:CPU, or a device that reports no free memory)."""
  free, where = batching.free_memory_bytes()
  if devices.on_cpu() or where != "device":
    return [(list(needs), free, where)]
  return [
    ([n for n in needs if n.on_device], free, "device"),
    ([n for n in needs if not n.on_device], batching.host_free_bytes(), "host RAM"),
  ]


def require(needs: Sequence[Need]) -> None:
  """Refuses a run whose needs exceed the free memory they would take.

  Raises:
    lbvae.errors.ConfigError: one line: the largest need of the memory that
      overflows, its field and remedy, the total and the free memory.
  """
  for pool, free, where in _pools(needs):
    total = sum(n.nbytes for n in pool)
    if free is None or not pool or total <= free:
      continue
    big = max(pool, key=lambda n: n.nbytes)
    rest = (
      f" ({_gib(total)} GiB with the rest of the run)"
      if _gib(total) != _gib(big.nbytes)
      else ""
    )
    raise errors.ConfigError(
      f"{big.field} needs at least {_gib(big.nbytes)} GiB for {big.what}{rest}, "
      f"more than the {_gib(free)} GiB of free {where} memory; {big.remedy}"
    )

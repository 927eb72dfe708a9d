"""The processes of a multi-host run: joining them, checking they agree, losing one.

On JAX's multi-controller runtime (``jax.distributed``, docs/cluster.md), lbvae adds:

* :func:`maybe_initialize_distributed` joins the processes (from the environment, or
  as JAX finds them on Slurm and Cloud TPU) and starts a :class:`PeerWatch`;
* :func:`check_same_run` refuses, on every process and before any step, a process
  whose config, lbvae code or process count differs from process 0's;
* :class:`PeerWatch`: every process bumps a counter in the coordination service each
  second; one that sees another's stand still for :data:`ENV_LOST_AFTER` seconds (or
  cannot reach the coordinator) prints one line naming the lost process and exits
  with :data:`LOST_EXIT_STATUS`;
* :func:`sync` is a barrier of every process (a no-op on one).

Synopsis::

    hosts.maybe_initialize_distributed(config)     # before anything touches a device
    hosts.check_same_run({"config": ..., "code": hosts.code_version()})
"""

from __future__ import annotations

import atexit
import hashlib
import os
import pathlib
import socket
import sys
import threading
import time

import jax
import numpy as np
from jax.experimental import multihost_utils

from lbvae import errors

ENV_DISTRIBUTED = "LBVAE_DISTRIBUTED"
# Seconds without a sign of life after which another process counts as lost.
ENV_LOST_AFTER = "LBVAE_LOST_HOST_SECONDS"
DEFAULT_LOST_AFTER = 30.0
LOST_EXIT_STATUS = 3
BEAT_SECONDS = 1.0
_KEY = "lbvae/alive/{}"
_DONE = "done"

_watch: "PeerWatch | None" = None


def lost_after_seconds() -> float:
  """:data:`ENV_LOST_AFTER` from the environment (default 30 s), validated."""
  text = os.environ.get(ENV_LOST_AFTER, "")
  try:
    value = float(text) if text else DEFAULT_LOST_AFTER
  except ValueError:
    value = float("nan")
  errors.require(
    np.isfinite(value) and value >= 2 * BEAT_SECONDS,
    f"{ENV_LOST_AFTER} must be a number of seconds >= "
    f"{2 * BEAT_SECONDS:g}, got {text!r}",
  )
  return value


def wanted(config) -> bool:
  """Whether the run asks for ``jax.distributed`` (config or environment)."""
  return bool(config.get("distributed", False)) or (
    os.environ.get(ENV_DISTRIBUTED, "0") not in ("", "0")
  )


def maybe_initialize_distributed(config) -> bool:
  """Joins the hosts of a multi-host run (``jax.distributed.initialize()``).

  Called once, before anything touches a device, when ``config.distributed`` is
  True or the environment has ``LBVAE_DISTRIBUTED=1``. The coordinator address comes
  from the environment as ``jax.distributed`` reads it (``JAX_COORDINATOR_ADDRESS``,
  or a cluster such as Slurm), the process count and index from
  ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID`` when set. JAX's own heartbeat timeout
  is set to three times :func:`lost_after_seconds`, so that :class:`PeerWatch` is
  the one that reports a lost process. Returns whether it initialised.

  Raises:
    lbvae.errors.ConfigError: the environment's process count or index is not a
      whole number, or the processes could not be joined.
  """
  if not wanted(config) or jax.distributed.is_initialized():
    return False
  lost_after = lost_after_seconds()
  given = {}
  for name, key in (
    ("num_processes", "JAX_NUM_PROCESSES"),
    ("process_id", "JAX_PROCESS_ID"),
  ):
    text = os.environ.get(key)
    if text is not None:
      errors.require(
        text.strip().isdigit(), f"{key} must be a whole number, got {text!r}"
      )
      given[name] = int(text)
  try:
    jax.distributed.initialize(
      heartbeat_timeout_seconds=int(3 * lost_after) + 1, **given
    )
  except (RuntimeError, ValueError) as e:
    raise errors.ConfigError(
      f"cannot join the other processes: {errors.first_line(e)}"
    ) from None
  global _watch
  if jax.process_count() > 1:
    _watch = PeerWatch(lost_after)
    _watch.start()
    atexit.register(finish)  # runs before JAX's own shutdown barrier
  return True


def sync(name: str) -> None:
  """Waits until every process has reached the barrier ``name`` (one: returns)."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)


def total(count: int) -> int:
  """The sum of ``count`` over every process (one: ``count``)."""
  if jax.process_count() == 1:
    return int(count)
  return int(np.asarray(multihost_utils.process_allgather(np.int32(count))).sum())


def code_version() -> str:
  """A digest of lbvae's own source files: equal iff the code is the same."""
  digest = hashlib.sha256()
  root = pathlib.Path(__file__).resolve().parents[1]
  for path in sorted(root.rglob("*.py")):
    digest.update(str(path.relative_to(root)).encode())
    digest.update(path.read_bytes())
  return digest.hexdigest()


def _as_int32(text: str) -> int:
  return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") >> 1


def check_same_run(facts: dict[str, str]) -> None:
  """Refuses to go on unless every process has the same ``facts``.

  Each value is hashed and the hashes are gathered from every process; the check
  runs on all of them, so all of them stop together with the same message.

  Args:
    facts: name -> text, e.g. {"config": config JSON, "code": code_version(),
      "process count": the count this process was started with}.

  Raises:
    lbvae.errors.ConfigError: naming each fact and the processes whose value
      differs from process 0's.
  """
  if jax.process_count() == 1:
    return
  names = sorted(facts)
  mine = np.asarray([_as_int32(str(facts[n])) for n in names], np.int32)
  every = np.asarray(multihost_utils.process_allgather(mine))  # [P, len(names)]
  differ = []
  for j, name in enumerate(names):
    odd = [p for p in range(every.shape[0]) if every[p, j] != every[0, j]]
    if odd:
      who = (
        f"processes {', '.join(map(str, odd))} differ"
        if len(odd) > 1
        else f"process {odd[0]} differs"
      )
      differ.append(f"{name} ({who} from process 0)")
  errors.require(
    not differ,
    "the processes of this run disagree: "
    + "; ".join(differ)
    + "; start every process with the same "
    "command, code and JAX_NUM_PROCESSES",
    error=errors.ConfigError,
  )


def finish() -> None:
  """Tells the other processes that this one ends normally (not lost)."""
  global _watch
  if _watch is not None:
    _watch.stop()
    _watch = None


class PeerWatch(threading.Thread):
  """A daemon thread that exits the process when another process is lost.

  Args:
    lost_after: seconds without a change of another process's counter after which
      it counts as lost.
    on_lost: called with the one-line message instead of printing it and exiting
      (tests).
  """

  def __init__(self, lost_after: float, on_lost=None):
    super().__init__(name="lbvae-peer-watch", daemon=True)
    from jax._src import distributed  # the coordination service's client

    self._client = distributed.global_state.client
    self.lost_after = float(lost_after)
    self.index, self.count = jax.process_index(), jax.process_count()
    self._on_lost = on_lost
    self._stopped = threading.Event()

  def stop(self) -> None:
    self._stopped.set()
    self.join(timeout=5 * BEAT_SECONDS)
    try:
      self._client.key_value_set(_KEY.format(self.index), _DONE, allow_overwrite=True)
    except Exception:  # pylint: disable=broad-except
      pass  # the coordinator has gone too: nobody is left to tell

  def _lost(self, message: str) -> None:
    if self._on_lost is not None:
      self._on_lost(message)
      return
    print(f"error: {message}", file=sys.stderr, flush=True)
    os._exit(LOST_EXIT_STATUS)  # the main thread may be blocked in a collective

  def _peek(self, key: str) -> str | None:
    """The key's value, or None when it has not been set yet."""
    try:
      return self._client.key_value_try_get(key)
    except Exception as e:  # pylint: disable=broad-except
      if "NOT_FOUND" in str(e):
        return None
      raise

  def run(self) -> None:
    host = socket.gethostname()
    seen = {p: (None, time.monotonic()) for p in range(self.count) if p != self.index}
    beat = 0
    while not self._stopped.wait(BEAT_SECONDS if beat else 0.0):
      beat += 1
      try:
        self._client.key_value_set(
          _KEY.format(self.index), str(beat), allow_overwrite=True
        )
        values = {p: self._peek(_KEY.format(p)) for p in seen}
      except Exception as e:  # pylint: disable=broad-except
        if self._stopped.is_set():
          return
        self._lost(
          f"lost process 0 of {self.count} (the coordinator): process "
          f"{self.index} on {host} cannot reach it "
          f"({errors.first_line(e, 160)}); start every "
          "process again to resume from the last checkpoint"
        )
        return
      now = time.monotonic()
      for p, value in values.items():
        if value == _DONE:
          continue
        last, since = seen[p]
        if value != last:
          seen[p] = (value, now)
        elif now - since > self.lost_after:
          self._lost(
            f"lost process {p} of {self.count}: no sign of life for "
            f"{now - since:.0f} s (seen from process {self.index} on "
            f"{host}); start every process again to resume from the "
            "last checkpoint"
          )
          return

"""The command line's guard of a multi-host process: a lost peer is one line.

JAX ends the survivors of a dead ``jax.distributed`` peer from C++ (a check failure
and a thread dump) that no Python code can catch, so an ``experiments.*`` command runs
its work in a child (the same command with ``LBVAE_SUPERVISED`` set to the watcher's
pid; it dies with its watcher, :func:`die_with_parent`). The child's standard error
passes through until it shows the runtime's distress (a coordination-service or
collective error, a fatal error, a traceback), then is held back. If a peer was lost,
the held text becomes one line naming it and the exit status is
:data:`lbvae.train.hosts.LOST_EXIT_STATUS`; otherwise it is printed as it was and the
child's status is passed on. Only :mod:`lbvae.cli` uses this module; see
docs/cluster.md, "A lost host".

Synopsis::

    if supervisor.wanted(sys.argv):
      raise SystemExit(supervisor.supervise(supervisor.child_command()))
    supervisor.die_with_parent()      # in the child
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from lbvae.train import hosts

ENV_SUPERVISED = "LBVAE_SUPERVISED"
# Text that starts the held-back part of the child's standard error.
DISTRESS = (
  b"coordination_service",
  b"Gloo collective",
  b"distributed service",
  b"Fatal Python error",
  b"Check failure",
  b"Traceback (most recent call",
  b"error: lost process",
)
# Signs that a peer has gone, the most telling first (the one quoted in the line).
_PEER_GONE = (
  "Connection closed by peer",
  "Connection reset by peer",
  "Connection refused",
  "Socket closed",
  "Gloo collective",
  "coordination service",
  "distributed service",
)
# Signs of a collective that timed out, and of a collective at all (gloo's own
# messages, the coordination service's).
_TIMED_OUT = ("Timed out", "timed out", "DEADLINE_EXCEEDED")
_COLLECTIVE = ("gloo", "Gloo", "coordination", "collective", "distributed")


def wanted(argv) -> bool:
  """Whether this command runs under ``jax.distributed`` and is not the child."""
  if os.environ.get(ENV_SUPERVISED):
    return False
  flag = any(
    a
    in (
      "--config.distributed",
      "--config.distributed=True",
      "--config.distributed=true",
      "--config.distributed=1",
    )
    for a in argv[1:]
  )
  return flag or os.environ.get(hosts.ENV_DISTRIBUTED, "0") not in ("", "0")


def child_command() -> list[str]:
  """This interpreter's own command line (``python -m experiments.sweep ...``)."""
  return [sys.executable, *sys.orig_argv[1:]]


def die_with_parent() -> None:
  """In a supervised child: asks the kernel to SIGKILL this process when its
  supervisor dies (Linux), and ends at once if the supervisor is already gone, so
  that no orphan keeps training. Does nothing outside a supervised child."""
  parent = os.environ.get(ENV_SUPERVISED, "")
  if not parent.isdigit():
    return
  try:
    import ctypes  # pylint: disable=g-import-not-at-top

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
  except (OSError, AttributeError):
    return
  if os.getppid() != int(parent):  # the supervisor died before the call above
    os._exit(1)


def lost_peer(text: str) -> str | None:
  """The one-line reason a child ended because another process was lost, or None.

  Args:
    text: the held-back part of the child's standard error.
  """
  ours = re.search(r"^error: (lost process .*)$", text, re.M)
  if ours:
    return ours.group(1)
  count = os.environ.get("JAX_NUM_PROCESSES", "")
  index = os.environ.get("JAX_PROCESS_ID", "")
  of = f" of {count}" if count else ""
  beats = re.search(r"stopped sending heartbeats\):\s*([\d,\s]+?)\s*(?:The|$)", text)
  if beats:
    ids = ", ".join(beats.group(1).split())
    return (
      f"lost process {ids}{of}: it stopped sending heartbeats (seen from "
      f"process {index or '?'}); start every process again to resume from "
      "the last checkpoint"
    )
  if not any(p in text for p in _PEER_GONE):
    return _timed_out(text, index)
  other = (
    f"process {1 - int(index)}{of}"
    if count == "2" and index in ("0", "1")
    else "another process of the run"
  )
  lines = text.splitlines()
  gone = next((l.strip() for p in _PEER_GONE for l in lines if p in l), "")
  gone = re.sub(r"^\S+ [\d:.]+\s+\d+ \S+\] ", "", gone)[:160]  # glog prefix
  return (
    f"lost {other}: a collective or the coordination service failed on "
    f"process {index or '?'} ({gone}); start every process again to resume "
    "from the last checkpoint"
  )


def _timed_out(text: str, index: str) -> str | None:
  """The line of a collective that timed out (gloo under heavy load, often at the
  start, while every process is still alive), or None."""
  line = next(
    (l.strip() for l in text.splitlines() if any(p in l for p in _TIMED_OUT)), None
  )
  if line is None or not any(p in text for p in _COLLECTIVE):
    return None
  line = re.sub(r"^\S+ [\d:.]+\s+\d+ \S+\] ", "", line)[:160]  # glog prefix
  return (
    f"a collective between the processes timed out on process {index or '?'} "
    f"({line}); a process was too slow or gone: start every process again "
    "to resume from the last checkpoint"
  )


def supervise(command: list[str]) -> int:
  """Runs ``command`` as the child (see the module docstring); returns the status
  this process should exit with."""
  env = dict(os.environ, **{ENV_SUPERVISED: str(os.getpid())})
  child = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
  for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda s, _f: child.send_signal(s))
  out = sys.stderr.buffer
  held = bytearray()
  while True:
    chunk = os.read(child.stderr.fileno(), 1 << 16)
    if not chunk:
      break
    if not held:
      starts = [chunk.find(m) for m in DISTRESS if m in chunk]
      if starts:
        cut = chunk.rfind(b"\n", 0, min(starts)) + 1  # from the line's start
        out.write(chunk[:cut])
        out.flush()
        held += chunk[cut:]
        continue
      out.write(chunk)
      out.flush()
    else:
      held += chunk
  status = child.wait()
  text = held.decode("utf-8", errors="replace")
  reason = lost_peer(text) if status != 0 else None
  if reason is not None:
    print(f"error: {reason}", file=sys.stderr, flush=True)
    return hosts.LOST_EXIT_STATUS
  out.write(bytes(held))
  out.flush()
  return status if status >= 0 else 128 - status

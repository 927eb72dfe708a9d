"""Test helper: run a function of a test module in a subprocess with N fake CPU devices.

``--xla_force_host_platform_device_count`` must be set before JAX starts, so code
that needs several devices (or a device count other than the test process's) runs
in a fresh interpreter. The subprocess shares the session's compilation cache.
"""

import os
import subprocess
import sys

from tests.helpers import ROOT


def env(cache_dir, count: int) -> dict:
  """The environment of a subprocess that sees ``count`` CPU devices."""
  out = dict(os.environ)
  flags = [
    f
    for f in out.get("XLA_FLAGS", "").split()
    if not f.startswith("--xla_force_host_platform_device_count")
  ]
  out["XLA_FLAGS"] = " ".join(
    flags + [f"--xla_force_host_platform_device_count={count}"]
  )
  out["JAX_PLATFORMS"] = "cpu"
  out["JAX_COMPILATION_CACHE_DIR"] = str(cache_dir)
  out["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.2"
  return out


def run(
  module: str, function: str, *args, count: int, cache_dir, timeout: int = 600
) -> subprocess.CompletedProcess:
  """Calls ``module.function(*args)`` (args: Python literals) on ``count`` devices.

  Returns the finished process; the caller checks ``returncode`` and the output.
  """
  call = f"{function}({', '.join(repr(a) for a in args)})"
  code = (
    f"import sys; sys.path[:0] = [{ROOT!r}]; from {module} import {function}; {call}"
  )
  return subprocess.run(
    [sys.executable, "-c", code],
    cwd=ROOT,
    env=env(cache_dir, count),
    capture_output=True,
    text=True,
    timeout=timeout,
  )


def free_port() -> int:
  """A TCP port on 127.0.0.1 that nothing listens on now."""
  import socket

  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def start_processes(
  argv: list[str],
  *,
  num_processes: int,
  count: int,
  cache_dir,
  extra_env: dict | None = None,
  per_process=None,
):
  """Starts ``argv`` as the ``num_processes`` processes of one ``jax.distributed``
  run on 127.0.0.1 (a free port), each with ``count`` fake CPU devices.

  Args:
    argv: the command of every process (e.g. ``[sys.executable, "-m", ...]``).
    per_process: optional ``f(index) -> extra argv`` appended for process ``index``.

  Returns:
    The ``subprocess.Popen`` of each process (stdout and stderr are pipes).
  """
  address = f"127.0.0.1:{free_port()}"
  procs = []
  for i in range(num_processes):
    e = env(cache_dir, count)
    e.update(extra_env or {})
    e.update(
      JAX_COORDINATOR_ADDRESS=address,
      JAX_NUM_PROCESSES=str(num_processes),
      JAX_PROCESS_ID=str(i),
      PYTHONPATH=ROOT,
    )
    extra = list(per_process(i)) if per_process else []
    procs.append(
      subprocess.Popen(
        argv + extra,
        cwd=ROOT,
        env=e,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
      )
    )
  return procs


def wait_all(procs, timeout: int = 600) -> list[tuple[int, str, str]]:
  """(returncode, stdout, stderr) of each process, killing all past ``timeout``."""
  out = []
  for p in procs:
    try:
      stdout, stderr = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
      for q in procs:
        q.kill()
      stdout, stderr = p.communicate()
    out.append((p.returncode, stdout, stderr))
  return out

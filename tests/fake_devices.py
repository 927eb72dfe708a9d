"""Test helper: run a function of a test module in a subprocess with N fake CPU devices.

``--xla_force_host_platform_device_count`` must be set before JAX starts, so code
that needs several devices (or a device count other than the test process's) runs
in a fresh interpreter. The subprocess shares the session's compilation cache.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env(cache_dir, count: int) -> dict:
  """The environment of a subprocess that sees ``count`` CPU devices."""
  out = dict(os.environ)
  flags = [f for f in out.get("XLA_FLAGS", "").split()
           if not f.startswith("--xla_force_host_platform_device_count")]
  out["XLA_FLAGS"] = " ".join(flags + [
      f"--xla_force_host_platform_device_count={count}"])
  out["JAX_PLATFORMS"] = "cpu"
  out["JAX_COMPILATION_CACHE_DIR"] = str(cache_dir)
  out["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.2"
  return out


def run(module: str, function: str, *args, count: int, cache_dir,
        timeout: int = 600) -> subprocess.CompletedProcess:
  """Calls ``module.function(*args)`` (args: Python literals) on ``count`` devices.

  Returns the finished process; the caller checks ``returncode`` and the output.
  """
  call = f"{function}({', '.join(repr(a) for a in args)})"
  tests = os.path.join(ROOT, "tests")    # where test modules import helpers from
  code = (f"import sys; sys.path[:0] = [{ROOT!r}, {tests!r}]; "
          f"from {module} import {function}; {call}")
  return subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                        env=env(cache_dir, count), capture_output=True, text=True,
                        timeout=timeout)

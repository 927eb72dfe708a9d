"""lbvae.supervisor: a child that ends because a peer was lost becomes one line."""

import os
import subprocess
import sys

import pytest

from lbvae import supervisor
from lbvae.train import hosts

GLOO = """E1201 22:52:20.998554    7277 coordination_service_agent.cc:289] Polled an error from coordination service (this can be an error from this or another task).
F1201 22:52:20.998577    7277 client.h:80] Terminating process because the JAX distributed service detected fatal errors.
Traceback (most recent call last):
  File "<string>", line 1, in <module>
jax.errors.JaxRuntimeError: UNKNOWN: Gloo collective permute failed: [external/gloo/gloo/transport/tcp/pair.cc:547] Connection closed by peer [127.0.0.1]:56004
*** Check failure stack trace: ***
"""
BEATS = """E1201 22:37:38.701541    4030 coordination_service.cc:1549] Use error polling to propagate the following error to all tasks: UNAVAILABLE: The following tasks are unhealthy (stopped sending heartbeats):
1
The tasks have crashed. Check the task logs for an earlier error.
"""


def test_lost_peer_names_the_process(monkeypatch):
  monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
  monkeypatch.setenv("JAX_PROCESS_ID", "0")
  gloo = supervisor.lost_peer(GLOO)
  assert gloo.startswith(
    "lost process 1 of 2: a collective or the coordination "
    "service failed on process 0 ("
  )
  assert "\n" not in gloo and "Connection closed by peer" in gloo
  assert supervisor.lost_peer(BEATS).startswith(
    "lost process 1 of 2: it stopped sending heartbeats"
  )
  ours = "noise\nerror: lost process 1 of 2: no sign of life for 6 s\nmore"
  assert supervisor.lost_peer(ours) == "lost process 1 of 2: no sign of life for 6 s"
  timeout = (
    "Traceback (most recent call last):\njax.errors.JaxRuntimeError: "
    "UNKNOWN: Gloo all-gather failed: [external/gloo/gloo/transport/tcp/"
    "unbound_buffer.cc:81] Timed out waiting 30000ms for recv operation\n"
  )
  assert supervisor.lost_peer(timeout).startswith(
    "a collective between the processes timed out on process 0 (jax.errors."
    "JaxRuntimeError: UNKNOWN: Gloo all-gather failed"
  )
  # A traceback of our own bug is not a lost peer: it is shown as it is.
  assert (
    supervisor.lost_peer("Traceback (most recent call last):\nKeyError: 'x'\n") is None
  )


def test_supervise_replaces_the_abort_with_one_line(monkeypatch, capfd):
  monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
  monkeypatch.setenv("JAX_PROCESS_ID", "1")
  code = (
    "import sys, os; sys.stderr.write('progress 50%\\n'); sys.stderr.flush(); "
    f"sys.stderr.write({GLOO!r}); sys.stderr.flush(); os.abort()"
  )
  status = supervisor.supervise([sys.executable, "-c", code])
  err = capfd.readouterr().err
  assert status == hosts.LOST_EXIT_STATUS
  assert err.splitlines()[0] == "progress 50%"
  assert err.splitlines()[1].startswith("error: lost process 0 of 2")
  assert len(err.splitlines()) == 2


def test_supervise_passes_a_bug_and_its_status_through(capfd):
  code = "raise KeyError('a bug of ours')"
  status = supervisor.supervise([sys.executable, "-c", code])
  err = capfd.readouterr().err
  assert status == 1
  assert "Traceback" in err and "a bug of ours" in err


@pytest.mark.parametrize(
  "argv, env, expected",
  [
    (["sweep", "--config.distributed=True"], {}, True),
    (["sweep", "--config.distributed=False"], {}, False),
    (["sweep"], {hosts.ENV_DISTRIBUTED: "1"}, True),
    (["sweep", "--config.distributed=True"], {supervisor.ENV_SUPERVISED: "1"}, False),
  ],
)
def test_wanted(monkeypatch, argv, env, expected):
  monkeypatch.delenv(hosts.ENV_DISTRIBUTED, raising=False)
  monkeypatch.delenv(supervisor.ENV_SUPERVISED, raising=False)
  for k, v in env.items():
    monkeypatch.setenv(k, v)
  assert supervisor.wanted(argv) is expected


_SLEEPER = """
import os, sys, time
from lbvae import supervisor
supervisor.die_with_parent()
print(os.getpid(), flush=True)
time.sleep(120)
"""

_WATCHER = f"""
import sys
from lbvae import supervisor
sys.exit(supervisor.supervise([sys.executable, "-c", {_SLEEPER!r}]))
"""


@pytest.mark.slow
def test_the_child_dies_with_its_supervisor():
  """No orphan keeps working when the watching process is SIGKILLed."""
  import signal
  import time

  watcher = subprocess.Popen(
    [sys.executable, "-c", _WATCHER],
    stdout=subprocess.PIPE,
    text=True,
    cwd=os.path.dirname(os.path.dirname(__file__)),
  )
  child = int(watcher.stdout.readline())
  os.kill(watcher.pid, signal.SIGKILL)
  watcher.wait(timeout=30)
  deadline = time.monotonic() + 30
  while time.monotonic() < deadline:
    try:
      os.kill(child, 0)
    except ProcessLookupError:
      break
    with open(f"/proc/{child}/stat") as f:  # a zombie waiting for init is gone too
      if f.read().split(") ")[1].startswith("Z"):
        break
    time.sleep(0.1)
  else:
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the supervised child outlived its supervisor")


@pytest.mark.slow
def test_a_child_whose_supervisor_is_already_gone_ends_at_once():
  """LBVAE_SUPERVISED names a process that is not this one's parent: the
  supervisor died before the child could ask to die with it."""
  code = "from lbvae import supervisor; supervisor.die_with_parent(); print('ran on')"
  env = dict(os.environ, **{supervisor.ENV_SUPERVISED: "1"})  # pid 1: not our parent
  proc = subprocess.run(
    [sys.executable, "-c", code],
    env=env,
    capture_output=True,
    text=True,
    timeout=60,
    cwd=os.path.dirname(os.path.dirname(__file__)),
  )
  assert proc.returncode == 1 and "ran on" not in proc.stdout
  del env[supervisor.ENV_SUPERVISED]  # not supervised: runs
  proc = subprocess.run(
    [sys.executable, "-c", code],
    env=env,
    capture_output=True,
    text=True,
    timeout=60,
    cwd=os.path.dirname(os.path.dirname(__file__)),
  )
  assert proc.returncode == 0 and "ran on" in proc.stdout

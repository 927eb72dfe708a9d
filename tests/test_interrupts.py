"""lbvae.interrupts: Ctrl-C and SIGTERM end a command within seconds, in one line,
with exit status 130, never cutting a section marked deferred."""

import os
import signal
import socket
import subprocess
import sys

import pytest

from lbvae import cli
from lbvae import interrupts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_STOPPED = """
import sys, time
from lbvae import cli
from lbvae.train import workdir
def main(argv):
  with workdir.locked(sys.argv[1]):
    print("ready", flush=True)
    time.sleep(60)
cli.run(main)
"""


def test_ctrl_c_or_sigterm_is_one_line_exit_130_and_the_lock_released(
  tmp_path, monkeypatch
):
  lock = tmp_path / "workdir.lock"
  proc = subprocess.Popen(
    [sys.executable, "-c", _STOPPED, str(tmp_path)],
    cwd=ROOT,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )
  assert proc.stdout.readline().strip() == "ready" and lock.exists()
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=30)
  assert proc.returncode == 130, err
  assert err.strip().splitlines() == [f"error: {cli.INTERRUPTED}"]
  assert not lock.exists()
  # Stuck where Python cannot raise (an XLA compilation): the watch ends it.
  monkeypatch.setattr(interrupts, "GRACE_SECONDS", 0.0)
  monkeypatch.setattr(interrupts.os, "_exit", lambda status: exited.append(status))
  exited = []
  receiver, sender = socket.socketpair()
  sender.send(bytes([signal.SIGINT]))
  interrupts._watch(receiver, "stopped")  # pylint: disable=protected-access
  assert exited == [130]


def test_a_signal_inside_a_deferred_section_raises_as_it_ends(monkeypatch):
  monkeypatch.setattr(interrupts, "_raised", False)
  old = {sig: signal.getsignal(sig) for sig in interrupts.SIGNALS}
  try:
    for sig in interrupts.SIGNALS:
      signal.signal(sig, interrupts.handle)
    done = []
    with pytest.raises(KeyboardInterrupt):
      with interrupts.deferred():
        signal.raise_signal(signal.SIGTERM)
        done.append("the checkpoint")  # not cut
    assert done == ["the checkpoint"]
    signal.raise_signal(signal.SIGINT)  # a second signal: the stop goes on
    monkeypatch.setattr(interrupts, "_raised", False)
    with pytest.raises(KeyboardInterrupt):  # outside a section: at once
      signal.raise_signal(signal.SIGINT)
      for _ in range(10**6):
        pass
  finally:
    for sig, handler in old.items():
      signal.signal(sig, handler)

"""The workdir lock: one writer at a time, a dead holder's lock taken over."""

import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from lbvae import errors
from lbvae import files
from lbvae.evaluation import runner
from lbvae.train import config as config_lib
from lbvae.train import workdir as workdir_lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HOLD = (
  "import sys, time\n"
  "from lbvae.train import workdir\n"
  "with workdir.locked(sys.argv[1]):\n"
  "  print('held', flush=True)\n"
  "  time.sleep(600)\n"
)


def test_second_writer_is_refused_naming_the_holder(tmp_path):
  with workdir_lib.locked(str(tmp_path)):
    with pytest.raises(
      errors.WorkdirBusy,
      match=rf"in use by another run \(host \S+ pid {os.getpid()} "
      r"since \d{4}-",
    ):
      with workdir_lib.locked(str(tmp_path)):
        pass
  with workdir_lib.locked(str(tmp_path)):  # released: free again
    pass


def test_a_link_in_place_of_the_lock_is_refused_and_its_target_kept(tmp_path):
  precious = tmp_path / "precious"
  precious.write_text("keep me")
  os.symlink(precious, tmp_path / workdir_lib.LOCK_NAME)
  with pytest.raises(
    errors.DiskError,
    match=r"workdir.lock is a symbolic link "
    r"\(to .*precious\); lbvae writes its own files in place, "
    "never through a link: remove it",
  ):
    with workdir_lib.locked(str(tmp_path)):
      pass
  assert precious.read_text() == "keep me"
  os.remove(tmp_path / workdir_lib.LOCK_NAME)
  with workdir_lib.locked(str(tmp_path)):  # the lock file lives while it is held
    assert os.path.isfile(tmp_path / workdir_lib.LOCK_NAME)
  assert not os.path.lexists(tmp_path / workdir_lib.LOCK_NAME)


def test_a_process_that_does_not_write_takes_no_lock(tmp_path):
  with workdir_lib.locked(str(tmp_path)):
    with workdir_lib.locked(str(tmp_path), writer=False):
      pass


def test_evaluate_is_refused_while_a_run_writes(tmp_path):
  os.makedirs(tmp_path / "phase1" / "checkpoints" / "2")
  with workdir_lib.locked(str(tmp_path)):
    with pytest.raises(errors.WorkdirBusy):
      # A valid config: the pass checks it (and joins other processes) before it
      # takes the lock, since under jax.distributed process 0 holds it for all.
      runner.evaluate_workdir(
        str(tmp_path), config=config_lib.defaults(), progress=False
      )


@pytest.mark.slow
def test_lock_of_a_killed_holder_is_taken_over(tmp_path):
  holder = subprocess.Popen(
    [sys.executable, "-c", HOLD, str(tmp_path)],
    cwd=ROOT,
    stdout=subprocess.PIPE,
    text=True,
  )
  try:
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(errors.WorkdirBusy, match=f"pid {holder.pid} "):
      with workdir_lib.locked(str(tmp_path)):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=60)
    with workdir_lib.locked(str(tmp_path)):
      pass
  finally:
    if holder.poll() is None:
      holder.kill()
      holder.wait()


@pytest.mark.slow
def test_sweep_on_a_locked_workdir_exits_2_in_one_line(tmp_path, cli_env):
  workdir = str(tmp_path / "w")
  with workdir_lib.locked(workdir):
    result = subprocess.run(
      [
        sys.executable,
        "-m",
        "experiments.sweep",
        "--config=configs/smoke.py",
        f"--workdir={workdir}",
        "--noprogress",
      ],
      cwd=ROOT,
      env=cli_env,
      capture_output=True,
      text=True,
      timeout=600,
    )
    # Nothing written, and the holder's lock file is still there.
    assert sorted(os.listdir(workdir)) == ["workdir.lock"]
  assert result.returncode == 2, result.stderr[-3000:]
  lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
  assert len(lines) == 1 and f"pid {os.getpid()} since" in lines[0], result.stderr
  assert "Traceback" not in result.stderr
  assert os.listdir(workdir) == []  # the holder removes its lock file on release


def _dead_pid() -> int:
  child = subprocess.Popen([sys.executable, "-c", "pass"])
  child.wait()
  return child.pid


def test_a_url_workdir_has_an_advisory_lock_file(bucket):
  lock = files.as_path(bucket, workdir_lib.LOCK_NAME)
  with workdir_lib.locked(bucket):
    assert re.fullmatch(
      rf"host \S+ pid {os.getpid()} since \d{{4}}-\S+\n", lock.read_text()
    )
    with pytest.raises(
      errors.WorkdirBusy, match=rf"pid {os.getpid()} since .*delete {lock}"
    ):
      with workdir_lib.locked(bucket):
        pass
  assert not lock.exists()  # released
  with workdir_lib.locked(bucket, writer=False):
    assert not lock.exists()


def test_a_url_lock_is_taken_over_only_from_a_dead_process_of_this_host(bucket):
  lock = files.as_path(bucket, workdir_lib.LOCK_NAME)
  files.write_text(
    str(lock),
    f"host {socket.gethostname()} pid {_dead_pid()} since 2026-01-01T00:00:00+00:00\n",
  )
  with workdir_lib.locked(bucket):
    assert f"pid {os.getpid()} " in lock.read_text()
  other = "host another-host pid 1 since 2026-01-01T00:00:00+00:00\n"
  files.write_text(str(lock), other)
  with pytest.raises(errors.WorkdirBusy, match="another-host pid 1"):
    with workdir_lib.locked(bucket):
      pass
  assert lock.read_text() == other  # a refused run leaves the holder's file

"""User mistakes on the command line: one line on stderr, exit status 2."""

import os
import subprocess
import sys

import pytest


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
  return subprocess.run(
    [sys.executable, "-m", "experiments.bench", *args],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=120,
  )


@pytest.mark.slow
@pytest.mark.parametrize(
  "args, needle",
  [
    (["--config=configs/bench.py", "--config.no_such_field=3"], "no_such_field"),
    (["--config=configs/no_such_config.py"], "no_such_config.py"),
    (["--config=configs/bench.py", "--config.grid_size=abc"], "grid_size"),
    (["--config=configs/bench.py", "--no_such_flag=1"], "no_such_flag"),
  ],
)
def test_bad_command_line_is_one_line_and_exit_2(args, needle):
  proc = _run(*args)
  assert proc.returncode == 2, proc.stderr
  lines = [l for l in proc.stderr.splitlines() if l.strip()]
  assert len(lines) == 1, proc.stderr
  assert lines[0].startswith("error: ") and needle in lines[0]
  assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_broken_config_file_is_reported(tmp_path):
  bad = tmp_path / "broken.py"
  bad.write_text("def get_config(:\n")
  proc = _run(f"--config={bad}")
  assert proc.returncode == 2
  assert proc.stderr.strip().startswith("error: ") and "SyntaxError" in proc.stderr


@pytest.mark.slow
def test_config_typo_prints_two_clean_lines(tmp_path):
  """ml_collections' KeyError message, not its repr (escaped quotes, a literal \\n)."""
  proc = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.sweep",
      "--config=configs/smoke.py",
      f"--workdir={tmp_path / 'run'}",
      "--config.phase1_step=3",
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert proc.returncode == 2
  lines = proc.stderr.strip().splitlines()
  assert lines[-2] == "error: bad command line: unknown config field 'phase1_step'"
  assert lines[-1] == 'Did you mean "phase1_steps" instead of "phase1_step"?'
  assert not (tmp_path / "run").exists()


def test_known_noise_is_dropped_on_the_command_line_path_only(caplog):
  import logging
  from lbvae import cli

  absl, aio, xla = (
    logging.getLogger(n) for n in ("absl", "asyncio", "jax._src.xla_bridge")
  )
  loggers = [logging.getLogger(name) for name in cli.QUIET]
  kept = [list(logger.filters) for logger in loggers]
  hook = sys.unraisablehook
  assert not any(isinstance(f, cli._DropMessages) for l in loggers for f in l.filters)
  cli.quiet_known_noise()
  wrapped = sys.unraisablehook
  cli.quiet_known_noise()  # idempotent: one filter, one hook
  try:
    assert wrapped is not hook and sys.unraisablehook is wrapped
    with caplog.at_level(logging.INFO):
      absl.warning("CheckpointManagerOptions.read_only=True, setting create=False.")
      absl.warning("Given directory is read only=/tmp/x")
      absl.error("_SignalingThread.run() raised an exception")
      aio.error("Future exception was never retrieved")
      aio.error("Task exception was never retrieved\nfuture: <Task finished>")
      xla.info("Unable to initialize backend 'tpu': not found")
      absl.warning("a warning a user can act on")
    assert [r.getMessage() for r in caplog.records] == ["a warning a user can act on"]
    assert [len(l.filters) for l in loggers] == [len(k) + 1 for k in kept]
  finally:
    for logger, filters in zip(loggers, kept):
      logger.filters[:] = filters
    sys.unraisablehook = hook


_RAISES = """
import errno, sys
from lbvae import cli
def main(argv):
  if sys.argv[1:] == ["bug"]:
    raise KeyError("a bug of ours")
  raise OSError(errno.ENOSPC, "No space left on device", "/full/disk/file.csv")
cli.run(main)
"""


@pytest.mark.slow
def test_an_os_error_is_one_line_and_a_bug_is_a_traceback():
  proc = subprocess.run(
    [sys.executable, "-c", _RAISES, "disk"],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert proc.returncode == 2, proc.stderr
  [line] = proc.stderr.strip().splitlines()
  assert line.startswith("error: cannot write a file: No space left on device (")
  assert line.endswith(" MiB free; /full/disk/file.csv)"), line
  assert "Traceback" not in proc.stderr
  bug = subprocess.run(
    [sys.executable, "-c", _RAISES, "bug"],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert bug.returncode == 1 and "Traceback" in bug.stderr

"""``python -m experiments.evaluate``: user mistakes are one line and exit status 2.

The successful path (a pass, then a re-run that prints where the report is) is in
``tests/evaluation/test_runner.py``, which has an evaluated run at hand.
"""

import os
import subprocess
import sys

import pytest

from lbvae.train import config as config_lib
from lbvae.train import workdir
from tests.evaluation import conftest

# Every test runs `python -m experiments.evaluate` in a subprocess.
pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _evaluate(*args):
  return subprocess.run(
    [sys.executable, "-m", "experiments.evaluate", *args],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=120,
    check=False,
  )


def _one_error_line(proc, *fragments):
  assert proc.returncode == 2, proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
  for fragment in fragments:
    assert fragment in lines[0]
  assert "Traceback" not in proc.stderr


def test_missing_workdir(tmp_path):
  missing = tmp_path / "nope"
  _one_error_line(_evaluate(f"--workdir={missing}"), str(missing), "does not exist")
  assert not missing.exists()


@pytest.mark.parametrize(
  "args, fragments",
  [
    (["--config.eval.nope=1"], ["unknown config field 'eval.nope'"]),
    (["--config.eval.num_train=abc"], ["eval.num_train"]),
    ([], ["no checkpoints"]),
  ],
)
def test_bad_override_or_untrained_run(tmp_path, args, fragments):
  """A workdir with a config but no checkpoint: nothing is written into it."""
  run = tmp_path / "run"
  workdir.store_config(workdir.Paths(str(run)), config_lib.defaults())
  before = sorted(os.listdir(run))
  _one_error_line(_evaluate(f"--workdir={run}", "--noprogress", *args), *fragments)
  assert sorted(os.listdir(run)) == before


def test_all_checkpoints_unreadable_exits_2(tmp_path):
  """Nothing to evaluate: one error line (exit 2) after a line per skipped checkpoint."""
  run = str(tmp_path / "run")
  conftest.write_run(run, conftest.small_config())
  names = [conftest.corrupt(run, phase) for phase in (1, 2)]
  proc = _evaluate(f"--workdir={run}", "--noprogress")
  _one_error_line(proc, "could not evaluate any of the 6 models", *names)
  skipped = [l for l in proc.stdout.splitlines() if "is unreadable" in l]
  assert len(skipped) == 2 and all(n in l for n, l in zip(names, skipped))
  assert not os.path.exists(os.path.join(run, "eval", "metrics.csv"))

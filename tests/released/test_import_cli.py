"""``python -m experiments.import_torch``, then ``experiments.evaluate``, end to end.

The fixture was written by real PyTorch in the authors' layout; the evaluation uses
procedural dSprites and small sizes so the whole test takes well under a minute.
"""

import csv
import os
import shlex
import subprocess
import sys

import pytest

from tests.released import conftest
from tests.released.conftest import op_call, op_global, op_str

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMALL_EVAL = (
  "--config.eval.num_train=200",
  "--config.eval.num_test=100",
  "--config.eval.num_bins=10",
  "--config.eval.factor_vae_votes=0",
  "--config.eval.batch_size=100",
)


def _run(module, *args):
  return subprocess.run(
    [sys.executable, "-m", module, *args],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
    check=False,
  )


def _one_error_line(proc, *fragments):
  assert proc.returncode == 2, proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
  for fragment in fragments:
    assert fragment in lines[0], lines[0]


@pytest.mark.slow
def test_import_then_evaluate(released_dir, tmp_path):
  run = tmp_path / "run"
  proc = _run(
    "experiments.import_torch", f"--source={released_dir}", f"--workdir={run}"
  )
  assert proc.returncode == 0, proc.stderr
  assert "phase 1: 2 models, phase 2: 1 models" in proc.stdout
  assert f"python -m experiments.evaluate --workdir={run}" in proc.stdout
  proc = _run("experiments.evaluate", f"--workdir={run}", "--noprogress", *SMALL_EVAL)
  assert proc.returncode == 0, proc.stderr
  with open(run / "eval" / "metrics.csv", newline="") as f:
    rows = {(r["phase"], r["beta"], r["lambda"]): r for r in csv.DictReader(f)}
  assert set(rows) == {("1", "1", "0"), ("1", "4", "0"), ("2", "4", "2")}
  with open(run / "published_metrics.csv", newline="") as f:
    theirs = {(r["phase"], r["beta"], r["lambda"]): r for r in csv.DictReader(f)}
  for key, row in rows.items():
    for metric in ("mig", "sap", "im", "heldout_nll"):  # ours, computed
      assert row[metric] not in ("", "nan"), (key, metric)
    assert 0 <= float(row["mig"]) <= 1 and float(row["im"]) > 0
    for metric in ("nll", "kl", "loss", "mig", "sap", "im"):  # theirs, kept
      assert float(row[f"published_{metric}"]) == float(theirs[key][metric]) or (
        theirs[key][metric] == "nan" and row[f"published_{metric}"] == "nan"
      )
  assert rows[("2", "4", "2")]["published_sap"] == "nan"  # not in their file
  report = (run / "report.md").read_text()
  assert "## The authors' released models" in report
  assert "not their training data" in report
  assert "| 2 | 4 | 2 | 0 |" in report


@pytest.mark.slow
def test_malicious_file_exits_2_and_runs_nothing(released_dir, tmp_path):
  marker = tmp_path / "ran"
  payload = (
    b"\x80\x02"
    + op_call(
      op_global(os.system.__module__, "system"),
      op_str(f"touch {shlex.quote(str(marker))}"),
    )
    + b"."
  )
  target = conftest.model_path(released_dir, conftest.STEMS[1])
  conftest.replace_pickle(
    conftest.model_path(released_dir, conftest.STEMS[0]), target + ".tmp", payload
  )
  os.replace(target + ".tmp", target)
  run = tmp_path / "run"
  proc = _run(
    "experiments.import_torch", f"--source={released_dir}", f"--workdir={run}"
  )
  _one_error_line(
    proc, "betavae_beta_4_seed_0.pth", "refused", f"{os.system.__module__}.system"
  )
  assert not marker.exists() and not run.exists()


@pytest.mark.slow
def test_user_mistakes_exit_2(released_dir, tmp_path):
  _one_error_line(
    _run(
      "experiments.import_torch",
      f"--source={tmp_path / 'x'}",
      f"--workdir={tmp_path / 'run'}",
    ),
    "is not a directory",
  )
  _one_error_line(
    _run("experiments.import_torch", f"--source={released_dir}"),
    "--workdir is required",
  )
  taken = tmp_path / "taken"
  taken.mkdir()
  (taken / "config.json").write_text("{}")
  _one_error_line(
    _run("experiments.import_torch", f"--source={released_dir}", f"--workdir={taken}"),
    "not an import",
  )
  assert os.listdir(taken) == ["config.json"]

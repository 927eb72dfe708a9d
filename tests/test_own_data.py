"""Your own images end to end: a smoke sweep and its evaluation on an .npz without
factors (``dataset.name=arrays``), and a bad file on the command line (one line, exit
2). A file with factors takes the paper datasets' path through the pass; its loading
is tested in tests/data/test_user_data.py."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from lbvae import eval_settings as settings
from lbvae import train
from lbvae.evaluation import runner
from lbvae.evaluation import store
from lbvae.evaluation import tables
from tests.helpers import ROOT
from tests.helpers import config_files


def write_npz(path):
  """400 greyscale images: noise, brighter in one half or the other."""
  rng = np.random.default_rng(0)
  images = rng.integers(0, 40, (400, 64, 64, 1)).astype(np.uint8)
  images[::2, :32] += 100
  images[1::2, 32:] += 100
  np.savez(path, images=images)


def sweep_and_evaluate(workdir, npz):
  c = config_files.load("smoke").get_config()
  c.betas, c.num_seeds = (1.0,), 2  # UDR compares the seeds of a cell
  c.dataset.name, c.dataset.path = "arrays", str(npz)
  c.eval.udr_samples = 100
  train.train(c, str(workdir), show_progress=False)
  result = runner.evaluate_workdir(
    str(workdir), settings.with_eval_defaults(c), log=lambda line: None, progress=False
  )
  return tables.read_csv(result.metrics_csv), open(result.report).read()


@pytest.mark.slow
def test_sweep_and_evaluation_without_factors(tmp_path, monkeypatch):
  monkeypatch.setenv("LBVAE_CACHE_DIR", str(tmp_path / "cache"))
  write_npz(tmp_path / "none.npz")
  rows, report = sweep_and_evaluate(tmp_path / "run", tmp_path / "none.npz")
  assert len(rows) == 6 and all(r["diverged"] == 0 for r in rows)
  for r in rows:
    assert all(
      math.isnan(r[k])
      for k in (
        "mig",
        "sap",
        "im",
        "dci_disentanglement",
        "factor_vae",
        "mig_posterior",
      )
    )
    assert math.isfinite(r["heldout_nll"]) and math.isfinite(r["heldout_kl"])
    assert 0 <= r["active_latents"] <= 10
    assert math.isfinite(r["udr"]) and math.isfinite(r["udr_spearman"])
  assert "- arrays (file): 400 images, factors none" in report
  assert "No ground-truth factors: MIG, SAP, I_m, DCI" in report
  assert "## Choosing (β, λ) without labels: UDR (phase 2)" in report
  assert "No cell has a MIG (no factor labels): UDR is the criterion left." in report
  paths = store.EvalPaths(str(tmp_path / "run"))
  models = os.listdir(paths.models)
  assert not [f for f in models if f.endswith("_mi.png")]
  assert len([f for f in models if f.endswith("_traversal.png")]) == 6
  assert os.path.exists(paths.collapse)


@pytest.mark.slow
def test_a_bad_array_file_is_one_line_and_exit_2(tmp_path):
  np.savez(tmp_path / "bad.npz", images=np.zeros((5, 64, 64), np.uint8))
  proc = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.sweep",
      "--config=configs/smoke.py",
      f"--workdir={tmp_path / 'run'}",
      "--config.dataset.name=arrays",
      f"--config.dataset.path={tmp_path / 'bad.npz'}",
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert proc.returncode == 2, proc.stderr[-2000:]
  lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
  assert lines == [
    f"error: {tmp_path / 'bad.npz'}: 'images' is uint8[5, 64, 64]; "
    "expected uint8[N, H, W, C] with N > 0 and C = 1 or 3"
  ]
  assert "Traceback" not in proc.stderr and not (tmp_path / "run").exists()

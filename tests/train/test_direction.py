"""The paper's direction where it holds even at toy scale (arXiv 2602.09277, §4).

A tiny grid trained for a few hundred steps: higher β gives a lower KL (phase 1), and
continuing with λ > 0 gives a lower L2 reconstruction error than λ = 0 at the same β
(phase 2). Both follow from the loss weights within tens of steps, so they must hold
for any correct trainer; the MI-based claims need real training (docs/results.md).
"""

import csv

import pytest

from lbvae import train
from lbvae.train import config as config_lib
from lbvae.train import workdir as workdir_lib


@pytest.mark.slow
def test_higher_beta_lowers_kl_and_lambda_lowers_l2(tmp_path):
  c = config_lib.defaults()
  c.betas, c.lambdas, c.num_seeds = (1.0, 16.0), (0.0, 8.0), 1
  c.batch_size, c.phase1_steps, c.phase2_steps = 16, 150, 100
  c.window = c.log_every = 50
  c.checkpoint_every = 250
  c.collapse.num_samples = 0
  root = str(tmp_path / "run")
  train.train(c, root, show_progress=False)
  paths = workdir_lib.Paths(root)

  def final(phase):
    with open(paths.final_metrics(phase), newline="") as f:
      return {(float(r["beta"]), float(r["lambda"])): r for r in csv.DictReader(f)}

  p1, p2 = final(1), final(2)
  assert float(p1[(16.0, 0.0)]["kl"]) < float(p1[(1.0, 0.0)]["kl"])
  for beta in (1.0, 16.0):
    assert float(p2[(beta, 8.0)]["l2"]) < float(p2[(beta, 0.0)]["l2"])

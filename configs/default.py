r"""What ``make sweep`` runs: a reduced λβ-VAE grid on procedural dSprites.

Command::

  make sweep        # = the two commands below
  python -m experiments.sweep --config=configs/default.py --workdir=runs/default
  python -m experiments.evaluate --workdir=runs/default

Grid: β in {1, 4, 16} x 1 seed for 1 200 steps of L_β (phase 1), then each continued
for 300 steps under L_λβ with λ in {0, 4} and a fresh Adam (phase 2: 6 models);
batch 64, Adam lr 1e-4 (docs/method.md §4 settings, far fewer steps): 5 400 model-steps.
Run time: docs/performance.md ("The default sweep").

Expected result (the reference's initialisation, ``model.init="torch"``; training-window
means over the last 100 steps; one seed, so no spread). Phase 1, β = 1 / 4 / 16: KL
24.7 / 11.8 / 4.1 nats, NLL 60 / 97 / 168, MIG 0.044 / 0.049 / 0.021 (β = 4 just above
β = 1, then down at β = 16), SAP 0.034 / 0.038 / 0.008, I_m 2.44 / 1.91 / 1.75 nats.
Phase 2: λ = 4 lowers the NLL against λ = 0 at every β (49 vs 52, 60 vs 75, 113 vs 148)
and keeps more KL (29.4 vs 23.6, 18.0 vs 12.6, 7.2 vs 4.4); MIG does not rise at this
length (0.062 vs 0.066, 0.041 vs 0.042, 0.023 vs 0.032). report.md opens with this
reading, generated from the run's numbers. The paper's length: paper_dsprites.py.
"""

from lbvae.train import config as config_lib


def get_config():
  """The default config (see the module docstring)."""
  c = config_lib.defaults()
  c.betas = (1.0, 4.0, 16.0)
  c.lambdas = (0.0, 4.0)
  c.num_seeds = 1
  c.batch_size = 64
  c.phase1_steps = 1200
  c.phase2_steps = 300
  c.window = 100
  c.log_every = 50
  c.checkpoint_every = 300
  return c

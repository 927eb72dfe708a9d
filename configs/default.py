r"""What ``make sweep`` runs: a reduced λβ-VAE grid on procedural dSprites.

Command::

  make sweep        # = the two commands below
  python -m experiments.sweep --config=configs/default.py --workdir=runs/default
  python -m experiments.evaluate --workdir=runs/default

Grid: β in {1, 4, 16} x 1 seed for 1 200 steps of L_β (phase 1), then each continued
for 300 steps under L_λβ with λ in {0, 4} and a fresh Adam (phase 2: 6 models);
batch 64, Adam lr 1e-4 (docs/method.md §4 settings, far fewer steps): 5 400 model-steps.
Run time: docs/performance.md ("The default sweep").

Expected result (training-window means over the last 100 steps): the β trend. Phase 1,
β = 1 / 4 / 16: KL 23.3 / 11.2 / 4.2 nats, NLL 57 / 90 / 165, MIG 0.067 / 0.012 / 0.005,
I_m 2.21 / 1.42 / 1.54 nats. Phase 2: λ = 4 lowers the NLL against λ = 0 at every β
(48 vs 52, 59 vs 73, 112 vs 146) and keeps more KL (28.3 vs 22.6, 16.9 vs 12.0, 7.2 vs
4.5); at β = 16 MIG 0.018 vs 0.009. β = 1 reconstructions place and size the sprites;
shapes and orientation are not learned at this length (the paper's: paper_dsprites.py).
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

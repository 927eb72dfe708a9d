r"""What ``make sweep`` runs: a reduced λβ-VAE grid on procedural dSprites.

Command::

  make sweep        # = the two commands below
  python -m experiments.sweep --config=configs/default.py --workdir=runs/default
  python -m experiments.evaluate --workdir=runs/default

Grid: β in {1, 4, 16} x 1 seed for 1 200 steps of L_β (phase 1), then each continued
for 300 steps under L_λβ with λ in {0, 4} and a fresh Adam (phase 2: 6 models);
batch 64, Adam lr 1e-4 (SPEC §4 settings, far fewer steps): 5 400 model-steps.
On CPU ``model_impl="auto"`` picks the sub-pixel layers (lbvae/layers.py) and
``grid_strategy="auto"`` a loop over per-model jitted steps (docs/performance.md).

Run time: MEASURED_BELOW

Expected result: MEASURED_BELOW
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

r"""How long phase 1 must run on this CPU for the β trend of arXiv 2602.09277 §4 to show.

Command (hours on 2 CPU cores; it resumes if interrupted)::

  python -m experiments.sweep --config=configs/study_trend_cpu.py --workdir=runs/study_trend

Grid: procedural dSprites, β in {1, 4, 16} x 2 seeds of the β-VAE (phase 1 only matters:
phase 2 is one step per model), the paper's architecture, initialisation (PyTorch's),
batch 64 and Adam lr 1e-4, for up to 40 000 steps (the paper trains 150 000). A
checkpoint and a collapse-probe record of every member (lbvae.train.collapse: per-latent
KL, active latents, binned and posterior MIG / I_m on 1 000 stratified images) every
1 000 steps: ``runs/study_trend/phase1/collapse.csv`` is the trajectory.

Expected result (docs/results.md, "How long until the β trend", to step 12 000): β = 16
collapses by step 4 000 (rate 5.5 nats, 6 of 10 latents active, MIG about 0.02); β = 4
reaches β = 1's posterior-aware MIG at about step 9 000 and stays level with it (0.073
against 0.074 at 12 000) while its binned MIG still trails (0.068 against 0.077); β = 1's
rate and I_m fall, β = 4 switches latents off (6.5 active at 12 000). Run time: 12.7
model-steps/s on an idle 2-core CPU, so about 5.3 h for the 40 000 steps.
"""

from lbvae.train import config as config_lib


def get_config():
  """The trend study's config (see the module docstring)."""
  c = config_lib.defaults()
  c.betas = (1.0, 4.0, 16.0)
  c.lambdas = (0.0,)
  c.num_seeds = 2
  c.phase1_steps = 40_000
  c.phase2_steps = 1
  c.window = 1_000
  c.log_every = 500
  c.checkpoint_every = 1_000
  return c

r"""The CPU study of docs/results.md: collapse and the λ remedy at this machine's scale.

Command (hours on 2 CPU cores; it resumes if interrupted)::

  python -m experiments.sweep --config=configs/study_cpu.py --workdir=runs/study_cpu
  python -m experiments.evaluate --workdir=runs/study_cpu

Grid: procedural dSprites, β in {1, 4, 16} x 2 seeds for 6 000 steps of L_β (phase 1,
6 models), then each continued for 3 000 steps under L_λβ with λ in {0, 8} and a
fresh Adam (phase 2, 12 models): 72 000 model-steps at the paper's batch 64 and
learning rate 1e-4 (arXiv 2602.09277 §4 trains 150 000 + 50 000). Training-window
means over the last 500 steps; a checkpoint, and a collapse-probe record of every
member (lbvae.train.collapse: per-latent KL, active latents, binned and posterior
MI on 1 000 stratified images), every 500 steps. The evaluation pass runs at the
paper's sizes (10 000 + 5 000 samples per seed, 20 bins) plus the posterior-aware
MIG / I_m on 2 400 stratified images per seed.

Expected result and measured run time: docs/results.md (the measured run, the
command's wall time, and the reading of the numbers against the paper's claims).
"""

from lbvae.train import config as config_lib


def get_config():
  """The study config (see the module docstring)."""
  c = config_lib.defaults()
  c.betas = (1.0, 4.0, 16.0)
  c.lambdas = (0.0, 8.0)
  c.num_seeds = 2
  c.phase1_steps = 6_000
  c.phase2_steps = 3_000
  c.window = 500
  c.log_every = 100
  c.checkpoint_every = 500
  return c

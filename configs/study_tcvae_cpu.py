r"""The CPU study of docs/results.md ("β-TCVAE"): does β-TCVAE collapse I_m at large β,
and does λ > 0 restore it?

Command (about an hour on 2 CPU cores; resumable)::

  python -m experiments.sweep --config=configs/study_tcvae_cpu.py \
      --workdir=runs/study_tcvae_cpu
  python -m experiments.evaluate --workdir=runs/study_tcvae_cpu

Grid: procedural dSprites, β-TCVAE (``lbvae.objectives.beta_tcvae``, minibatch-weighted
sampling, disentanglement_lib's estimator) with β (the TC weight) in {1, 16} x 1 seed
for 3 000 steps (phase 1, 2 models), then each continued 1 500 steps under the same
objective + λ·E‖x − g(z)‖² with λ in {0, 8} and a fresh Adam (phase 2, 4 models):
12 000 model-steps at the paper's batch 64 and learning rate 1e-4 (arXiv 2602.09277 §4
trains 150 000 + 50 000). Training-window means over the last 500 steps; a checkpoint
and a collapse-probe record (per-latent KL, active latents, binned and posterior MI on
1 000 stratified images) every 500 steps. The evaluation pass runs at the paper's sizes
(10 000 + 5 000 samples, 20 bins) plus the posterior-aware MIG / I_m on 2 400 images.
Expected result and the measured run: docs/results.md (section "β-TCVAE").
"""

from lbvae.train import config as config_lib


def get_config():
  """The study config (see the module docstring)."""
  c = config_lib.defaults()
  c.objective = "beta_tcvae"
  c.beta_tcvae.estimator = "mws"
  c.betas = (1.0, 16.0)
  c.lambdas = (0.0, 8.0)
  c.num_seeds = 1
  c.phase1_steps = 3_000
  c.phase2_steps = 1_500
  c.window = 500
  c.log_every = 100
  c.checkpoint_every = 500
  return c

r"""What ``make sweep`` runs: a reduced λβ-VAE grid on procedural dSprites.

Command::

  make sweep        # = the two commands below
  python -m experiments.sweep --config=configs/default.py --workdir=runs/default
  python -m experiments.evaluate --workdir=runs/default

Grid: β in {1, 4, 16} x 1 seed for 250 steps of L_β (phase 1), then each continued
for 80 steps under L_λβ with λ in {0, 4} and a fresh Adam (phase 2: 6 models);
batch 64, Adam lr 1e-4 (SPEC §4 settings, far fewer steps). 1 230 model-steps.

Run time (measured, training only): 21 min 13 s on the 2-core development CPU while
other jobs shared its cores (load average ~6): phase 1 at 0.80 model-steps/s, phase 2
at 1.69 (grid strategy ``loop``, about 1 min of compilation). With the cores nearly
to itself the same step runs at 1.7-2.6 model-steps/s, i.e. 10-13 min. The
evaluation pass comes on top (see experiments/evaluate.py).

Expected result (measured, training-window means over the last 50 steps): the β
trend is already there. Phase 1 KL 8.4 / 0.58 / 0.037 nats and NLL 415 / 440 / 452
for β = 1 / 4 / 16. In phase 2, λ = 4 keeps more information than λ = 0 at every β
(KL 12.2 vs 10.3, 0.63 vs 0.49, 0.050 vs 0.038) at a slightly lower L2 error. The
models are far from converged: reconstructions are blurry blobs (the paper trains
150 000 + 50 000 steps: configs/paper_dsprites.py).
"""

from lbvae.train import config as config_lib


def get_config():
  """The default config (see the module docstring)."""
  c = config_lib.defaults()
  c.betas = (1.0, 4.0, 16.0)
  c.lambdas = (0.0, 4.0)
  c.num_seeds = 1
  c.batch_size = 64
  c.phase1_steps = 250
  c.phase2_steps = 80
  c.window = 50
  c.log_every = 10
  c.checkpoint_every = 50
  return c

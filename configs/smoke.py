r"""Smoke test of the whole pipeline: 2 β x 2 λ x 1 seed, a handful of steps.

Command::

  python -m experiments.sweep --config=configs/smoke.py --workdir=/tmp/smoke

Run time: under a minute on 2 CPU cores, almost all of it compilation; seconds when
JAX's persistent compilation cache holds the programs (``JAX_COMPILATION_CACHE_DIR``,
as the test suite sets it; docs/performance.md, "The default sweep").

Expected result: both phases finish (phase 1 to step 4, phase 2 to step 6) with
finite losses, checkpoints at every second step, 4 phase-2 models. The numbers mean
nothing scientifically. The test suite runs it end to end.
"""

from lbvae.train import config as config_lib


def get_config():
  """The smoke config (see the module docstring)."""
  c = config_lib.defaults()
  c.betas = (1.0, 8.0)
  c.lambdas = (0.0, 4.0)
  c.num_seeds = 1
  c.batch_size = 4
  c.phase1_steps = 4
  c.phase2_steps = 2
  c.window = 2
  c.log_every = 1
  c.checkpoint_every = 2
  c.eval.num_train = 200
  c.eval.num_test = 100
  c.eval.batch_size = 100
  c.eval.factor_vae_votes = 12
  c.eval.factor_vae_batch = 8
  c.eval.posterior_samples = 240
  c.collapse.num_samples = 120
  return c

r"""The authors' extended grid (arXiv 2602.09277; docs/method.md §5): β up to 256.

Command (dSprites; any dataset with --config.dataset.name/.source/.path)::

  python -m experiments.sweep --config=configs/paper_extended.py --workdir=runs/extended
  python -m experiments.evaluate --workdir=runs/extended

Grid: β in {1, 2, 4, 8, 16, 32, 64, 128, 256} x 10 seeds, latent size 15, 150 000
steps of L_β (phase 1: 90 models); then λ in {0, 4, 8, 16, 32} for 50 000 more steps
with a fresh Adam (phase 2: 450 models): 13.5 M + 22.5 M model-steps. Otherwise the
docs/method.md §4 settings (batch 64, Adam lr 1e-4, 5 000-step windows). Run time:
an accelerator's job (docs/performance.md has the measured per-model throughput);
years on the 2-core development CPU.
Expected result: the collapse at λ = 0 reaches every latent at the largest β (the
rate and the posterior-aware I_m go to ~0), and larger λ keeps information at larger
β; the extended grid shows how far each λ holds.
"""

from lbvae.train import config as config_lib


def get_config():
  """The extended grid (see the module docstring)."""
  c = config_lib.defaults()
  c.betas = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0)
  c.lambdas = (0.0, 4.0, 8.0, 16.0, 32.0)
  c.latent_dim = 15
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

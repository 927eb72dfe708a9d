r"""The paper's image protocol for every disentangling objective: λ as a plug-in.

Command (``arg`` names the objective; without one: β-TCVAE)::

  python -m experiments.sweep --config=configs/paper_objectives.py:beta_tcvae \
      --workdir=runs/paper_beta_tcvae
  python -m experiments.evaluate --workdir=runs/paper_beta_tcvae
  # the others: beta_vae, dip_vae_i, dip_vae_ii, annealed_vae, factor_vae

Grid (docs/method.md §4 and §6): procedural dSprites, 10 seeds; phase 1 trains 150 000
steps under the objective, its strength on the β axis at the six values of
disentanglement_lib's study (``STRENGTHS``); phase 2 continues each model 50 000 steps
under the same objective + λ·E‖x − g(z)‖², λ in {0, 2, 4, 6, 8}, with a fresh Adam:
60 + 300 models, 9 M + 15 M model-steps per objective (the paper's own β grid is
``configs/paper_dsprites.py``).

Run time: an accelerator's job (vmapped grid, 100 steps per compiled call; per model,
the β-VAE's cost in docs/performance.md plus FactorVAE's discriminator step). Expected
result: not run in full; docs/results.md answers its question at CPU scale for β-TCVAE.
"""

from lbvae.train import config as config_lib

# The β axis of each objective: disentanglement_lib v1.5's study (Locatello et al.,
# 2019; config/unsupervised_study_v1/sweep.py).
STRENGTHS = {
  "beta_vae": (1.0, 2.0, 4.0, 6.0, 8.0, 16.0),  # β
  "beta_tcvae": (1.0, 2.0, 4.0, 6.0, 8.0, 10.0),  # β, the TC weight
  "dip_vae_i": (1.0, 2.0, 5.0, 10.0, 20.0, 50.0),  # λ_od (λ_d = 10 λ_od)
  "dip_vae_ii": (1.0, 2.0, 5.0, 10.0, 20.0, 50.0),  # λ_od (λ_d = λ_od)
  "annealed_vae": (5.0, 10.0, 25.0, 50.0, 75.0, 100.0),  # C_max, nats (γ = 1000)
  "factor_vae": (10.0, 20.0, 30.0, 40.0, 50.0, 100.0),  # γ
}


def get_config(arg=None):
  """The protocol for objective ``arg`` (default "beta_tcvae"; module docstring).

  An unknown name is left to the sweep's config check (one ``error:`` line).
  """
  name = arg or "beta_tcvae"
  c = config_lib.defaults()
  c.objective = name
  c.betas = STRENGTHS.get(name, c.betas)
  c.dataset.name = "dsprites"
  c.dataset.source = "procedural"
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

r"""The full image protocol of arXiv 2602.09277 (§4; docs/method.md) on dSprites.

Command::

  python -m experiments.sweep --config=configs/paper_dsprites.py --workdir=runs/paper
  python -m experiments.evaluate --workdir=runs/paper
  # the original data instead of the procedural copy:
  #   --config.dataset.source=file --config.dataset.path=dsprites_ndarray_....npz

Grid: β in {1, 4, 8, 16, 32} x 10 seeds for 150 000 steps of L_β (phase 1), then
each continued for 50 000 steps under L_λβ with λ in {0, 2, 4, 6, 8} and a fresh
Adam (phase 2: 250 models); batch 64, Adam lr 1e-4; training NLL/KL/L2 are means
over the last 5 000 steps. That is 7.5 M + 12.5 M model-steps.

Run time: meant for an accelerator (vmapped grid, 100 steps per compiled call); on
the 2-core development CPU it would take months (about 2.6 model-steps/s).
Expected result (the paper's): with λ = 0 the MI-based scores (MIG, I_m) fall at
large β; continuing with λ > 0 raises MI, MIG and I_m at large β.
"""

from lbvae.train import config as config_lib


def get_config():
  """The docs/method.md §4 protocol (see the module docstring).

  ``config_lib.defaults()`` already holds every docs/method.md §4 setting (grid, seeds, batch,
  Adam, 150 000 + 50 000 steps, 5 000-step windows); only the run mechanics are set.
  """
  c = config_lib.defaults()
  c.dataset.name = "dsprites"
  c.dataset.source = "procedural"
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

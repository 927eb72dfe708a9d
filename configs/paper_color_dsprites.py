r"""The full image protocol of arXiv 2602.09277 (docs/method.md §4) on color-dSprites:
each sprite painted in a colour drawn uniformly from [0.5, 1] per channel, on black
(disentanglement_lib's variant; docs/datasets.md).

Command (the original dSprites file, from github.com/deepmind/dsprites-dataset)::

  python -m experiments.sweep --config=configs/paper_color_dsprites.py \
      --workdir=runs/paper_color \
      --config.dataset.path=/data/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz
  python -m experiments.evaluate --workdir=runs/paper_color
  # without a download: --config.dataset.source=procedural (our dSprites renderer)

Grid: as configs/paper_dsprites.py (β in {1, 4, 8, 16, 32} x 10 seeds, 150 000 steps;
then λ in {0, 2, 4, 6, 8} for 50 000 more; 250 phase-2 models), on 737 280 RGB
images with dSprites' factors shape 3, scale 6, orientation 40, position x 32,
position y 32. Run time: an accelerator's job (docs/performance.md).
Expected result: the paper's pattern (not measured on this variant yet): with λ = 0
the MI-based scores fall at large β; continuing with λ > 0 raises MI, MIG and I_m.
"""

from lbvae.train import config as config_lib


def get_config():
  """The docs/method.md §4 protocol on color-dSprites (see the module docstring)."""
  c = config_lib.defaults()
  c.dataset.name = "color_dsprites"
  c.dataset.source = "file"
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

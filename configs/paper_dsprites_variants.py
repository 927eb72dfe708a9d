r"""The full image protocol of arXiv 2602.09277 (docs/method.md §4) on a dSprites variant.

Command (``arg``: ``color``, ``noisy`` or ``scream``; without one: color; the original
dSprites file from github.com/deepmind/dsprites-dataset)::

  python -m experiments.sweep --config=configs/paper_dsprites_variants.py:color \
      --workdir=runs/paper_color \
      --config.dataset.path=/data/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz
  python -m experiments.evaluate --workdir=runs/paper_color
  # scream: add --config.dataset.background=/data/scream.jpg (the painting);
  # without a download: --config.dataset.source=procedural (our dSprites renderer)

The variants, as disentanglement_lib builds them (docs/datasets.md): color-dSprites,
each sprite in a colour uniform in [0.5, 1] per channel, on black; noisy-dSprites, the
sprite white on uniform noise; scream-dSprites, the sprite inverted on a random patch
of "The Scream" averaged with a random colour; drawn afresh for every image.
Grid: as configs/paper_dsprites.py (β in {1, 4, 8, 16, 32} x 10 seeds, 150 000 steps;
then λ in {0, 2, 4, 6, 8} for 50 000 more; 250 phase-2 models), on 737 280 RGB
images with dSprites' factors shape 3, scale 6, orientation 40, position x 32,
position y 32. Run time: an accelerator's job (docs/performance.md).
Expected result: the paper's pattern (not measured on the variants yet): with λ = 0
the MI-based scores fall at large β; continuing with λ > 0 raises MI, MIG and I_m.
"""

from lbvae.train import config as config_lib

VARIANTS = ("color", "noisy", "scream")


def get_config(arg=None):
  """The protocol on ``<arg>_dsprites`` (default "color"; module docstring).

  An unknown name is left to the sweep's dataset check (one ``error:`` line).
  """
  c = config_lib.defaults()
  c.dataset.name = f"{arg or VARIANTS[0]}_dsprites"
  c.dataset.source = "file"
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

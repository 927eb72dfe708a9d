r"""The full image protocol of arXiv 2602.09277 (docs/method.md §4) on SmallNORB.

Command (the folder of the six smallnorb-*-{dat,cat,info}.mat files, or their .mat.gz,
from cs.nyu.edu/~ylclab/data/norb-v1.0-small/)::

  python -m experiments.sweep --config=configs/paper_smallnorb.py \
      --workdir=runs/paper_smallnorb --config.dataset.path=/data/smallnorb
  python -m experiments.evaluate --workdir=runs/paper_smallnorb

Grid: as configs/paper_dsprites.py (β in {1, 4, 8, 16, 32} x 10 seeds, 150 000 steps;
then λ in {0, 2, 4, 6, 8} for 50 000 more; 250 phase-2 models), on the 48 600
greyscale images (training + testing, 96x96 resized to 64x64) with disentanglement_lib's
factors category 5, elevation 9, azimuth 18, lighting 6 (the instance is drawn, not a
factor). Run time: an accelerator's job (docs/performance.md); the images take 0.2 GB.
Expected result: the paper's pattern (not measured on SmallNORB yet): with λ = 0 the
MI-based scores fall at large β; continuing with λ > 0 raises MI, MIG and I_m.
"""

from lbvae.train import config as config_lib


def get_config():
  """The docs/method.md §4 protocol on SmallNORB (see the module docstring)."""
  c = config_lib.defaults()
  c.dataset.name = "smallnorb"
  c.dataset.source = "file"
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

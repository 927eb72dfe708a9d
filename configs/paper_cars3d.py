r"""The full image protocol of arXiv 2602.09277 (docs/method.md §4) on Cars3D.

Command (the folder of the 183 car_*_mesh.mat files: cars/ of nips2015-analogy-data.tar.gz
from scottreed.info)::

  python -m experiments.sweep --config=configs/paper_cars3d.py \
      --workdir=runs/paper_cars3d --config.dataset.path=/data/cars
  python -m experiments.evaluate --workdir=runs/paper_cars3d

Grid: as configs/paper_dsprites.py (β in {1, 4, 8, 16, 32} x 10 seeds, 150 000 steps;
then λ in {0, 2, 4, 6, 8} for 50 000 more; 250 phase-2 models), on 17 568 RGB images
(128x128 resized to 64x64) with factors elevation 4, azimuth 24, object 183. Run time:
an accelerator's job (docs/performance.md); the images take 0.2 GB.
Expected result: the paper's pattern (not measured on Cars3D yet): with λ = 0 the
MI-based scores fall at large β; continuing with λ > 0 raises MI, MIG and I_m.
"""

from lbvae.train import config as config_lib


def get_config():
  """The docs/method.md §4 protocol on Cars3D (see the module docstring)."""
  c = config_lib.defaults()
  c.dataset.name = "cars3d"
  c.dataset.source = "file"
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

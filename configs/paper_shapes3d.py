r"""The full image protocol of arXiv 2602.09277 (docs/method.md §4) on Shapes3D.

Command (the original file, 3dshapes.h5, from github.com/deepmind/3d-shapes)::

  python -m experiments.sweep --config=configs/paper_shapes3d.py --workdir=runs/paper_s3d \
      --config.dataset.path=/data/3dshapes.h5
  python -m experiments.evaluate --workdir=runs/paper_s3d
  # or a prepared TFDS copy: --config.dataset.source=tfds --config.dataset.path=DATA_DIR
  # or, without a download: --config.dataset.name=shapes3d_procedural
  #   --config.dataset.source=procedural

Grid: as configs/paper_dsprites.py (β in {1, 4, 8, 16, 32} x 10 seeds, 150 000 steps;
then λ in {0, 2, 4, 6, 8} for 50 000 more; 250 phase-2 models), on 480 000 RGB images
with factors floor hue 10, wall hue 10, object hue 10, scale 8, shape 4,
orientation 15. Run time: an accelerator's job (see configs/gpu.py and
docs/performance.md); months on the 2-core development CPU.
Expected result (the paper's): with λ = 0 the MI-based scores fall at large β;
continuing with λ > 0 raises MI, MIG and I_m at large β.
"""

from lbvae.train import config as config_lib


def get_config():
  """The docs/method.md §4 protocol on Shapes3D (see the module docstring)."""
  c = config_lib.defaults()
  c.dataset.name = "shapes3d"
  c.dataset.source = "file"
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

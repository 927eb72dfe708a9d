r"""The full image protocol of arXiv 2602.09277 (docs/method.md §4) on MPI3D-real.

Command (the original file, mpi3d_real.npz, from
github.com/rr-learning/disentanglement_dataset)::

  python -m experiments.sweep --config=configs/paper_mpi3d.py --workdir=runs/paper_mpi3d \
      --config.dataset.path=/data/mpi3d_real.npz
  python -m experiments.evaluate --workdir=runs/paper_mpi3d

Grid: as configs/paper_dsprites.py (β in {1, 4, 8, 16, 32} x 10 seeds, 150 000 steps;
then λ in {0, 2, 4, 6, 8} for 50 000 more; 250 phase-2 models), on 1 036 800 RGB
images with factors object colour 6, object shape 6, object size 2, camera height 3,
background colour 3, horizontal axis 40, vertical axis 40. The uint8 images take
12.7 GB: with less device memory than that, ``dataset.placement=auto`` streams them
from the memory-mapped file. Run time: an accelerator's job (docs/performance.md).
Expected result (the paper's): with λ = 0 the MI-based scores fall at large β;
continuing with λ > 0 raises MI, MIG and I_m at large β.
"""

from lbvae.train import config as config_lib


def get_config():
  """The docs/method.md §4 protocol on MPI3D-real (see the module docstring)."""
  c = config_lib.defaults()
  c.dataset.name = "mpi3d_real"
  c.dataset.source = "file"
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

r"""The full image protocol of arXiv 2602.09277 (§4; docs/method.md) packed onto one GPU.

Command (one dataset per run; ``arg`` picks it)::

  python -m experiments.sweep --config=configs/gpu.py --workdir=runs/gpu_dsprites
  python -m experiments.sweep --config=configs/gpu.py:shapes3d \
      --config.dataset.path=3dshapes.h5 --workdir=runs/gpu_shapes3d
  python -m experiments.sweep --config=configs/gpu.py:mpi3d_real \
      --config.dataset.path=real3d_complicated_shapes_ordered.npz --workdir=runs/gpu_mpi3d
  python -m experiments.evaluate --workdir=runs/gpu_dsprites

The science of ``configs/paper_dsprites.py`` (20 M model-steps of 6.24 GFLOP per
dataset); only the mechanics differ: the whole grid (50 models, then 250) is one
``vmap`` program, 100 steps per compiled call; matmuls at JAX's default precision (TF32
on NVIDIA GPUs); the sub-pixel layers (``model_impl="auto"`` on a GPU: the same function
as the reference layers, without their convolutions over zero-dilated inputs;
lbvae.layers).
``--config.precision=bf16`` moves fewer bytes per step (docs/performance.md, "Compiled
for accelerators"). Run time: the target is the three datasets in under 2 hours on one
H200, docs/performance.md ("GPU") has the rate.
Expected result (the paper's): with λ = 0 the MI-based scores fall at large β; λ > 0
raises MI, MIG and I_m at large β.
"""

from lbvae.train import config as config_lib

# dataset name -> default source (the non-procedural ones need --config.dataset.path).
SOURCES = {"dsprites": "procedural", "shapes3d": "file", "mpi3d_real": "file"}


def get_config(arg=None):
  """The docs/method.md §4 protocol for dataset ``arg`` (default dSprites), vmapped on a GPU.

  ``config_lib.defaults()`` already holds every docs/method.md §4 setting; only the dataset and
  the run mechanics are set here.
  """
  name = arg or "dsprites"
  c = config_lib.defaults()
  c.dataset.name = name
  c.dataset.source = SOURCES.get(name, "file")
  c.log_every = 1_000
  c.checkpoint_every = 10_000
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

r"""The full image protocol of arXiv 2602.09277 (§4; docs/method.md) packed onto one GPU.

Command (one dataset per run; ``arg`` picks it)::

  python -m experiments.sweep --config=configs/gpu.py --workdir=runs/gpu_dsprites
  python -m experiments.sweep --config=configs/gpu.py:shapes3d \
      --config.dataset.path=3dshapes.h5 --workdir=runs/gpu_shapes3d
  python -m experiments.sweep --config=configs/gpu.py:mpi3d_real \
      --config.dataset.path=real3d_complicated_shapes_ordered.npz --workdir=runs/gpu_mpi3d
  python -m experiments.evaluate --workdir=runs/gpu_dsprites

Same science as ``configs/paper_dsprites.py`` (5 β x 10 seeds x 150 000 steps, then
5 β x 5 λ x 10 seeds x 50 000 steps; batch 64, Adam 1e-4): 20 M model-steps per
dataset, 60 M for the three, at 6.24 GFLOP each. What changes is how the grid is run:

* ``grid_strategy="vmap"``: the whole grid (50 models in phase 1, 250 in phase 2) is
  one batched program, so the device sees 50-250 independent models' convolutions at
  once; 100 steps per compiled call (a rolled ``lax.scan``) keep the host out of the
  loop. 250 models should need about 20 GB of device memory (XLA's executable size
  on CPU is ~80 MiB per model; an H200 has 141 GB).
* Matmul precision: JAX's default for float32 convolutions and matmuls on NVIDIA
  GPUs since Ampere is TF32 (10-bit mantissa inputs, float32 accumulation; H200
  dense peak 494 TFLOP/s against 67 in true float32); we keep it. bfloat16 inputs
  (989 TFLOP/s peak) are one environment variable away,
  ``JAX_DEFAULT_MATMUL_PRECISION=bfloat16``; ``experiments/gpu_bench.sh`` measures
  both, and docs/performance.md records whether it helps.
* ``model_impl``: "reference" until the H200 figures of ``experiments/gpu_bench.sh``
  (reference vs subpixel under vmap, docs/performance.md) say otherwise; both compute the
  same function with the same parameters (lbvae.layers), so this only changes speed.

Run time: the issue's target is the whole protocol (three datasets) in under 2 hours
on one H200, i.e. at least ~8 300 model-steps/s (52 TFLOP/s sustained);
docs/performance.md has the measured rate. Expected result (the paper's): with
λ = 0 the MI-based scores fall at large β; λ > 0 raises MI, MIG and I_m at large β.
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
  c.model_impl = "reference"
  return c

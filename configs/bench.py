r"""Training-throughput benchmark of the docs/method.md §4 conv VAE (issue 6; arXiv 2602.09277).

Run::

    python -m experiments.bench --config=configs/bench.py                  # make bench
    python -m experiments.bench --config=configs/bench.py --config.grid_size=5 \
        --config.steps=10 --config.torch_python=/tmp/torchenv/bin/python
    python -m experiments.bench --config=configs/bench.py --config.profile=True

Trains a grid of ``grid_size`` models (batch 64 of random binary 64x64x1 images,
β-VAE loss, Adam 1e-4) with the trainer's own one-model step
(``lbvae.train.step.make_train_step``) lifted by ``lbvae.train.grid_runner.lift``. First it
times every (impl, strategy) alternative side by side (``compare_rounds`` interleaved
rounds of one grid step each, compile time excluded and reported apart), then runs the
fastest for ``steps`` steps and prints its figures; the last line is one JSON object
(``grid_size``, ``steps``, ``backend``, ``model_steps_per_second``,
``peak_memory_bytes``, FLOP/s, fraction of peak where known, every alternative).

Run time and expected result on the quiet 2-core development CPU (docs/performance.md
has the measured tables): about 1 min 40 s, most of it compiling six programs and
timing the slow ``reference/map`` (``--config.strategies=loop,map`` skips the rest).
"subpixel" runs ~4x the model-steps/s of "reference"; with "subpixel", ``map`` beats ``loop``
(48.5 vs 60.9 ms per model-step) with default malloc and ties with it (~42 ms) with
``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (which ``make bench`` sets); against the
sequential PyTorch loop run right after, 1.07x and 0.87x per model-step respectively.
On one H200, ``experiments/gpu_bench.sh`` runs grids of 25-250 under ``vmap``.
"""

import ml_collections


def get_config(arg=None):
  """The benchmark defaults: grid of 5, ten timed steps, all alternatives compared."""
  del arg
  c = ml_collections.ConfigDict()
  c.grid_size = 5
  c.steps = 10                 # timed steps of the chosen alternative
  c.warmup_steps = 1           # untimed steps after compilation
  c.batch_size = 64
  c.num_channels = 1
  c.latent_dim = 10
  c.beta = 4.0
  c.learning_rate = 1e-4
  # Alternatives timed side by side: comma-separated. "subpixel" and "reference" compute
  # the same function (lbvae.layers); the strategies are lbvae.train.grid_runner's.
  c.impls = "reference,subpixel"
  c.strategies = "vmap,map,loop"
  c.map_batch_size = 0         # members per lax.map iteration (0: one at a time)
  c.compare_rounds = 2         # timed rounds per alternative (0: skip the comparison
                               # and run the first impl/strategy listed)
  c.max_step_seconds = 15.0    # an alternative slower than this per grid step is
                               # timed once and dropped from further rounds
  # "default" keeps the backend's default (TF32 on recent GPUs, float32 on CPU);
  # else one of "float32", "tensorfloat32", "bfloat16" (jax_default_matmul_precision).
  c.matmul_precision = "default"
  # "wall" (elapsed) or "process" (this process's CPU time: robust on a shared CPU;
  # with XLA_FLAGS=--xla_cpu_multi_thread_eigen=false and torch_threads=1 it compares
  # single-threaded work).
  c.clock = "wall"
  c.peak_flops = 0.0           # FLOP/s peak for the fraction; 0: from the device table
  c.profile = False            # also time each conv layer alone, per impl
  c.profile_repeats = 5
  # PyTorch yardstick: a measured figure, or an interpreter with torch to run
  # experiments/bench_torch.py in a subprocess after the JAX figures.
  c.torch_model_steps_per_second = 0.0
  c.torch_python = ""
  c.torch_threads = 0          # 0: torch's default (all cores)
  return c

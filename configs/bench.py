r"""Training-throughput benchmark of the docs/method.md §4 conv VAE (arXiv 2602.09277).

Run::

    python -m experiments.bench --config=configs/bench.py                  # make bench
    python -m experiments.bench --config=configs/bench.py --config.grid_size=5 \
        --config.steps=10 --config.torch_python=/tmp/torchenv/bin/python
    python -m experiments.bench --config=configs/bench.py --config.profile=True

Trains a grid of ``grid_size`` models (batch 64 of random binary 64x64x1 images,
β-VAE loss, Adam 1e-4) with the trainer's one-model step lifted by
``lbvae.train.grid_runner.lift``. It first times every (impl, strategy) alternative
side by side (``compare_rounds`` interleaved rounds, compile time reported apart),
then runs the fastest for ``steps`` steps; the last line is one JSON object
(``grid_size``, ``steps``, ``backend``, ``model_steps_per_second``,
``peak_memory_bytes``, FLOP/s, fraction of peak where known, every alternative).

Run time: minutes on 2 CPU cores, mostly compiling and timing the slow ``reference/map``
(``--config.strategies=loop,map`` skips it). Which one wins: docs/performance.md.
"""

import ml_collections


def get_config(arg=None):
  """The benchmark defaults: grid of 5, ten timed steps, all alternatives compared."""
  del arg
  c = ml_collections.ConfigDict()
  c.grid_size = 5
  c.steps = 10  # timed steps of the chosen alternative
  c.warmup_steps = 1  # untimed steps after compilation
  c.batch_size = 64
  c.num_channels = 1
  c.latent_dim = 10
  c.beta = 4.0
  c.learning_rate = 1e-4
  # Alternatives timed side by side: comma-separated. "subpixel" and "reference" compute
  # the same function (lbvae.layers); the strategies are lbvae.train.grid_runner's.
  c.impls = "reference,subpixel"
  c.strategies = "vmap,map,loop"
  c.map_batch_size = 0  # members per lax.map iteration (0: one at a time)
  c.compare_rounds = 2  # timed rounds per alternative (0: skip the comparison
  # and run the first impl/strategy listed)
  c.max_step_seconds = 15.0  # an alternative slower than this per grid step is
  # timed once and dropped from further rounds
  # "default" keeps the backend's default (TF32 on recent GPUs, float32 on CPU);
  # else one of "float32", "tensorfloat32", "bfloat16" (jax_default_matmul_precision).
  c.matmul_precision = "default"
  # "wall" (elapsed) or "process" (this process's CPU time: robust on a shared CPU;
  # with XLA_FLAGS=--xla_cpu_multi_thread_eigen=false and torch_threads=1 it compares
  # single-threaded work).
  c.clock = "wall"
  c.peak_flops = 0.0  # FLOP/s peak for the fraction; 0: from the device table
  c.profile = False  # also time each conv layer alone, per impl
  c.profile_repeats = 5
  # PyTorch yardstick: a measured figure, or an interpreter with torch to run
  # experiments/bench_torch.py in a subprocess after the JAX figures.
  c.torch_model_steps_per_second = 0.0
  c.torch_python = ""
  c.torch_threads = 0  # 0: torch's default (all cores)
  return c

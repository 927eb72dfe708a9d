"""The linear-Gaussian reproduction of arXiv 2602.09277 (docs/theory.md): both solvers.

Command (also ``make linear``)::

    python -m experiments.linear --config=configs/linear.py --workdir=runs/linear

Run time (docs/theory.md, section 10): minutes for the fixed-point half, hours for the
AdamW half (O(n^3) per step) on 2 CPU cores; the same command continues a stopped run
from workdir/progress/. The fixed-point part alone: ``--config.solvers=fixed_point``.

Expected result (summary.csv, heatmaps_n*.png; docs/theory.md, section 8, cell by cell):
at lambda = 0 every beta >= 4 cell is collapsed (SAP and I_m zero, R at run.json's
collapse_value); every lambda > 0 cell keeps SAP and I_m clearly above zero.
contraction.png: at lambda = 0 the gain ||B_k||_2 falls by 1/beta per iteration for
beta > 1; with lambda = 2 it levels off. Quick check on a saved instance (seconds)::

    python -m experiments.linear --config=configs/linear.py --workdir=/tmp/lin \\
        --config.problem=runs/linear/instance_n50.npz --config.num_inits=16 \\
        --config.solvers=fixed_point --config.betas="(4,8,16,32)"
"""

import ml_collections


def get_config(arg=None):
  """Returns the published protocol; ``arg`` is unused (one protocol per file)."""
  del arg
  config = ml_collections.ConfigDict()
  # "published": the authors' instances and starts (NumPy's legacy stream, seed 42;
  # the gradient starts' A, B are ours, from config.seed); "generated": everything
  # drawn with JAX from config.seed (lbvae/linear/setups.py).
  config.instance = "published"
  # Files with Gamma [n, s], Sigma_V [s, s] or [s], optional Sigma_Y and noise_var,
  # comma-separated (e.g. the authors' Gamma + Sigma_Y file and their Sigma_V file);
  # when set they replace the instance (n_values, s are then taken from them) and
  # the starts are the generated ones.
  config.problem = ""
  config.n_values = (50, 100)
  config.m = 10
  config.s = 5
  config.noise_var = 0.05
  config.seed = 0
  config.betas = (1.0, 4.0, 8.0, 16.0, 32.0)
  config.lambdas = (0.0, 2.0, 4.0, 6.0, 8.0)
  config.num_inits = 50
  config.solvers = "fixed_point,gradient"  # comma-separated subset

  # Per-n settings below hold one value per size class; an instance of dimension n
  # uses the first class >= n (the last class beyond it).
  config.size_classes = (50, 100)

  config.fixed_point = ml_collections.ConfigDict()
  config.fixed_point.tol = (1e-6, 1e-5)
  config.fixed_point.max_iters = (50_000, 100_000)  # block updates
  # Runs advanced together (over all threads). The beta = 1, lambda > 0 runs (200
  # of 1 250) go to the iteration cap; the others converge within a few hundred
  # steps and share the remaining lanes. Threads: host threads, one per CPU core.
  config.fixed_point.num_lanes = 256
  config.fixed_point.num_threads = 2

  config.gradient = ml_collections.ConfigDict()
  config.gradient.steps = (30_000, 50_000)
  config.gradient.clip_ab = (1.0, 2.0)
  config.gradient.clip_l = (2.0, 3.0)
  config.gradient.learning_rate = 1e-3
  config.gradient.b1 = 0.9
  config.gradient.b2 = 0.999
  config.gradient.eps = 1e-8
  config.gradient.weight_decay = 0.01
  config.gradient.jitter = 5e-5
  # .npz with the published runs' A, B starts (A_n50 [50, 50, m], B_n50, A_n100,
  # B_n100), written with PyTorch by experiments/bench_torch_linear.py --write_ab;
  # empty: A, B ~ N(0, 1) drawn with JAX from config.seed.
  config.gradient.ab_starts = ""
  config.gradient.chunk = 500  # steps per call (progress granularity)
  # Runs advanced together by one vmapped step (per size class); a chunk takes all
  # the steps of a call while its matrices stay in cache (lbvae/linear/gradient.py;
  # the best sizes on the 2-core CPU, docs/theory.md section 10). Threads: host
  # threads, one per CPU core. On a GPU: one thread, runs_per_chunk >= all runs.
  config.gradient.runs_per_chunk = (25, 10)
  config.gradient.num_threads = 2
  # The solver's state goes to workdir/progress/ this often (its final models once
  # it is done); the same command continues a stopped run from there.
  config.gradient.save_minutes = 10.0

  config.contraction = ml_collections.ConfigDict()
  config.contraction.betas = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
  config.contraction.lambdas = (0.0, 2.0)
  config.contraction.iterations = 100
  return config

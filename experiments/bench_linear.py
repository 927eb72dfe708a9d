"""Benchmark: wall time of the linear-Gaussian protocol of arXiv 2602.09277 (SPEC §3).

    python -m experiments.bench_linear                      # also `make bench`
    python -m experiments.bench_linear --sizes=50 --gradient_steps=5

For each n in --sizes: the full fixed-point grid (cells x inits of
configs/linear.py), compiled and run once; the sequential NumPy baseline timed on
a few cells and extrapolated (n = 50 only, by default); the gradient solver timed
over --gradient_steps steps of the whole grid and extrapolated to the configured
step count (labelled as such). Prints one line per measurement, then one JSON line.
The same command runs unchanged on a GPU host.
"""

import json

from absl import flags
import jax
from ml_collections import config_flags

from lbvae import cli
from lbvae import errors
from lbvae.linear import bench
from lbvae.linear import protocol

_CONFIG = config_flags.DEFINE_config_file("config", "configs/linear.py",
                                          "Protocol config whose grid is timed.")
_SIZES = flags.DEFINE_list("sizes", ["50", "100"], "Instance dimensions n to time.")
_NUMPY_SIZES = flags.DEFINE_list("numpy_sizes", ["50"], "n for the NumPy baseline.")
_STEPS = flags.DEFINE_integer("gradient_steps", 10, "Gradient steps to time (>= 1).")
_SOLVERS = flags.DEFINE_string("solvers", "fixed_point,gradient", "Solvers to time.")


def _minutes(seconds: float) -> str:
  return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def main(argv):
  errors.require(len(argv) == 1, f"unexpected arguments: {' '.join(argv[1:])}")
  config = _CONFIG.value
  config.solvers = _SOLVERS.value
  protocol.validate(config)
  errors.require(_STEPS.value >= 1, "--gradient_steps must be >= 1")
  try:
    sizes = [int(n) for n in _SIZES.value]
    numpy_sizes = [int(n) for n in _NUMPY_SIZES.value]
  except ValueError:
    raise errors.ConfigError(
        "--sizes and --numpy_sizes take integers, e.g. 50,100") from None
  errors.require(sizes and all(n > 0 for n in sizes), "--sizes needs positive integers")
  solvers = protocol.solver_names(config)
  device = f"{jax.default_backend()} ({jax.devices()[0].device_kind}, "
  device += f"{jax.device_count()} device(s))"
  print(f"linear protocol benchmark on {device}; grid {len(config.betas)} betas x "
        f"{len(config.lambdas)} lambdas x {config.num_inits} inits; times include "
        "compilation unless stated; CPU = this process's CPU time", flush=True)
  report = dict(device=device, fixed_point={}, numpy_reference={}, gradient={})
  with jax.enable_x64(True):
    for n in sizes:
      if "fixed_point" in solvers:
        fp = bench.fixed_point(config, n=n)
        print(f"fixed_point n={n}: {fp['cells']} cells x {fp['inits']} inits = "
              f"{fp['runs']} runs, {fp['block_updates']:,} block updates "
              f"({fp['capped']} runs at the cap): compile {fp['compile_s']:.1f} s "
              f"+ run {fp['run_s']:.1f} s = {fp['total_s']:.1f} s wall "
              f"(CPU {fp['cpu_s']:.1f} s)",
              flush=True)
        iterations = fp.pop("iterations")
        report["fixed_point"][n] = fp
        if n in numpy_sizes:
          ref = bench.numpy_reference(config, n=n, iterations=iterations)
          ratio = ref["extrapolated_s"] / fp["total_s"]
          per_update = ref["seconds_per_block_update"]
          print(f"numpy sequential n={n}: {per_update * 1e6:.0f} us "
                f"per block update (measured, {ref['sampled_block_updates']:,} updates "
                f"on {len(ref['sample_cells'])} cells) -> extrapolated "
                f"{_minutes(ref['extrapolated_s'])} for the grid; vectorised solver "
                f"{fp['total_s']:.1f} s: {ratio:.1f}x faster", flush=True)
          report["numpy_reference"][n] = dict(ref, speedup=ratio)
      if "gradient" in solvers:
        gd = bench.gradient(config, n=n, steps=_STEPS.value)
        per_step = gd["seconds_per_step"]
        print(f"gradient n={n}: {gd['runs']} runs, {per_step * 1e3:.1f} ms "
              f"per step (measured over {gd['timed_steps']} steps after a "
              f"{gd['compile_s']:.1f} s compile) -> EXTRAPOLATED "
              f"{gd['protocol_steps']:,} "
              f"steps: {_minutes(gd['extrapolated_s'])}", flush=True)
        report["gradient"][n] = gd
  print(json.dumps(report, default=float))


if __name__ == "__main__":
  cli.run(main)

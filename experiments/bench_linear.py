"""Benchmark: wall time of the linear-Gaussian protocol of arXiv 2602.09277.

    python -m experiments.bench_linear                      # also `make bench`
    python -m experiments.bench_linear --sizes=50 --gradient_steps=20 \\
        --torch_python=/tmp/torchenv/bin/python

For each n in --sizes: the full fixed-point grid (cells x inits of
configs/linear.py), compiled and run once; the sequential NumPy loop timed on a
few cells and extrapolated (n = 50 only, by default); the gradient solver timed
over one call of --gradient_steps steps of every run (best of two) and
extrapolated to the configured step count, with its useful GFLOP/s. Each call
also moves every chunk of runs in and out of the compiled loop once, so short
calls understate the protocol's steady state (its calls take
config.gradient.chunk steps). With --torch_python (an interpreter that has
torch), the published PyTorch loop (one run at a time,
experiments/bench_torch_linear.py) is timed in between, side by side: our
gradient solver, then PyTorch, then ours again, and the speed-up per run-step is
PyTorch's seconds per step over ours per step and run. Prints one line per
measurement, then one JSON line. The same command runs unchanged on a GPU host.
"""

import json
import os
import subprocess
import tempfile

from absl import flags
import jax
from ml_collections import config_flags

from lbvae import cli
from lbvae import errors
from lbvae.linear import bench
from lbvae.linear import protocol

_CONFIG = config_flags.DEFINE_config_file(
  "config", "configs/linear.py", "Protocol config whose grid is timed."
)
_SIZES = flags.DEFINE_list("sizes", ["50", "100"], "Instance dimensions n to time.")
_NUMPY_SIZES = flags.DEFINE_list("numpy_sizes", ["50"], "n for the NumPy baseline.")
_STEPS = flags.DEFINE_integer(
  "gradient_steps", 50, "Gradient steps per timed call (>= 1)."
)
_SOLVERS = flags.DEFINE_string("solvers", "fixed_point,gradient", "Solvers to time.")
_TORCH = flags.DEFINE_string(
  "torch_python",
  "",
  "Python with torch: also time the published PyTorch loop, side by side.",
)
_TORCH_THREADS = flags.DEFINE_integer(
  "torch_threads", 0, "torch threads (0: torch's default, one per core)."
)
_TORCH_STEPS = flags.DEFINE_integer("torch_steps", 300, "PyTorch steps to time.")


def _minutes(seconds: float) -> str:
  return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _torch(config, n: int) -> dict:
  """Runs experiments/bench_torch_linear.py on the config's first start of size n."""
  with tempfile.TemporaryDirectory() as tmp:
    start = os.path.join(tmp, f"start_n{n}.npz")
    bench.torch_start(config, n=n, path=start)
    cmd = [
      _TORCH.value,
      "-m",
      "experiments.bench_torch_linear",
      f"--start={start}",
      f"--steps={_TORCH_STEPS.value}",
      f"--threads={_TORCH_THREADS.value}",
    ]
    try:
      out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
      raise errors.ConfigError(f"--torch_python: could not run the torch bench ({e})")
  return json.loads(out.strip().splitlines()[-1])


def _gradient_line(gd: dict) -> str:
  return (
    f"gradient n={gd['n']}: {gd['runs']} runs, {gd['seconds_per_step'] * 1e3:.1f}"
    f" ms per step = {gd['seconds_per_run_step'] * 1e6:.1f} us per run-step "
    f"(best of 2 x {gd['timed_steps']} steps; CPU "
    f"{gd['cpu_per_step'] * 1e3:.1f} ms per step), {gd['gflops']:.1f} useful "
    f"GFLOP/s -> EXTRAPOLATED {gd['protocol_steps']:,} steps: "
    f"{_minutes(gd['extrapolated_s'])}"
  )


def main(argv):
  errors.require(len(argv) == 1, f"unexpected arguments: {' '.join(argv[1:])}")
  config = _CONFIG.value
  config.solvers = _SOLVERS.value
  protocol.validate(config)
  errors.require(_STEPS.value >= 1, "--gradient_steps must be >= 1")
  errors.require(_TORCH_STEPS.value >= 20, "--torch_steps must be >= 20")
  try:
    sizes = [int(n) for n in _SIZES.value]
    numpy_sizes = [int(n) for n in _NUMPY_SIZES.value]
  except ValueError:
    raise errors.ConfigError(
      "--sizes and --numpy_sizes take integers, e.g. 50,100"
    ) from None
  errors.require(sizes and all(n > 0 for n in sizes), "--sizes needs positive integers")
  solvers = protocol.solver_names(config)
  device = f"{jax.default_backend()} ({jax.devices()[0].device_kind}, "
  device += f"{jax.device_count()} device(s))"
  print(
    f"linear protocol benchmark on {device}; grid {len(config.betas)} betas x "
    f"{len(config.lambdas)} lambdas x {config.num_inits} inits; instance "
    f"'{config.instance}'; times include compilation unless stated; CPU = this "
    "process's CPU time",
    flush=True,
  )
  report = dict(
    device=device, fixed_point={}, numpy_reference={}, gradient={}, torch={}
  )
  with jax.enable_x64(True):
    for n in sizes:
      if "fixed_point" in solvers:
        fp = bench.fixed_point(config, n=n)
        print(
          f"fixed_point n={n}: {fp['cells']} cells x {fp['inits']} inits = "
          f"{fp['runs']} runs, {fp['block_updates']:,} block updates "
          f"({fp['capped']} runs at the cap): compile {fp['compile_s']:.1f} s "
          f"+ run {fp['run_s']:.1f} s = {fp['total_s']:.1f} s wall "
          f"(CPU {fp['cpu_s']:.1f} s)",
          flush=True,
        )
        iterations = fp.pop("iterations")
        report["fixed_point"][n] = fp
        if n in numpy_sizes:
          ref = bench.numpy_reference(config, n=n, iterations=iterations)
          ratio = ref["extrapolated_s"] / fp["total_s"]
          per_update = ref["seconds_per_block_update"]
          print(
            f"numpy sequential n={n}: {per_update * 1e6:.0f} us "
            f"per block update (measured, {ref['sampled_block_updates']:,} updates "
            f"on {len(ref['sample_cells'])} cells) -> extrapolated "
            f"{_minutes(ref['extrapolated_s'])} for the grid; vectorised solver "
            f"{fp['total_s']:.1f} s: {ratio:.1f}x faster",
            flush=True,
          )
          report["numpy_reference"][n] = dict(ref, speedup=ratio)
      if "gradient" in solvers:
        timings = [bench.gradient(config, n=n, steps=_STEPS.value)]
        print(_gradient_line(timings[0]), flush=True)
        if _TORCH.value:
          torch = [_torch(config, n)]
          print(
            f"pytorch n={n}: {torch[0]['seconds_per_step'] * 1e3:.2f} ms per step "
            f"({torch[0]['threads']} threads, torch {torch[0]['torch']})",
            flush=True,
          )
          timings.append(bench.gradient(config, n=n, steps=_STEPS.value))
          print(_gradient_line(timings[1]), flush=True)
          torch.append(_torch(config, n))
          print(
            f"pytorch n={n}: {torch[1]['seconds_per_step'] * 1e3:.2f} ms per step",
            flush=True,
          )
          ours = min(t["seconds_per_run_step"] for t in timings)
          theirs = min(t["seconds_per_step"] for t in torch)
          print(
            f"n={n}: PyTorch {theirs * 1e3:.2f} ms per step vs ours "
            f"{ours * 1e6:.1f} us per run-step (best of two each, interleaved): "
            f"{theirs / ours:.1f}x per run-step",
            flush=True,
          )
          report["torch"][n] = dict(
            seconds_per_step=theirs, runs=torch, speedup_per_run_step=theirs / ours
          )
        report["gradient"][n] = min(timings, key=lambda t: t["seconds_per_step"])
  print(json.dumps(report, default=float))


if __name__ == "__main__":
  cli.run(main)

r"""Training throughput of a grid of conv VAEs, per impl and grid strategy (issue 6).

Usage::

    python -m experiments.bench --config=configs/bench.py [--config.grid_size=5 ...]

See ``configs/bench.py`` for the fields. Times the trainer's one-model step
(``lbvae.train.step``) lifted over the grid by ``lbvae.train.grid_runner.lift`` for every
(impl, strategy) alternative side by side, then runs the fastest for ``steps`` steps.
Compile time is excluded and reported apart. FLOPs per model-step are counted
analytically (:mod:`experiments.bench_profile`) and cross-checked with XLA's
``cost_analysis``. Peak memory is the device's ``peak_bytes_in_use`` on accelerators
and the process's maximum RSS on CPU (the JSON says which). The last line printed is
one JSON object.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time

from absl import flags
import jax
import jax.numpy as jnp
import optax
from ml_collections import config_flags

from experiments import bench_profile
from lbvae import cli
from lbvae import errors
from lbvae import layers
from lbvae import models
from lbvae.train import grid_runner
from lbvae.train import members as members_lib
from lbvae.train import state as state_lib
from lbvae.train import step as step_lib

STRATEGIES = ("vmap", "map", "loop")
PRECISIONS = ("default", "float32", "tensorfloat32", "bfloat16")
# "wall": elapsed time. "process": CPU time of this process (all its threads), which a
# busy shared CPU disturbs much less; run single-threaded to compare with torch.
CLOCKS = {"wall": time.perf_counter, "process": time.process_time}


def _split(text: str) -> list[str]:
  return [s.strip() for s in text.split(",") if s.strip()]


def validate(c) -> None:
  """Raises errors.Error naming the first bad field."""
  errors.require(c.grid_size >= 1, f"config.grid_size must be >= 1, got {c.grid_size}")
  errors.require(c.steps >= 1, f"config.steps must be >= 1, got {c.steps}")
  errors.require(
    c.batch_size >= 1, f"config.batch_size must be >= 1, got {c.batch_size}"
  )
  errors.require(c.compare_rounds >= 0, "config.compare_rounds must be >= 0")
  for impl in _split(c.impls):
    errors.require(
      impl in layers.IMPLS,
      f"config.impls: {impl!r} is not one of {', '.join(layers.IMPLS)}",
    )
  for s in _split(c.strategies):
    errors.require(
      s in STRATEGIES, f"config.strategies: {s!r} is not one of {', '.join(STRATEGIES)}"
    )
  errors.require(
    _split(c.impls) and _split(c.strategies),
    "config.impls and config.strategies must each name at least one",
  )
  errors.require(
    c.clock in CLOCKS,
    f"config.clock must be one of {', '.join(CLOCKS)}, got {c.clock!r}",
  )
  errors.require(
    c.matmul_precision in PRECISIONS,
    "config.matmul_precision must be "
    f"one of {', '.join(PRECISIONS)}, got {c.matmul_precision!r}",
  )


class Alternative:
  """One (impl, strategy) way of running a grid step, compiled once.

  ``step()`` advances every member by one step and blocks until done.
  """

  def __init__(self, c, impl: str, strategy: str):
    self.impl, self.strategy, self.g = impl, strategy, c.grid_size
    model = models.VAE(c.latent_dim, c.num_channels, impl=impl)
    tx = optax.adam(c.learning_rate, b1=0.9, b2=0.999, eps=1e-8)
    train_step = step_lib.make_train_step(model, tx)
    width = 1 if strategy == "loop" else c.grid_size
    grid = [members_lib.Member(i, c.beta, 0.0, 0) for i in range(width)]
    keys = state_lib.seed_keys(0, 1)
    params = state_lib.init_params(model, keys.init)
    params = jax.tree.map(lambda a: jnp.repeat(a, width, axis=0), params)
    lifted = grid_runner.lift(train_step, strategy, c.map_batch_size)
    shape = (c.batch_size, 64, 64, c.num_channels)

    def make_batch(key, t):  # one batch per grid step, shared by all members
      batch = jax.random.bernoulli(jax.random.fold_in(key, t), 0.5, shape)
      return batch.astype(jnp.uint8) * jnp.uint8(255)  # binary images, as dSprites

    def grid_call(states, batch):
      t = states.step[0]
      batches = jnp.broadcast_to(batch, (width,) + shape)
      rngs = jax.vmap(step_lib.noise_key, (0, None))(states.rng, t)
      return lifted(states, batches, rngs)[0]

    copies = self.g if strategy == "loop" else 1
    state = state_lib.grid_state(params, tx, grid, keys, step=0, window=8)
    # Separate buffers per copy: the compiled step donates its state.
    self.states = [jax.tree.map(jnp.copy, state) for _ in range(copies)]
    self.key = jax.random.key(1)
    self.make_batch = jax.jit(make_batch)
    self.t = 0
    t0 = time.perf_counter()
    batch = self.make_batch(self.key, 0)
    lowered = jax.jit(grid_call, donate_argnums=(0,)).lower(self.states[0], batch)
    self.compiled = lowered.compile()
    self.compile_seconds = time.perf_counter() - t0
    # XLA counts a while loop's body once: lax.map's body holds map_batch_size members.
    per_program = {"vmap": self.g, "map": max(c.map_batch_size, 1), "loop": 1}
    self.xla_flops = _xla_flops(self.compiled) / per_program[strategy]
    self.memory_bytes = _compiled_bytes(self.compiled)
    self.times = []

  def step(self, clock=time.perf_counter) -> float:
    """Runs one grid step; returns its duration in seconds on ``clock``."""
    t0 = clock()
    # Like the PyTorch loop: the batch is drawn once per grid step, then every member
    # (one call each for ``loop``, all in one call otherwise) trains on it.
    batch = self.make_batch(self.key, self.t)
    self.t += 1
    self.states = [self.compiled(s, batch) for s in self.states]
    jax.block_until_ready(self.states)
    return clock() - t0

  @property
  def name(self) -> str:
    return f"{self.impl}/{self.strategy}"

  def rate(self) -> float:
    """Model-steps per second from the median timed grid step (0 if none)."""
    return self.g / statistics.median(self.times) if self.times else 0.0


def _xla_flops(compiled) -> float:
  try:
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost.get("flops", 0.0))
  except Exception:  # pylint: disable=broad-except  (not every backend reports it)
    return 0.0


def _compiled_bytes(compiled) -> int:
  try:
    m = compiled.memory_analysis()
    return int(
      m.argument_size_in_bytes
      + m.output_size_in_bytes
      + m.temp_size_in_bytes
      - m.alias_size_in_bytes
    )
  except Exception:  # pylint: disable=broad-except
    return 0


def peak_memory() -> tuple[int, str]:
  """(bytes, what): device peak_bytes_in_use, or the process max RSS on CPU."""
  stats = jax.devices()[0].memory_stats() or {}
  if "peak_bytes_in_use" in stats:
    return int(stats["peak_bytes_in_use"]), "device peak_bytes_in_use"
  rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  return int(rss_kib) * 1024, "process max RSS (CPU; includes the runtime)"


def compare(alts, rounds: int, max_seconds: float, clock) -> None:
  """Interleaved rounds: each alternative runs one grid step per round.

  Round 0 is a warm-up (untimed) unless the step already exceeds ``max_seconds``;
  an alternative slower than ``max_seconds`` is timed once and then dropped.
  """
  active = list(alts)
  for r in range(rounds + 1):
    for a in list(active):
      dt = a.step(clock)
      if r > 0 or dt > max_seconds:
        a.times.append(dt)
      if dt > max_seconds:
        active.remove(a)
    print(
      f"  round {r}: "
      + ", ".join(f"{a.name} {a.times[-1]:.2f}s" for a in alts if a.times),
      flush=True,
    )


def torch_rate(c) -> float:
  """The PyTorch sequential-loop figure: configured, or measured by a subprocess."""
  if c.torch_model_steps_per_second > 0 or not c.torch_python:
    return float(c.torch_model_steps_per_second)
  cmd = [
    c.torch_python,
    "-m",
    "experiments.bench_torch",
    f"--grid_size={c.grid_size}",
    f"--steps={c.steps}",
    f"--batch_size={c.batch_size}",
    f"--clock={c.clock}",
    f"--threads={c.torch_threads}",
  ]
  if c.profile:
    cmd += ["--profile", f"--profile_repeats={c.profile_repeats}"]
  print("running", " ".join(cmd), flush=True)
  try:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
  except (OSError, subprocess.CalledProcessError) as e:
    raise errors.ConfigError(
      f"config.torch_python: could not run the torch bench ({e})"
    )
  lines = out.strip().splitlines()
  print("\n".join(lines[:-1]))  # its figures (and per-layer profile); then its JSON
  return float(json.loads(lines[-1])["torch_model_steps_per_second"])


def main(argv):
  del argv
  c = flags.FLAGS.config
  validate(c)
  if c.matmul_precision != "default":
    jax.config.update("jax_default_matmul_precision", c.matmul_precision)
  backend = jax.default_backend()
  device = jax.devices()[0]
  clock = CLOCKS[c.clock]
  flops = bench_profile.model_step_flops(c.batch_size, c.num_channels, c.latent_dim)
  peak = c.peak_flops or bench_profile.device_peak(device, c.matmul_precision)
  print(
    f"backend {backend} ({device.device_kind}), jax {jax.__version__}; grid of "
    f"{c.grid_size}, batch {c.batch_size}; {flops / 1e9:.2f} GFLOP per model-step "
    f"(analytic); matmul precision {c.matmul_precision}",
    flush=True,
  )
  alts = []
  for impl in _split(c.impls):
    for strategy in _split(c.strategies):
      a = Alternative(c, impl, strategy)
      print(
        f"compiled {a.name} in {a.compile_seconds:.1f}s (XLA counts "
        f"{a.xla_flops / 1e9:.2f} GFLOP per model-step; executable "
        f"{a.memory_bytes / 2**20:.0f} MiB)",
        flush=True,
      )
      alts.append(a)
  if len(alts) > 1 and c.compare_rounds > 0:
    print(f"side by side, {c.compare_rounds} timed rounds (interleaved):", flush=True)
    compare(alts, c.compare_rounds, c.max_step_seconds, clock)
    for a in sorted(alts, key=lambda a: -a.rate()):
      print(
        f"  {a.name:18s} {a.rate():8.2f} model-steps/s  "
        f"{1e3 * c.grid_size / max(a.rate(), 1e-12) / c.grid_size:9.1f} ms/model-step"
        f"  {a.rate() * flops / 1e9:8.1f} GFLOP/s"
      )
  best = max(alts, key=lambda a: a.rate()) if alts[0].times else alts[0]
  for _ in range(c.warmup_steps):
    best.step()
  t0 = clock()
  for _ in range(c.steps):
    best.step()
  seconds = clock() - t0
  rate = c.grid_size * c.steps / seconds
  mem, mem_kind = peak_memory()
  result = {
    "grid_size": c.grid_size,
    "steps": c.steps,
    "backend": backend,
    "device": device.device_kind,
    "jax": jax.__version__,
    "impl": best.impl,
    "strategy": best.strategy,
    "batch_size": c.batch_size,
    "matmul_precision": c.matmul_precision,
    "clock": c.clock,
    "model_steps_per_second": rate,
    "seconds_per_grid_step": seconds / c.steps,
    "compile_seconds": best.compile_seconds,
    "flops_per_model_step": flops,
    "xla_flops_per_model_step": best.xla_flops,
    "flops_per_second": rate * flops,
    "peak_flops": peak,
    "fraction_of_peak": rate * flops / peak if peak else None,
    "peak_memory_bytes": mem,
    "peak_memory_kind": mem_kind,
    "executable_bytes": best.memory_bytes,
    "cpu_count": os.cpu_count(),
    "environment": {k: os.environ.get(k, "") for k in ("GLIBC_TUNABLES", "XLA_FLAGS")},
    "alternatives": [
      {
        "impl": a.impl,
        "strategy": a.strategy,
        "model_steps_per_second": a.rate(),
        "compile_seconds": a.compile_seconds,
        "executable_bytes": a.memory_bytes,
        "timed_steps": len(a.times),
      }
      for a in alts
    ],
  }
  print(
    f"chosen {best.name}: {c.grid_size} models x {c.steps} steps in {seconds:.2f}s"
    + ("" if c.clock == "wall" else f" ({c.clock} clock)")
    + f" = {rate:.2f} model-steps/s ({1e3 / rate:.1f} ms per model-step), "
    f"{rate * flops / 1e9:.1f} GFLOP/s"
    + (
      f" = {100 * rate * flops / peak:.2f}% of peak {peak / 1e12:.0f} TFLOP/s"
      if peak
      else ""
    )
    + f"; peak memory {mem / 2**20:.0f} MiB ({mem_kind})"
  )
  if c.profile:
    result["profile"] = bench_profile.profile_layers(
      c.batch_size, c.profile_repeats, _split(c.impls)
    )
  torch = torch_rate(c)
  if torch:
    result["torch_model_steps_per_second"] = torch
    result["ratio_to_torch"] = rate / torch
    print(
      f"PyTorch sequential loop: {torch:.2f} model-steps/s; this run is "
      f"{rate / torch:.2f}x of it per model-step"
    )
  del best, alts
  print(json.dumps(result), flush=True)
  sys.stdout.flush()


if __name__ == "__main__":
  # Defined here, not at import, so that tests can import this module beside others
  # that define their own --config.
  config_flags.DEFINE_config_file(
    "config", "configs/bench.py", "benchmark configuration"
  )
  cli.run(main)

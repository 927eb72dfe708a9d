"""Timing of the linear-Gaussian protocol of arXiv 2602.09277 (SPEC §3).

Synopsis::

    from lbvae.linear import bench
    with jax.enable_x64(True):
      fp = bench.fixed_point(config, n=50)        # full grid: compile + run
      ref = bench.numpy_reference(config, n=50, iterations=fp["iterations"])
      gd = bench.gradient(config, n=50, steps=10)  # short run, extrapolated

Measurements, not tests: the numbers depend on the machine and its load, so every
result carries wall time and this process's CPU time. The NumPy baseline runs the
literal SPEC updates (:mod:`lbvae.linear.reference`) one start at a time on a
sample of runs; since its stopping rule is the same, its time for the whole
protocol is its measured time per block update times the block updates the
vectorised solver actually used. The gradient solver runs a fixed number of steps,
so its protocol time is its measured time per step (after compilation) times
the configured step count: clearly an extrapolation.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from lbvae.linear import fixed_point as fixed_point_lib
from lbvae.linear import gradient as gradient_lib
from lbvae.linear import init
from lbvae.linear import problem as problem_lib
from lbvae.linear import protocol
from lbvae.linear import reference


class Clock:
  """Wall and process-CPU seconds of a ``with`` block."""

  def __enter__(self):
    self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
    return self

  def __exit__(self, *exc):
    self.wall = time.perf_counter() - self.wall0
    self.cpu = time.process_time() - self.cpu0


def _grid(config):
  cells = [(float(b), float(l)) for b in config.betas for l in config.lambdas]
  return cells, jnp.array([c[0] for c in cells]), jnp.array([c[1] for c in cells])


def _instance(config, n: int) -> problem_lib.Problem:
  key = jax.random.fold_in(jax.random.key(config.seed), n)
  return problem_lib.generate(key, n=n, s=int(config.s),
                              noise_var=float(config.noise_var))


def fixed_point(config, *, n: int) -> dict:
  """Compiles and runs the whole fixed-point grid for dimension n once.

  The compile time is measured with a first call capped at one block update
  (max_iters is traced, so the real call reuses every compiled program).

  Returns:
    dict with compile_s, run_s, total_s (wall), cpu_s, runs, block_updates,
    capped and iterations (int[cells, inits]).
  """
  cells, betas, lams = _grid(config)
  prob = _instance(config, n)
  k = protocol.size_class(config, n)
  b0, w0 = init.batch(init.fixed_point, protocol.init_key(config, n, 1),
                      int(config.num_inits), n=n, m=int(config.m))
  tol = jnp.asarray(float(config.fixed_point.tol[k]))
  options = dict(num_lanes=int(config.fixed_point.num_lanes),
                 num_threads=int(config.fixed_point.num_threads))
  with Clock() as compile_clock:
    jax.block_until_ready(fixed_point_lib.solve_grid(
        prob, b0, w0, betas, lams, tol, jnp.asarray(1, jnp.int32), **options))
  with Clock() as run_clock:
    res = jax.block_until_ready(fixed_point_lib.solve_grid(
        prob, b0, w0, betas, lams, tol,
        jnp.asarray(int(config.fixed_point.max_iters[k]), jnp.int32), **options))
  iterations = np.asarray(res.iterations)
  return dict(n=n, cells=len(cells), inits=int(config.num_inits),
              runs=iterations.size, compile_s=compile_clock.wall,
              run_s=run_clock.wall, total_s=compile_clock.wall + run_clock.wall,
              cpu_s=compile_clock.cpu + run_clock.cpu,
              block_updates=int(iterations.sum()),
              capped=int((~np.asarray(res.converged)).sum()),
              iterations=iterations)


def numpy_reference(config, *, n: int, iterations: np.ndarray,
                    sample_cells=((4.0, 0.0), (4.0, 8.0), (32.0, 2.0), (1.0, 2.0)),
                    max_block_updates: int = 3000) -> dict:
  """Times the sequential NumPy solver on a few cells; extrapolates to the grid.

  Args:
    config: the protocol config.
    n: instance dimension.
    iterations: int[cells, inits], block updates the vectorised solver used.
    sample_cells: (beta, lambda) cells to time, one start each.
    max_block_updates: cap per sampled run (the beta = 1, lambda > 0 runs go to
      the protocol's cap; a shorter run measures the same per-update cost).

  Returns:
    dict with seconds_per_block_update, sampled_block_updates, sampled_s and
    extrapolated_s (for ``iterations.sum()`` block updates).
  """
  prob = _instance(config, n)
  sigma_y = np.asarray(problem_lib.sigma_y(prob))
  b0, w0 = (np.asarray(x[0]) for x in init.batch(
      init.fixed_point, protocol.init_key(config, n, 1), 1, n=n, m=int(config.m)))
  k = protocol.size_class(config, n)
  tol = float(config.fixed_point.tol[k])
  cap = min(int(config.fixed_point.max_iters[k]), max_block_updates)
  updates = 0
  with Clock() as clock:
    for beta, lam in sample_cells:
      updates += reference.solve(sigma_y, b0, w0, beta=beta, lam=lam, tol=tol,
                                 max_iters=cap)[-1]
  per_update = clock.wall / updates
  return dict(sample_cells=[list(c) for c in sample_cells],
              sampled_block_updates=updates,
              sampled_s=clock.wall, seconds_per_block_update=per_update,
              extrapolated_s=per_update * int(np.asarray(iterations).sum()))


def gradient(config, *, n: int, steps: int) -> dict:
  """Times ``steps`` gradient steps of the whole grid; extrapolates to the protocol.

  Returns:
    dict with compile_s, seconds_per_step (wall, after compilation), cpu_per_step,
    protocol_steps and extrapolated_s = seconds_per_step * protocol_steps.
  """
  cells, betas, lams = _grid(config)
  prob = _instance(config, n)
  settings, protocol_steps = protocol.gradient_settings(config, n)
  p0 = init.batch(init.gradient, protocol.init_key(config, n, 2), int(config.num_inits),
                  n=n, m=int(config.m))
  state = jax.block_until_ready(gradient_lib.init_grid(p0, betas, lams, settings))
  with Clock() as compile_clock:
    run = gradient_lib.run_chunk.lower(state, prob, settings, steps).compile()
  jax.block_until_ready(run(state, prob))  # first call may still warm up
  with Clock() as clock:
    jax.block_until_ready(run(state, prob))
  per_step = clock.wall / steps
  return dict(n=n, runs=len(cells) * int(config.num_inits), timed_steps=steps,
              compile_s=compile_clock.wall, seconds_per_step=per_step,
              cpu_per_step=clock.cpu / steps, protocol_steps=protocol_steps,
              extrapolated_s=per_step * protocol_steps)

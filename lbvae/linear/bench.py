"""Timing of the linear-Gaussian protocol of arXiv 2602.09277 (docs/theory.md).

Synopsis::

    from lbvae.linear import bench
    with jax.enable_x64(True):
      fp = bench.fixed_point(config, n=50)        # full grid: compile + run
      ref = bench.numpy_reference(config, n=50, iterations=fp["iterations"])
      gd = bench.gradient(config, n=50, steps=20)  # whole grid, timed steps

Measurements, not tests: every result carries wall time and this process's CPU
time, and protocol times are extrapolated from timed samples (see each function).
Instances and starts are the config's (:mod:`lbvae.linear.setups`); the figures
measured so far are in docs/theory.md §10.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from lbvae.linear import fixed_point as fixed_point_lib
from lbvae.linear import gradient as gradient_lib
from lbvae.linear import problem as problem_lib
from lbvae.linear import protocol
from lbvae.linear import reference
from lbvae.linear import setups


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


def _setup(config, n: int) -> setups.Setup:
  config = config.copy_and_resolve_references()
  config.n_values = (n,)
  return setups.build(config)[n]


def fixed_point(config, *, n: int) -> dict:
  """Compiles and runs the whole fixed-point grid for dimension n once.

  The compile time is measured with a first call capped at one block update
  (max_iters is traced, so the real call reuses every compiled program).

  Returns:
    dict with compile_s, run_s, total_s (wall), cpu_s, runs, block_updates,
    capped and iterations (int[cells, inits]).
  """
  cells, betas, lams = _grid(config)
  setup = _setup(config, n)
  prob = protocol.as_jax(setup.problem)
  k = protocol.size_class(config, n)
  b0, w0 = (jnp.asarray(x, jnp.float64) for x in setup.fixed_point)
  tol = jnp.asarray(float(config.fixed_point.tol[k]))
  options = dict(
    num_lanes=int(config.fixed_point.num_lanes),
    num_threads=int(config.fixed_point.num_threads),
  )
  with Clock() as compile_clock:
    jax.block_until_ready(
      fixed_point_lib.solve_grid(
        prob, b0, w0, betas, lams, tol, jnp.asarray(1, jnp.int32), **options
      )
    )
  with Clock() as run_clock:
    res = jax.block_until_ready(
      fixed_point_lib.solve_grid(
        prob,
        b0,
        w0,
        betas,
        lams,
        tol,
        jnp.asarray(int(config.fixed_point.max_iters[k]), jnp.int32),
        **options,
      )
    )
  iterations = np.asarray(res.iterations)
  return dict(
    n=n,
    cells=len(cells),
    inits=int(b0.shape[0]),
    runs=iterations.size,
    compile_s=compile_clock.wall,
    run_s=run_clock.wall,
    total_s=compile_clock.wall + run_clock.wall,
    cpu_s=compile_clock.cpu + run_clock.cpu,
    block_updates=int(iterations.sum()),
    capped=int((~np.asarray(res.converged)).sum()),
    iterations=iterations,
  )


def numpy_reference(
  config,
  *,
  n: int,
  iterations: np.ndarray,
  sample_cells=((4.0, 0.0), (4.0, 8.0), (32.0, 2.0), (1.0, 2.0)),
  max_block_updates: int = 3000,
) -> dict:
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
  setup = _setup(config, n)
  sigma_y = np.asarray(problem_lib.sigma_y(setup.problem))
  b0, w0 = (x[0] for x in setup.fixed_point)
  k = protocol.size_class(config, n)
  tol = float(config.fixed_point.tol[k])
  cap = min(int(config.fixed_point.max_iters[k]), max_block_updates)
  updates = 0
  with Clock() as clock:
    for beta, lam in sample_cells:
      updates += reference.solve(
        sigma_y, b0, w0, beta=beta, lam=lam, tol=tol, max_iters=cap
      )[-1]
  per_update = clock.wall / updates
  return dict(
    sample_cells=[list(c) for c in sample_cells],
    sampled_block_updates=updates,
    sampled_s=clock.wall,
    seconds_per_block_update=per_update,
    extrapolated_s=per_update * int(np.asarray(iterations).sum()),
  )


def gradient_flops(n: int, m: int, s: int, *, base: int = 16) -> float:
  """Floating-point operations of one gradient step of one run (2 per multiply-add).

  Counts the products of :func:`lbvae.linear.factored.value_and_grad`: L L^T (n^3,
  or n^3 / 2 by blocks for n >= 64), the blocked inverse (k^3 in the blocks of
  size <= base, 4 (k/2)^3 per split above), [P^2, P U], (P U) M (P U)^T, G L
  (n^3, or 3 n^3 / 4 by blocks for n >= 64), and the n x m and n x s products
  (about 12 n m^2 + 10 n m s + 6 n m). The AdamW update (about 20 flops per
  parameter) is added.
  """

  def inverse(k):
    return (
      float(k**3)
      if k <= base
      else 4 * (k // 2) ** 3 + inverse(k // 2) + inverse(k - k // 2)
    )

  r = s + 2 * m
  outer = n**3 / 2 if n >= 64 else n**3
  times_lower = 3 * n**3 / 4 if n >= 64 else n**3
  mult_adds = (
    outer
    + inverse(n)
    + n * n * (n + r)
    + n * r * r
    + n * n * r
    + times_lower
    + 12 * n * m * m
    + 10 * n * m * s
    + 6 * n * m
    + inverse(m)
  )
  return 2 * mult_adds + 20 * (n * n + 2 * n * m + m * m)


def gradient(config, *, n: int, steps: int, repeats: int = 2) -> dict:
  """Times ``steps`` gradient steps of every run of the grid (best of repeats).

  The runs are laid out once (:func:`gradient.split`) and advanced call after call,
  as the protocol does, so the figure is the protocol's steady state.

  Returns:
    dict with runs, compile_s, seconds_per_step (wall, best of ``repeats``),
    cpu_per_step, seconds_per_run_step, gflops (useful, by :func:`gradient_flops`),
    protocol_steps and extrapolated_s = seconds_per_step * protocol_steps.
  """
  cells, betas, lams = _grid(config)
  setup = _setup(config, n)
  prob = protocol.as_jax(setup.problem)
  settings, protocol_steps = protocol.gradient_settings(config, n)
  p0 = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), setup.gradient)
  state = jax.block_until_ready(gradient_lib.init_grid(p0, betas, lams, settings))
  layout = gradient_lib.split(state, **protocol.gradient_layout(config, n))
  with Clock() as compile_clock:
    layout = jax.block_until_ready(gradient_lib.advance(layout, prob, settings, steps))
  best = None
  for _ in range(max(1, repeats)):
    with Clock() as clock:
      layout = jax.block_until_ready(
        gradient_lib.advance(layout, prob, settings, steps)
      )
    if best is None or clock.wall < best.wall:
      best = clock
  state = gradient_lib.join(layout)
  runs = int(state.step.shape[0])
  per_step = best.wall / steps
  flops = gradient_flops(n, int(config.m), setup.problem.s) * runs
  return dict(
    n=n,
    runs=runs,
    timed_steps=steps,
    compile_s=compile_clock.wall,
    seconds_per_step=per_step,
    cpu_per_step=best.cpu / steps,
    seconds_per_run_step=per_step / runs,
    gflops=flops / per_step / 1e9,
    protocol_steps=protocol_steps,
    extrapolated_s=per_step * protocol_steps,
  )


def torch_start(config, *, n: int, path: str) -> None:
  """Writes the first gradient start of dimension n for the PyTorch transcription.

  The .npz holds Gamma, Sigma_V and Sigma_Z0, Sigma_W0 (rebuilt from the start's
  Cholesky factors), as experiments/bench_torch_linear.py --start reads them.
  """
  setup = _setup(config, n)
  l_z, l_w = (x[0] for x in setup.gradient[2:])
  np.savez(
    path,
    Gamma=setup.problem.gamma,
    Sigma_V=setup.problem.sigma_v,
    Sigma_Z0=l_z @ l_z.T,
    Sigma_W0=l_w @ l_w.T,
  )

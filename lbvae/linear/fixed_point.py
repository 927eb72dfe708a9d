"""Alternating (fixed-point) solver of the linear lambda-beta-VAE (arXiv 2602.09277).

Synopsis::

    from lbvae.linear import fixed_point
    res = fixed_point.solve_grid(prob, b0, w0, betas, lams, jnp.asarray(1e-6),
                                 jnp.asarray(50_000))  # fields: [cells, inits, ...]
    one = fixed_point.solve(prob, b0[0], w0[0], beta=4.0, lam=0.0, tol=1e-6,
                            max_iters=50_000)

The published loop, decoder first, with its stopping rule and cap (docs/theory.md §2),
equal step for step to :mod:`lbvae.linear.reference`. It runs in an orthonormal basis
of span(Gamma) + rowspace(B_0) that diagonalises Sigma_Y (dimension r <= s + m), so
an iteration costs O((s + m)^3) whatever n, and it keeps the published formulas,
inverting through Cholesky factors (:mod:`lbvae.linear.spd`). The grid (cells x
inits) runs as one compiled queue of vector lanes (:mod:`lbvae.linear.lanes`), beta
and lambda traced, optionally split over host threads, which make no LAPACK call
(docs/theory.md §9).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from lbvae.linear import lanes
from lbvae.linear import objective
from lbvae.linear import problem as problem_lib
from lbvae.linear import spd


class Reduced(NamedTuple):
  """One start in the reduced basis (a pytree).

  Attributes:
    basis: float64[n, r], orthonormal columns spanning span(Gamma) + rowspace(B_0),
      eigenvectors of Sigma_Y restricted to that span (r = n when s + m >= n).
    d: float64[r], the matching eigenvalues of Sigma_Y.
    b0: float64[m, r], B_0 in the basis.
    sigma_w0: float64[m, m].
  """

  basis: jax.Array
  d: jax.Array
  b0: jax.Array
  sigma_w0: jax.Array


class Job(NamedTuple):
  """One queued solve: a reduced start and its hyper-parameters (a pytree)."""

  d: jax.Array
  b0: jax.Array
  sigma_w0: jax.Array
  beta: jax.Array
  lam: jax.Array
  tol: jax.Array
  max_iters: jax.Array


class State(NamedTuple):
  """Loop state of one solve, in the reduced basis (a pytree).

  Attributes:
    B: float64[m, r]; sigma_w: float64[m, m].
    A: float64[r, m]; sigma_z: float64[r, r], the current decoder.
    iterations: int32[], block updates done; converged: bool[], stopped by the
      tolerance test rather than the cap; done: bool[].
  """

  B: jax.Array
  sigma_w: jax.Array
  A: jax.Array
  sigma_z: jax.Array
  iterations: jax.Array
  converged: jax.Array
  done: jax.Array


class Result(NamedTuple):
  """Outcome of solves; under the grid every field gains leading axes [C, I].

  Attributes:
    params: final (A, B, Sigma_Z, Sigma_W) in the original basis, Sigma_Z dense.
    iterations: int32, block updates used.
    converged: bool, False when ``max_iters`` stopped the solve.
  """

  params: objective.Params
  iterations: jax.Array
  converged: jax.Array


def _sym(x):
  return 0.5 * (x + x.T)


def reduce(prob: problem_lib.Problem, b0: jax.Array, sigma_w0: jax.Array) -> Reduced:
  """Moves one start into the reduced, Sigma_Y-diagonal basis: O(n (s + m)^2).

  Args:
    prob: the instance.
    b0: float64[m, n]; sigma_w0: float64[m, m].
  """
  n, s = prob.gamma.shape
  m = b0.shape[0]
  # QR, then eigh of its output: a chain of LAPACK calls, never two at once (see spd).
  if s + m >= n:
    q = jnp.eye(n, dtype=b0.dtype)
  else:
    q, _ = jnp.linalg.qr(jnp.concatenate([prob.gamma, b0.T], axis=1))
  qg = q.T @ prob.gamma
  sy = qg @ prob.sigma_v @ qg.T + prob.noise_var * jnp.eye(q.shape[1], dtype=q.dtype)
  d, v = jnp.linalg.eigh(_sym(sy))
  q = q @ v
  return Reduced(q, d, b0 @ q, sigma_w0)


def expand(red: Reduced, noise_var: jax.Array, st: State) -> objective.Params:
  """Maps a reduced state back to the original basis.

  A = Q A~, B = B~ Q^T and Sigma_Z = Q (Sigma_Z~ - sigma^2 I) Q^T + sigma^2 I.
  """
  q = red.basis
  n, r = q.shape
  sz = q @ (st.sigma_z - noise_var * jnp.eye(r, dtype=q.dtype)) @ q.T
  sz = _sym(sz + noise_var * jnp.eye(n, dtype=q.dtype))
  return objective.Params(q @ st.A, st.B @ q.T, sz, st.sigma_w)


def init_state(job: Job) -> State:
  """State before the first decoder step (A = 0 and Sigma_Z = Sigma_Y are never
  compared: the first decoder step is not tested)."""
  m, r = job.b0.shape
  return State(
    job.b0,
    job.sigma_w0,
    jnp.zeros((r, m), job.b0.dtype),
    jnp.diag(job.d),
    jnp.zeros((), jnp.int32),
    jnp.zeros((), bool),
    job.max_iters <= 0,
  )


def decoder_update(b, sigma_w, d):
  """The published decoder step in the reduced basis.

  Args:
    b: float64[m, r]; sigma_w: float64[m, m]; d: float64[r], Sigma_Y's eigenvalues.

  Returns:
    (A~ [r, m], Sigma_Z~ [r, r]).
  """
  w_inv = spd.inv(sigma_w)
  bw = b.T @ w_inv
  sigma_z = spd.inv(jnp.diag(1.0 / d) + bw @ b)
  return sigma_z @ bw, sigma_z


def encoder_update(a, sigma_z, *, beta, lam):
  """The published encoder step in the reduced basis.

  Args:
    a: float64[r, m]; sigma_z: float64[r, r]; beta, lam: scalars (may be traced).

  Returns:
    (B~ [m, r], Sigma_W [m, m]).
  """
  r, m = a.shape
  s = (spd.inv(sigma_z) + 2 * lam * jnp.eye(r, dtype=a.dtype)) / beta
  ats = a.T @ s
  sigma_w = spd.inv(jnp.eye(m, dtype=a.dtype) + ats @ a)
  return sigma_w @ ats, sigma_w


def _frob(x):
  return jnp.linalg.norm(x)


def step(st: State, job: Job) -> State:
  """A decoder step, then an encoder step unless the decoder step ended the solve."""
  a, sz = decoder_update(st.B, st.sigma_w, job.d)
  # No test after the first decoder step: there is no previous decoder yet.
  dec_ok = (st.iterations > 0) & (
    jnp.maximum(_frob(a - st.A), _frob(sz - st.sigma_z)) <= job.tol
  )
  it1 = st.iterations + 1
  stop1 = dec_ok | (it1 >= job.max_iters)
  b, w = encoder_update(a, sz, beta=job.beta, lam=job.lam)
  enc_ok = jnp.maximum(_frob(b - st.B), _frob(w - st.sigma_w)) <= job.tol
  it2 = jnp.where(stop1, it1, it1 + 1)
  keep = lambda old, new: jnp.where(stop1, old, new)
  return State(
    keep(st.B, b),
    keep(st.sigma_w, w),
    a,
    sz,
    it2,
    dec_ok | (~stop1 & enc_ok),
    stop1 | enc_ok | (it2 >= job.max_iters),
  )


def _finish(st: State):
  return st._replace(done=jnp.ones((), bool))


def solve(
  prob: problem_lib.Problem,
  b0: jax.Array,
  sigma_w0: jax.Array,
  *,
  beta,
  lam,
  tol,
  max_iters,
) -> Result:
  """One solve as a plain ``lax.while_loop`` (no vmap, no lanes); all scalars traced.

  Args:
    prob: the instance.
    b0: float64[m, n], start gain; sigma_w0: float64[m, m], start covariance (SPD).
    beta, lam, tol: scalars; max_iters: int (at least one step is taken).

  Returns:
    A :class:`Result` for this start.

  Raises:
    lbvae.ConfigError: float64 is off (see :func:`problem.require_x64`).
  """
  problem_lib.require_x64("fixed_point.solve")
  return _solve_one(
    prob, b0, sigma_w0, beta=beta, lam=lam, tol=tol, max_iters=max_iters
  )


@jax.jit
def _solve_one(prob, b0, sigma_w0, *, beta, lam, tol, max_iters) -> Result:
  red = reduce(prob, b0, sigma_w0)
  job = Job(
    red.d,
    red.b0,
    red.sigma_w0,
    *(jnp.asarray(x, red.d.dtype) for x in (beta, lam, tol)),
    jnp.maximum(jnp.asarray(max_iters, jnp.int32), 1),
  )
  st = init_state(job)
  st = lax.while_loop(lambda s: ~s.done, lambda s: step(s, job), st)
  return Result(expand(red, prob.noise_var, st), st.iterations, st.converged)


@jax.jit
def _queue(prob, b0, sigma_w0, betas, lams, tol, max_iters):
  """Reduced starts [I] and the cell-major job queue [C * I]."""
  num_cells, num_inits = betas.shape[0], b0.shape[0]
  red = jax.vmap(reduce, in_axes=(None, 0, 0))(prob, b0, sigma_w0)
  tile = lambda x: jnp.broadcast_to(x, (num_cells,) + x.shape).reshape(
    (-1,) + x.shape[1:]
  )
  total = num_cells * num_inits
  jobs = Job(
    tile(red.d),
    tile(red.b0),
    tile(red.sigma_w0),
    jnp.repeat(betas, num_inits),
    jnp.repeat(lams, num_inits),
    jnp.full((total,), tol, red.d.dtype),
    jnp.full((total,), jnp.maximum(max_iters, 1), jnp.int32),
  )
  return red, jobs


@functools.partial(jax.jit, static_argnames=("parts",))
def _split(jobs: Job, parts: int) -> Job:
  """[P] -> [parts, ceil(P / parts)], job i to part i mod parts (padded with job 0)."""
  total = jax.tree.leaves(jobs)[0].shape[0]
  size = -(-total // parts)
  pad = lambda x: jnp.concatenate([x, jnp.repeat(x[:1], size * parts - total, axis=0)])
  return jax.tree.map(
    lambda x: jnp.swapaxes(pad(x).reshape((size, parts) + x.shape[1:]), 0, 1), jobs
  )


@functools.partial(jax.jit, static_argnames=("num_lanes",))
def _run(jobs: Job, num_lanes: int) -> State:
  return lanes.run(init_state, step, _finish, jobs, num_lanes=num_lanes)


@jax.jit
def _join(red: Reduced, noise_var, out: State, betas) -> Result:
  """[parts, size] outputs -> Result [C, I] in the original basis."""
  num_cells, num_inits = betas.shape[0], red.d.shape[0]

  def merge(x):
    flat = jnp.swapaxes(x, 0, 1).reshape((-1,) + x.shape[2:])
    return flat[: num_cells * num_inits].reshape((num_cells, num_inits) + x.shape[2:])

  out = jax.tree.map(merge, out)
  params = jax.vmap(jax.vmap(expand, in_axes=(0, None, 0)), in_axes=(None, None, 0))(
    red, noise_var, out
  )
  return Result(params, out.iterations, out.converged)


def solve_grid(
  prob: problem_lib.Problem,
  b0: jax.Array,
  sigma_w0: jax.Array,
  betas: jax.Array,
  lams: jax.Array,
  tol: jax.Array,
  max_iters: jax.Array,
  *,
  num_lanes: int = 256,
  num_threads: int = 1,
) -> Result:
  """:func:`solve` for every (cell, init) pair: one compiled queue per thread.

  The C * I solves form one queue (cell-major), dealt round-robin into
  ``num_threads`` equal parts that run concurrently from host threads, each in
  ``num_lanes // num_threads`` lanes (:mod:`lbvae.linear.lanes`); all parts share
  one compiled program, and beta, lambda, tol, max_iters are traced.

  Args:
    prob: the instance (shared).
    b0: float64[I, m, n], sigma_w0: float64[I, m, m]: starts shared by all cells.
    betas, lams: float64[C], one (beta, lambda) per cell.
    tol: float64[]; max_iters: int32[] (at least one step is taken).
    num_lanes: problems advanced together, over all threads; >= C * I with one
      thread is a plain vmap (the natural choice on a GPU).
    num_threads: host threads, e.g. the number of CPU cores.

  Returns:
    A :class:`Result` whose fields lead with [C, I].

  Raises:
    lbvae.ConfigError: float64 is off.
  """
  problem_lib.require_x64("fixed_point.solve_grid")
  parts = max(1, int(num_threads))
  red, jobs = _queue(prob, b0, sigma_w0, betas, lams, tol, max_iters)
  split = _split(jobs, parts)
  width = max(1, num_lanes // parts)
  outs = lanes.on_host_threads(
    lambda k: _run(jax.tree.map(lambda x: x[k], split), num_lanes=width), parts
  )
  out = jax.tree.map(lambda *xs: jnp.stack(xs), *outs)
  return _join(red, prob.noise_var, out, betas)

"""Sequential NumPy fixed-point solver: the published iteration, literally (arXiv 2602.09277).

Synopsis::

    from lbvae.linear import reference
    A, B, Sigma_Z, Sigma_W, updates = reference.solve(
        Sigma_Y, B0, Sigma_W0, beta=4.0, lam=2.0, tol=1e-6, max_iters=50_000)
    for A, B, Sigma_Z, Sigma_W in reference.trajectory(Sigma_Y, B0, Sigma_W0,
                                                       beta=1.0, lam=2.0, length=9):
      ...                                  # the state after each block update

The authors' loop (updates, stopping rule and cap: docs/theory.md §2), one start and
one (beta, lambda) cell at a time, with dense n x n inverses (O(n^3) per update). The
counter i runs 0 .. max_iters - 1; even i is a decoder step, odd i an encoder step.
It is the baseline ``experiments/bench_linear.py`` times, and the transcription the
tests hold :mod:`lbvae.linear.fixed_point` to.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


def _updates(sigma_y, b0, sigma_w0, *, beta, lam, tol):
  """Yields (A, B, Sigma_Z, Sigma_W, stop) after each block update, forever."""
  n, m = sigma_y.shape[0], b0.shape[0]
  inv, norm = np.linalg.inv, np.linalg.norm
  eye_n, eye_m = np.eye(n), np.eye(m)
  sy_inv = inv(sigma_y)
  b, w = b0.copy(), sigma_w0.copy()
  a = sz = None
  i = 0
  while True:
    if i % 2 == 0:
      w_inv = inv(w)
      sz_new = inv(sy_inv + b.T @ w_inv @ b)
      a_new = sz_new @ b.T @ w_inv
      stop = i > 0 and norm(a_new - a) <= tol and norm(sz_new - sz) <= tol
      a, sz = a_new, sz_new
    else:
      s = (inv(sz) + 2 * lam * eye_n) / beta
      w_new = inv(eye_m + a.T @ s @ a)
      b_new = w_new @ a.T @ s
      stop = norm(b_new - b) <= tol and norm(w_new - w) <= tol
      b, w = b_new, w_new
    i += 1
    yield a, b, sz, w, stop


def solve(
  sigma_y: np.ndarray,
  b0: np.ndarray,
  sigma_w0: np.ndarray,
  *,
  beta: float,
  lam: float,
  tol: float,
  max_iters: int,
):
  """Runs the published loop from one start.

  Args:
    sigma_y: float64[n, n].
    b0: float64[m, n]; sigma_w0: float64[m, m].
    beta, lam, tol: scalars; max_iters: block-update cap (at least one is taken).

  Returns:
    (A [n, m], B [m, n], Sigma_Z [n, n], Sigma_W [m, m], block updates used).
  """
  for k, (a, b, sz, w, stop) in enumerate(
    _updates(sigma_y, b0, sigma_w0, beta=beta, lam=lam, tol=tol), start=1
  ):
    if stop or k >= max_iters:
      return a, b, sz, w, k


def trajectory(
  sigma_y: np.ndarray,
  b0: np.ndarray,
  sigma_w0: np.ndarray,
  *,
  beta: float,
  lam: float,
  length: int,
) -> Iterator[tuple]:
  """The states (A, B, Sigma_Z, Sigma_W) after block updates 1 .. ``length``.

  No stopping rule: the loop of :func:`solve` with ``tol = -1``.
  """
  updates = _updates(sigma_y, b0, sigma_w0, beta=beta, lam=lam, tol=-1.0)
  for _ in range(length):
    yield next(updates)[:4]

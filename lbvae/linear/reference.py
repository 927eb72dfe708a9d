"""Sequential NumPy fixed-point solver: the literal SPEC §3 updates (arXiv 2602.09277).

Synopsis::

    from lbvae.linear import reference
    A, B, Sigma_Z, Sigma_W, iterations = reference.solve(
        Sigma_Y, B0, Sigma_W0, beta=4.0, lam=2.0, tol=1e-6, max_iters=50_000)

The way a straightforward implementation runs the alternating updates: dense
n x n inverses every step (O(n^3)), one start and one (beta, lambda) cell at a
time. It is the baseline that ``experiments/bench_linear.py`` times against the
vectorised solver of :mod:`lbvae.linear.fixed_point`. Same stopping rule: stop as
soon as one block update moves both of its matrices by at most ``tol`` (Frobenius),
or after ``max_iters`` block updates; the decoder starts at A = 0, Sigma_Z = Sigma_Y.
"""

from __future__ import annotations

import numpy as np


def solve(sigma_y: np.ndarray, b0: np.ndarray, sigma_w0: np.ndarray, *, beta: float,
          lam: float, tol: float, max_iters: int):
  """Runs the alternating updates from one start.

  Args:
    sigma_y: float64[n, n].
    b0: float64[m, n]; sigma_w0: float64[m, m].
    beta, lam, tol: scalars; max_iters: block-update cap (at least one is taken).

  Returns:
    (A [n, m], B [m, n], Sigma_Z [n, n], Sigma_W [m, m], block updates used).
  """
  n, m = sigma_y.shape[0], b0.shape[0]
  eye_n, eye_m = np.eye(n), np.eye(m)
  sy_inv = np.linalg.inv(sigma_y)
  a, sz = np.zeros((n, m)), sigma_y.copy()
  b, w = b0.copy(), sigma_w0.copy()
  it = 0
  while True:
    w_inv = np.linalg.inv(w)
    p = np.linalg.inv(sy_inv + b.T @ w_inv @ b)
    a_new, sz_new = p @ b.T @ w_inv, p
    it += 1
    moved = max(np.linalg.norm(a_new - a), np.linalg.norm(sz_new - sz))
    a, sz = a_new, sz_new
    if moved <= tol or it >= max_iters:
      return a, b, sz, w, it
    s = (np.linalg.inv(sz) + 2 * lam * eye_n) / beta
    w_new = np.linalg.inv(eye_m + a.T @ s @ a)
    b_new = w_new @ a.T @ s
    it += 1
    moved = max(np.linalg.norm(b_new - b), np.linalg.norm(w_new - w))
    b, w = b_new, w_new
    if moved <= tol or it >= max_iters:
      return a, b, sz, w, it

"""The published instances and starts of the linear experiment (arXiv 2602.09277).

Synopsis::

    from lbvae.linear import published
    draws = published.replay()                 # {50: Draws, 100: Draws}
    prob = draws[50].problem                    # Gamma, Sigma_V of the paper's figure
    b0, w0 = draws[50].fixed_point              # [50, m, n], [50, m, m]
    z0, w0 = draws[50].gradient                 # [50, n, n], [50, m, m] (SPD)

Replays the authors' NumPy stream (legacy generator seeded once with 42, drawn in the
order given in docs/method.md §3) from a ``numpy.random.RandomState`` of its own; no
global state is read. The SVDs in :func:`spd_matrix` run on one BLAS thread, since
their last bits depend on the thread count. The gradient starts' A and B came from
PyTorch's generator and are not reproduced: :mod:`lbvae.linear.protocol` draws them
with JAX.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg
import threadpoolctl

from lbvae.linear import problem as problem_lib

SEED = 42
SIZES = (50, 100)
NUM_STARTS = 50
M = 10
S = 5
NOISE_VAR = 0.05


class Draws(NamedTuple):
  """What the published stream gives one instance size n (host float64 arrays).

  Attributes:
    problem: Gamma [n, s], Sigma_V [s, s] (diagonal), noise_var [].
    fixed_point: (B_0 [I, m, n], Sigma_W0 [I, m, m]), I = number of starts.
    gradient: (Sigma_Z0 [I, n, n], Sigma_W0 [I, m, m]), SPD up to rounding.
  """

  problem: problem_lib.Problem
  fixed_point: tuple[np.ndarray, np.ndarray]
  gradient: tuple[np.ndarray, np.ndarray]


def spd_matrix(k: int, rng: np.random.RandomState) -> np.ndarray:
  """scikit-learn's ``make_spd_matrix(k)`` drawn from ``rng``: float64[k, k].

  X = uniform(size=(k, k)); U, _, V^T = svd(X^T X); U (1 + diag(uniform(size=k))) V^T,
  consuming k * k + k uniforms as scikit-learn does. "1 +" adds one to every entry,
  so the middle factor is not diagonal and the signs the SVD picks for U and V matter:
  this calls the same ``scipy.linalg.svd`` (LAPACK gesdd) the same way. The result is
  symmetric only to rounding (~1e-15) and is returned as drawn.
  """
  x = rng.uniform(size=(k, k))
  u, _, vt = scipy.linalg.svd(np.dot(x.T, x), check_finite=False)
  return np.dot(np.dot(u, 1.0 + np.diag(rng.uniform(size=k))), vt)


def replay(
  *,
  sizes=SIZES,
  m: int = M,
  s: int = S,
  num_starts: int = NUM_STARTS,
  noise_var: float = NOISE_VAR,
  seed: int = SEED,
) -> dict[int, Draws]:
  """Replays the published random stream.

  Args:
    sizes: instance dimensions in stream order (the paper's: 50, then 100).
    m: latent dimension; s: number of factors.
    num_starts: starts per solver and size (the paper's: 50).
    noise_var: sigma^2 of the instances.
    seed: the legacy NumPy seed (the paper's: 42).

  Returns:
    n -> :class:`Draws`, for every n in ``sizes``.
  """
  with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
    return _replay(sizes, m, s, num_starts, noise_var, seed)


def _replay(sizes, m, s, num_starts, noise_var, seed):
  rng = np.random.RandomState(seed)
  out = {}
  for n in sizes:
    variances = rng.uniform(0.1, 1.0, s)
    gamma = rng.randn(n, s)
    b0, fp_w0 = [], []
    for _ in range(num_starts):
      b0.append(rng.rand(m, n))
      fp_w0.append(spd_matrix(m, rng))
    z0, gd_w0 = [], []
    for _ in range(num_starts):
      z0.append(spd_matrix(n, rng))
      gd_w0.append(spd_matrix(m, rng))
    prob = problem_lib.Problem(gamma, np.diag(variances), np.float64(noise_var))
    out[n] = Draws(
      prob, (np.stack(b0), np.stack(fp_w0)), (np.stack(z0), np.stack(gd_w0))
    )
  return out

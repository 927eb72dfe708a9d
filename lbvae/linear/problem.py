"""Instances of the linear-Gaussian model of arXiv 2602.09277 (docs/theory.md §1).

Synopsis::

    from lbvae.linear import problem
    prob = problem.generate(jax.random.key(0), n=50, s=5, noise_var=0.05)
    prob = problem.load("instance.npz", default_noise_var=0.05)  # Gamma, Sigma_V
    prob = problem.load("gamma_sigma_y.npz,sigma_v.npz", default_noise_var=0.05)
    C = problem.times_sigma_y(prob, B)           # B Sigma_Y without forming Sigma_Y

Sigma_Y = Gamma Sigma_V Gamma^T + noise_var I is low rank plus a multiple of the
identity; the solvers use that through :func:`times_sigma_y` and form the dense
matrix only where a closed form needs a determinant.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lbvae import errors
from lbvae.linear import spd


class Problem(NamedTuple):
  """One instance of the generative truth (a pytree).

  Attributes:
    gamma: float64[n, s], the mixing matrix Gamma.
    sigma_v: float64[s, s], the factor covariance Sigma_V (diagonal in the paper).
    noise_var: float64[], the observation noise variance sigma^2.
  """

  gamma: jax.Array
  sigma_v: jax.Array
  noise_var: jax.Array

  @property
  def n(self) -> int:
    return self.gamma.shape[-2]

  @property
  def s(self) -> int:
    return self.gamma.shape[-1]


def require_x64(what: str) -> None:
  """Raises :class:`lbvae.ConfigError` unless float64 is on in this thread.

  Without x64 JAX silently computes in float32, which the solvers' convergence tests
  and Cholesky sweeps cannot tolerate.
  """
  errors.require(
    bool(jax.enable_x64.value),
    f"{what} needs float64: call it inside `with jax.enable_x64(True):`",
  )


def generate(key: jax.Array, *, n: int, s: int, noise_var: float) -> Problem:
  """Draws a published-style instance: Gamma ~ N(0, 1), Sigma_V = diag(U(0.1, 1)).

  Args:
    key: a PRNG key.
    n: observation dimension.
    s: number of ground-truth factors.
    noise_var: sigma^2 > 0.

  Returns:
    A :class:`Problem` in the default float dtype (float64 under x64).
  """
  k_gamma, k_var = jax.random.split(key)
  gamma = jax.random.normal(k_gamma, (n, s))
  variances = jax.random.uniform(k_var, (s,), minval=0.1, maxval=1.0)
  return Problem(gamma, jnp.diag(variances), jnp.asarray(noise_var, gamma.dtype))


def sigma_y(prob: Problem) -> jax.Array:
  """Dense Sigma_Y = Gamma Sigma_V Gamma^T + sigma^2 I: float64[n, n]."""
  g = prob.gamma
  return g @ prob.sigma_v @ g.T + prob.noise_var * jnp.eye(prob.n, dtype=g.dtype)


def times_sigma_y(prob: Problem, b: jax.Array) -> jax.Array:
  """B Sigma_Y in O(n m s) time, without forming Sigma_Y.

  Args:
    prob: the instance.
    b: float64[m, n].

  Returns:
    float64[m, n], B Sigma_Y.
  """
  bg = b @ prob.gamma
  return (bg @ prob.sigma_v) @ prob.gamma.T + prob.noise_var * b


def entropy_y(prob: Problem) -> jax.Array:
  """Differential entropy h(Y) = 1/2 (n + n log 2 pi + log det Sigma_Y), nats."""
  n = prob.n
  return 0.5 * (n + n * jnp.log(2 * jnp.pi) + spd.logdet(sigma_y(prob)))


def collapse_value(prob: Problem) -> jax.Array:
  """R at the collapsed solution B = 0, A = 0, Sigma_Z = Sigma_Y (equals h(Y))."""
  return entropy_y(prob)


def from_arrays(gamma, sigma_v, noise_var, *, source: str = "problem") -> Problem:
  """Validates host arrays and returns a float64 NumPy :class:`Problem`.

  Args:
    gamma: array-like [n, s].
    sigma_v: array-like [s, s] (symmetric positive definite) or [s] (positive).
    noise_var: positive scalar.
    source: a name for error messages.

  Returns:
    A Problem of float64 NumPy arrays (convert with ``jnp.asarray`` under x64).

  Raises:
    errors.Error: on a wrong shape, a non-finite value, a non-positive variance
      or a Sigma_V that is not symmetric positive definite.
  """
  gamma = np.asarray(gamma, dtype=np.float64)
  sigma_v = np.asarray(sigma_v, dtype=np.float64)
  noise_var = np.asarray(noise_var, dtype=np.float64)
  errors.require(
    gamma.ndim == 2 and min(gamma.shape) > 0,
    f"{source}: Gamma must be a non-empty [n, s] matrix, got shape {gamma.shape}",
  )
  s = gamma.shape[1]
  if sigma_v.ndim == 1:
    errors.require(
      sigma_v.shape == (s,),
      f"{source}: Sigma_V must have shape [{s}] or [{s}, {s}], got {sigma_v.shape}",
    )
    errors.require(
      bool(np.all(sigma_v > 0)), f"{source}: Sigma_V variances must be positive"
    )
    sigma_v = np.diag(sigma_v)
  errors.require(
    sigma_v.shape == (s, s),
    f"{source}: Sigma_V must have shape [{s}] or [{s}, {s}], got {sigma_v.shape}",
  )
  errors.require(
    noise_var.ndim == 0,
    f"{source}: noise_var must be a scalar, got shape {noise_var.shape}",
  )
  for name, x in (("Gamma", gamma), ("Sigma_V", sigma_v), ("noise_var", noise_var)):
    errors.require(
      bool(np.all(np.isfinite(x))), f"{source}: {name} has non-finite entries"
    )
  errors.require(
    float(noise_var) > 0, f"{source}: noise_var must be > 0, got {float(noise_var)}"
  )
  errors.require(
    np.allclose(sigma_v, sigma_v.T) and np.linalg.eigvalsh(sigma_v).min() > 0,
    f"{source}: Sigma_V must be symmetric positive definite",
  )
  return Problem(gamma, sigma_v, noise_var)


ARRAY_NAMES = ("Gamma", "Sigma_V", "Sigma_Y", "noise_var")


def _read(path: str, source: str) -> dict[str, np.ndarray]:
  """Arrays of one .npz (by name) or one .npy (named by the file's stem)."""
  errors.require(os.path.isfile(path), f"{source}: no such file {path}")
  try:
    if path.endswith(".npy"):
      stem = os.path.splitext(os.path.basename(path))[0]
      return {stem: np.load(path, allow_pickle=False)}
    with np.load(path, allow_pickle=False) as data:
      return {k: np.asarray(data[k]) for k in data.files}
  except Exception as e:  # np.load raises several types on a corrupt file.
    raise errors.DataError(
      f"{source}: {path} is not a readable .npz/.npy file ({type(e).__name__})"
    ) from None


def load(paths: str, *, default_noise_var: float) -> Problem:
  """Loads an instance from one or more files (comma-separated paths).

  The arrays of all files are merged by name, matched case-insensitively against
  ``Gamma`` [n, s], ``Sigma_V`` [s] or [s, s], ``Sigma_Y`` [n, n] and ``noise_var``
  (others are ignored; a name may appear in one file only). An .npy file holds one
  array named by its file name (``Sigma_V.npy``). So the authors' layout, Gamma
  and Sigma_Y in one .npz and Sigma_V in another, loads as ``"a.npz,b.npz"``. When
  Sigma_Y is given it must equal Gamma Sigma_V Gamma^T + sigma^2 I, and it supplies
  sigma^2 when the files have no ``noise_var`` (``default_noise_var`` if the two
  agree to 1e-9 relative).

  Args:
    paths: one path, or several separated by commas.
    default_noise_var: sigma^2 used when neither noise_var nor Sigma_Y is given.

  Returns:
    A validated float64 NumPy :class:`Problem`.

  Raises:
    errors.Error: a file is missing or unreadable, or the arrays are bad.
  """
  source = f"config.problem={paths}"
  arrays: dict[str, np.ndarray] = {}
  canonical = {name.lower(): name for name in ARRAY_NAMES}
  for path in (p.strip() for p in str(paths).split(",") if p.strip()):
    for key, value in _read(path, source).items():
      name = canonical.get(key.lower())
      if name is None:
        continue
      errors.require(name not in arrays, f"{source}: array '{name}' appears twice")
      arrays[name] = value
  for key in ("Gamma", "Sigma_V"):
    errors.require(
      key in arrays,
      f"{source}: missing array '{key}' (found: {', '.join(sorted(arrays)) or 'none'})",
    )
  noise_var = arrays.get("noise_var", default_noise_var)
  prob = from_arrays(arrays["Gamma"], arrays["Sigma_V"], noise_var, source=source)
  if "Sigma_Y" not in arrays:
    return prob
  sy = np.asarray(arrays["Sigma_Y"], np.float64)
  n = prob.n
  errors.require(
    sy.shape == (n, n), f"{source}: Sigma_Y must have shape [{n}, {n}], got {sy.shape}"
  )
  rest = sy - prob.gamma @ prob.sigma_v @ prob.gamma.T
  implied = float(np.mean(np.diag(rest)))
  errors.require(
    np.allclose(rest, implied * np.eye(n), rtol=0.0, atol=1e-8 * np.abs(sy).max()),
    f"{source}: Sigma_Y is not Gamma Sigma_V Gamma^T + sigma^2 I",
  )
  if "noise_var" in arrays:
    errors.require(
      np.isclose(implied, float(prob.noise_var), rtol=1e-6),
      f"{source}: Sigma_Y implies noise_var={implied:.6g}, the file "
      f"says {float(prob.noise_var):.6g}",
    )
    return prob
  if np.isclose(implied, default_noise_var, rtol=1e-9, atol=0.0):
    implied = default_noise_var  # the configured value, not its rounded image
  return from_arrays(prob.gamma, prob.sigma_v, implied, source=source)

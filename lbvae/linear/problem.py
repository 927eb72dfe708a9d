"""Instances of the linear-Gaussian model of arXiv 2602.09277 (SPEC §3).

Synopsis::

    from lbvae.linear import problem
    prob = problem.generate(jax.random.key(0), n=50, s=5, noise_var=0.05)
    prob = problem.load("instance.npz")          # Gamma [n, s], Sigma_V [s, s] or [s]
    C = problem.times_sigma_y(prob, B)           # B Sigma_Y without forming Sigma_Y

The ground truth draws factors v ~ N(0, Sigma_V) and observations
y = Gamma v + eps, eps ~ N(0, noise_var I), so Sigma_Y = Gamma Sigma_V Gamma^T +
noise_var I. Sigma_Y is low rank plus a multiple of the identity; the solvers use
that structure through :func:`times_sigma_y` and only form the dense matrix when a
closed form needs a determinant.
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
    sigma_v: float64[s, s], the factor covariance Sigma_V (diagonal in SPEC §3).
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
  errors.require(gamma.ndim == 2 and min(gamma.shape) > 0,
              f"{source}: Gamma must be a non-empty [n, s] matrix, got shape "
              f"{gamma.shape}")
  s = gamma.shape[1]
  if sigma_v.ndim == 1:
    errors.require(sigma_v.shape == (s,),
                f"{source}: Sigma_V must have shape [{s}] or [{s}, {s}], got "
                f"{sigma_v.shape}")
    errors.require(bool(np.all(sigma_v > 0)),
                f"{source}: Sigma_V variances must be positive")
    sigma_v = np.diag(sigma_v)
  errors.require(sigma_v.shape == (s, s),
              f"{source}: Sigma_V must have shape [{s}] or [{s}, {s}], got "
              f"{sigma_v.shape}")
  errors.require(noise_var.ndim == 0,
              f"{source}: noise_var must be a scalar, got shape {noise_var.shape}")
  for name, x in (("Gamma", gamma), ("Sigma_V", sigma_v),
                  ("noise_var", noise_var)):
    errors.require(bool(np.all(np.isfinite(x))),
                f"{source}: {name} has non-finite entries")
  errors.require(float(noise_var) > 0,
              f"{source}: noise_var must be > 0, got {float(noise_var)}")
  errors.require(np.allclose(sigma_v, sigma_v.T) and
              np.linalg.eigvalsh(sigma_v).min() > 0,
              f"{source}: Sigma_V must be symmetric positive definite")
  return Problem(gamma, sigma_v, noise_var)


def load(path: str, *, default_noise_var: float) -> Problem:
  """Loads an instance from an .npz with ``Gamma``, ``Sigma_V``, ``noise_var``.

  Args:
    path: the .npz file; ``noise_var`` is optional in it.
    default_noise_var: sigma^2 used when the file has no ``noise_var``.

  Returns:
    A validated float64 NumPy :class:`Problem`.

  Raises:
    errors.Error: the file is missing, unreadable or holds bad arrays.
  """
  source = f"config.problem={path}"
  errors.require(os.path.isfile(path), f"{source}: no such file")
  try:
    with np.load(path, allow_pickle=False) as data:
      arrays = {k: np.asarray(data[k]) for k in data.files}
  except Exception as e:  # np.load raises several types on a corrupt file.
    raise errors.DataError(f"{source}: not a readable .npz file "
                         f"({type(e).__name__})") from None
  for key in ("Gamma", "Sigma_V"):
    errors.require(key in arrays, f"{source}: missing array '{key}' "
                f"(found: {', '.join(sorted(arrays)) or 'none'})")
  noise_var = arrays.get("noise_var", default_noise_var)
  return from_arrays(arrays["Gamma"], arrays["Sigma_V"], noise_var,
                     source=source)

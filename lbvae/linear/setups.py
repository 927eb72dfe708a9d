"""Instances and random starts of the linear protocol (arXiv 2602.09277; docs/theory.md).

Synopsis::

    from lbvae.linear import setups
    setups.validate(config)                  # errors.Error on a bad instance field
    for n, setup in setups.build(config).items():
      setup.problem, setup.fixed_point, setup.gradient, setup.contraction

``config.instance`` chooses their source:

- ``"published"`` (the default): the authors' stream (:mod:`lbvae.linear.published`),
  gradient starts as lower Cholesky factors, with our A, B ~ N(0, 1) (``config.seed``)
  unless ``config.gradient.ab_starts`` names an .npz of theirs (docs/theory.md §8);
- ``"generated"``: Gamma, Sigma_V and every start drawn with JAX from ``config.seed``.

``config.problem`` (files, :func:`lbvae.linear.problem.load`) replaces the instance,
with generated starts. The contraction figure starts from the first published
fixed-point start, or, when generated, from a start of its own (:func:`init_key`).
"""

from __future__ import annotations

from typing import NamedTuple

import os

import jax
import numpy as np

from lbvae import errors
from lbvae.linear import init
from lbvae.linear import problem as problem_lib
from lbvae.linear import published

INSTANCES = ("published", "generated")


class Setup(NamedTuple):
  """One instance and every start the protocol uses for it (host float64 arrays).

  Attributes:
    problem: the instance.
    fixed_point: (B_0 [I, m, n], Sigma_W0 [I, m, m]).
    gradient: :class:`init.CholeskyParams` with a leading axis I.
    contraction: (B_0 [m, n], Sigma_W0 [m, m]), the contraction figure's start.
  """

  problem: problem_lib.Problem
  fixed_point: tuple[np.ndarray, np.ndarray]
  gradient: init.CholeskyParams
  contraction: tuple[np.ndarray, np.ndarray]


def validate(config) -> None:
  """Checks ``config.instance`` against the other fields it constrains."""
  errors.require(
    config.instance in INSTANCES,
    f"config.instance must be one of {', '.join(INSTANCES)}, got {config.instance!r}",
  )
  if config.instance != "published" or config.problem:
    return
  sizes = ", ".join(str(n) for n in published.SIZES)
  for n in config.n_values:
    errors.require(
      n in published.SIZES,
      f"config.n_values has {n}; the published "
      f"instances have n in ({sizes}): use config.instance=generated",
    )
  errors.require(
    config.num_inits <= published.NUM_STARTS,
    f"config.num_inits={config.num_inits}: the published stream has "
    f"{published.NUM_STARTS} starts; use config.instance=generated",
  )


def init_key(config, n: int, salt: int) -> jax.Array:
  """Key of our random starts: salt 1 fixed point, 2 gradient, 3 contraction."""
  return jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed), n), salt)


def _host(tree):
  return jax.tree.map(lambda x: np.asarray(x, np.float64), tree)


def _generated(config, prob: problem_lib.Problem) -> Setup:
  n, m, num = prob.n, int(config.m), int(config.num_inits)
  with jax.enable_x64(True):
    fp = init.batch(init.fixed_point, init_key(config, n, 1), num, n=n, m=m)
    gd = init.batch(init.gradient, init_key(config, n, 2), num, n=n, m=m)
    first = init.fixed_point(init_key(config, n, 3), n=n, m=m)
  return Setup(prob, _host(fp), _host(gd), _host(first))


def _load_ab(path: str, *, n: int, m: int, num: int):
  """A [num, n, m], B [num, m, n] from an .npz with A_n{n}, B_n{n} (first num)."""
  source = f"config.gradient.ab_starts={path}"
  errors.require(os.path.isfile(path), f"{source}: no such file")
  try:
    with np.load(path, allow_pickle=False) as f:
      arrays = {k: np.asarray(f[k], np.float64) for k in f.files}
  except Exception as e:  # np.load raises several types on a corrupt file.
    raise errors.DataError(
      f"{source}: not a readable .npz ({type(e).__name__})"
    ) from None
  a, b = arrays.get(f"A_n{n}"), arrays.get(f"B_n{n}")
  errors.require(
    a is not None and b is not None, f"{source}: needs arrays A_n{n} and B_n{n}"
  )
  errors.require(
    a.ndim == 3
    and a.shape[0] >= num
    and a.shape[1:] == (n, m)
    and b.shape == (a.shape[0], m, n),
    f"{source}: A_n{n} must be [>= {num}, {n}, {m}] and B_n{n} [same, {m}, {n}]",
  )
  return a[:num], b[:num]


def _published(config, draws: published.Draws) -> Setup:
  prob, num, m = draws.problem, int(config.num_inits), int(config.m)
  b0, w0 = (x[:num] for x in draws.fixed_point)
  z0, gw0 = (x[:num] for x in draws.gradient)
  with jax.enable_x64(True):
    ours = init.batch(init.gradient, init_key(config, prob.n, 2), num, n=prob.n, m=m)
  a0, b0_grad = np.asarray(ours.A, np.float64), np.asarray(ours.B, np.float64)
  if config.gradient.ab_starts:
    a0, b0_grad = _load_ab(config.gradient.ab_starts, n=prob.n, m=m, num=num)
  # The factors the authors start from: lower Cholesky factors of their draws
  # (LAPACK potrf reads the lower triangle, as torch.linalg.cholesky does).
  grad = init.CholeskyParams(
    a0, b0_grad, np.linalg.cholesky(z0), np.linalg.cholesky(gw0)
  )
  return Setup(prob, (b0, w0), grad, (b0[0], w0[0]))


def build(config) -> dict[int, Setup]:
  """n -> :class:`Setup` for every instance of the protocol; call after validate."""
  if config.problem:
    prob = problem_lib.load(config.problem, default_noise_var=float(config.noise_var))
    return {prob.n: _generated(config, prob)}
  sizes = [int(n) for n in config.n_values]
  if config.instance == "published":
    draws = published.replay(
      m=int(config.m), s=int(config.s), noise_var=float(config.noise_var)
    )
    return {n: _published(config, draws[n]) for n in sizes}
  out = {}
  for n in sizes:
    with jax.enable_x64(True):
      key = jax.random.fold_in(jax.random.key(config.seed), n)
      prob = problem_lib.generate(
        key, n=n, s=int(config.s), noise_var=float(config.noise_var)
      )
    out[n] = _generated(config, problem_lib.Problem(*_host(prob)))
  return out

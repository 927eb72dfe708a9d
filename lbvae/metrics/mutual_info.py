"""Plug-in discrete mutual information between latents and ground-truth factors.

The estimator behind MIG (Chen et al., 2018, "Isolating Sources of Disentanglement in
Variational Autoencoders") and behind the I_m score of arXiv 2602.09277 (§4; docs/method.md):
each latent is cut into ``num_bins`` equal-width bins spanning its observed
[min, max] (the maximum falls in the last bin; a constant latent puts every sample
in bin 0 and so has zero MI with everything), factors are class indices, and
I(z_i; v_j) is the plug-in MI of the empirical joint histogram, in nats.

Synopsis::

  mi = mutual_info_matrix(latents, factors, factor_sizes=(3, 6, 40, 32, 32))  # [L, F]
  h = factor_entropy(factors, factor_sizes=(3, 6, 40, 32, 32))               # [F]

Factor class counts must be static under ``jit``/``vmap``: pass ``factor_sizes``
(the dataset's ``factor_sizes``). Left as ``None`` they are read off concrete
``factors`` as max + 1, which works only outside ``jit``/``vmap``. All joint
histograms are one matrix product of one-hot codes, so the whole [L, F] matrix costs
O(N · L · num_bins · Σ factor_sizes) flops and no Python loop.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lbvae import errors


def resolve_factor_sizes(
  factors, factor_sizes: Sequence[int] | None
) -> tuple[int, ...]:
  """Returns static per-factor class counts, and checks concrete factors against them.

  Args:
    factors: int[N, F] class indices.
    factor_sizes: number of classes of each factor, or None to use max + 1 of
      ``factors`` (needs concrete values: not under ``jit`` or ``vmap``).

  Returns:
    A tuple of F Python ints.

  Raises:
    lbvae.errors.ConfigError: sizes of the wrong length or not positive, or None
      with traced ``factors``.
    lbvae.errors.DataError: ``factors`` of a non-integer dtype, or concrete ones
      with a value outside ``[0, factor_sizes[j])`` (it would fall outside every
      histogram bin and silently lower every score). Traced values (under
      jit/vmap) cannot be range-checked here: check them before the transformation, as the evaluation pass
      does, or call the metric once eagerly.
  """
  errors.require(
    jnp.issubdtype(factors.dtype, jnp.integer),
    f"factors must be integer class indices, got dtype {factors.dtype} "
    "(cast whole-number values with .astype(int))",
    errors.DataError,
  )
  num_factors = factors.shape[-1]
  concrete = not isinstance(factors, jax.core.Tracer)
  if factor_sizes is None:
    errors.require(
      concrete,
      "factor_sizes must be given when factors are traced (under jit "
      "or vmap); pass the dataset's factor_sizes",
    )
    values = np.asarray(factors)
    errors.require(
      values.size == 0 or values.min() >= 0,
      f"factor classes must be >= 0, got {values.min()}",
      errors.DataError,
    )
    return tuple(int(values[:, j].max()) + 1 for j in range(num_factors))
  sizes = tuple(int(s) for s in factor_sizes)
  errors.require(
    len(sizes) == num_factors,
    f"factor_sizes has {len(sizes)} entries but factors has {num_factors} columns",
  )
  errors.require(
    min(sizes, default=1) >= 1, f"factor_sizes must be positive, got {sizes}"
  )
  if concrete:
    check_factor_range(np.asarray(factors), sizes)
  return sizes


def resolve_inputs(latents, factors, factor_sizes: Sequence[int] | None):
  """The boundary every metric shares: array-likes in, checked arrays and sizes out.

  Lists, tuples and NumPy arrays become arrays; traced arrays (under jit/vmap)
  pass through unchanged.

  Args:
    latents: float[N, L] codes (any array-like).
    factors: int[N, F] class indices (any array-like of an integer dtype).
    factor_sizes: as in :func:`resolve_factor_sizes`.

  Returns:
    (latents, factors, factor sizes as a tuple of F ints).

  Raises:
    lbvae.errors.DataError: codes or factors that are not 2-D arrays of numbers,
      a different number of rows in each, or what :func:`resolve_factor_sizes`
      refuses (factors that are not integers or lie outside their sizes).
  """
  latents, factors = _as_array(latents, "latents"), _as_array(factors, "factors")
  errors.require(
    latents.ndim == 2 and factors.ndim == 2,
    f"latents and factors must be 2-D [N, L] and [N, F], got shapes "
    f"{tuple(latents.shape)} and {tuple(factors.shape)}",
    errors.DataError,
  )
  errors.require(
    latents.shape[0] == factors.shape[0],
    f"latents has {latents.shape[0]} rows but factors has {factors.shape[0]}",
    errors.DataError,
  )
  return latents, factors, resolve_factor_sizes(factors, factor_sizes)


def _as_array(values, name: str):
  if isinstance(values, (jax.Array, np.ndarray)):
    return values
  try:
    values = np.asarray(values)
  except (TypeError, ValueError) as e:
    raise errors.DataError(f"{name} must be an array of numbers: {e}") from None
  errors.require(
    values.dtype.kind in "biuf",
    f"{name} must be an array of numbers, got dtype {values.dtype}",
    errors.DataError,
  )
  return values


def check_factor_range(factors: np.ndarray, factor_sizes: Sequence[int]) -> None:
  """Raises DataError unless every column j of ``factors`` lies in [0, sizes[j]).

  Args:
    factors: int[..., F] concrete class indices.
    factor_sizes: F class counts.
  """
  if factors.size == 0:
    return
  flat = factors.reshape(-1, factors.shape[-1])
  lo, hi = flat.min(axis=0), flat.max(axis=0)
  for j, k in enumerate(factor_sizes):
    errors.require(
      lo[j] >= 0 and hi[j] < k,
      f"factor {j} has class values in [{lo[j]}, {hi[j]}] but "
      f"factor_sizes[{j}] = {k}: classes must be integers in [0, {k})",
      errors.DataError,
    )


def discretize(latents: jax.Array, *, num_bins: int = 20) -> jax.Array:
  """Equal-width binning of each latent over its observed range.

  Bin k of latent i covers [lo + k·w, lo + (k+1)·w) with lo = min, w = (max − min) /
  num_bins; the maximum goes into the last bin (``np.digitize`` on the inner edges).

  Args:
    latents: float[N, L].
    num_bins: number of bins per latent.

  Returns:
    int32[N, L] bin indices in [0, num_bins).
  """
  latents = jnp.asarray(latents, jnp.float32)
  lo = latents.min(axis=0)
  width = latents.max(axis=0) - lo
  scaled = (latents - lo) / jnp.where(width > 0, width, 1.0)
  bins = jnp.floor(scaled * num_bins).astype(jnp.int32)
  return jnp.clip(bins, 0, num_bins - 1)


def _factor_one_hot(factors: jax.Array, sizes: tuple[int, ...]) -> jax.Array:
  """float32[N, sum(sizes)]: the factors' one-hot codes side by side."""
  factors = jnp.asarray(factors, jnp.int32)
  return jnp.concatenate(
    [jax.nn.one_hot(factors[:, j], k, dtype=jnp.float32) for j, k in enumerate(sizes)],
    axis=1,
  )


def _segments(sizes: tuple[int, ...]) -> np.ndarray:
  """float32[sum(sizes), F]: column j sums the classes of factor j."""
  owner = np.repeat(np.arange(len(sizes)), sizes)
  return np.eye(len(sizes), dtype=np.float32)[owner]


def _plogp_ratio(p: jax.Array, q: jax.Array) -> jax.Array:
  """p · log(p / q), with 0 where p = 0."""
  positive = p > 0
  safe_p = jnp.where(positive, p, 1.0)
  safe_q = jnp.where(positive, q, 1.0)
  return jnp.where(positive, p * (jnp.log(safe_p) - jnp.log(safe_q)), 0.0)


def factor_entropy(
  factors: jax.Array, *, factor_sizes: Sequence[int] | None = None
) -> jax.Array:
  """Empirical entropy of each factor, in nats.

  Args:
    factors: int[N, F] class indices.
    factor_sizes: number of classes per factor (static; see module docstring).

  Returns:
    float32[F] entropies H(v_j).
  """
  factors = _as_array(factors, "factors")
  sizes = resolve_factor_sizes(factors, factor_sizes)
  p = _factor_one_hot(factors, sizes).mean(axis=0)
  return -_plogp_ratio(p, jnp.ones_like(p)) @ _segments(sizes)


def mutual_info_matrix(
  latents: jax.Array,
  factors: jax.Array,
  *,
  num_bins: int = 20,
  factor_sizes: Sequence[int] | None = None,
) -> jax.Array:
  """Plug-in mutual information between every binned latent and every factor.

  Args:
    latents: float[N, L] codes (e.g. encoder means).
    factors: int[N, F] ground-truth class indices, factor j in [0, factor_sizes[j]).
    num_bins: equal-width bins per latent over its observed range.
    factor_sizes: number of classes per factor (static; see module docstring).

  Returns:
    float32[L, F] with entry (i, j) = I(z_i; v_j) in nats (clipped at 0 against
    round-off).
  """
  latents, factors, sizes = resolve_inputs(latents, factors, factor_sizes)
  n = latents.shape[0]
  bins = jax.nn.one_hot(
    discretize(latents, num_bins=num_bins), num_bins, dtype=jnp.float32
  )  # [N, L, B]
  classes = _factor_one_hot(factors, sizes)  # [N, K]
  joint = jnp.einsum("nlb,nk->lbk", bins, classes) / n  # [L, B, K]
  p_bin = bins.mean(axis=0)  # [L, B]
  p_class = classes.mean(axis=0)  # [K]
  outer = p_bin[:, :, None] * p_class[None, None, :]
  per_class = _plogp_ratio(joint, outer).sum(axis=1)  # [L, K]
  return jnp.maximum(per_class @ _segments(sizes), 0.0)

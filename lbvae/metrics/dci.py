"""DCI as the literature computes it: gradient-boosted-tree importances.

Eastwood & Williams (2018), "A Framework for the Quantitative Evaluation of
Disentangled Representations" (ICLR), with the predictor of disentanglement_lib
(Locatello et al., 2019) and disent, whose numbers fill the published tables: per
factor j one scikit-learn ``GradientBoostingClassifier`` with default settings is
fitted on the train codes, and R[:, j] = |feature_importances_| (each column sums
to 1). Then, with 1e-11 added to R before normalising,

- disentanglement D = Σ_i ρ_i (1 − H_F(P_i·)), P_ij = R_ij / Σ_k R_ik,
  ρ_i = Σ_j R_ij / Σ R (entropy in base F, the number of factors);
- completeness C = Σ_j ρ̃_j (1 − H_L(R_·j / Σ_k R_kj)), ρ̃_j = Σ_i R_ij / Σ R
  (entropy in base L, the number of latents);
- informativeness I = the classifiers' test accuracy, mean over factors (higher is
  better).

A code with no information about the factors spreads its importances over every
latent and scores D ≈ C ≈ 0. The fits run on the host (scikit-learn), one thread per
factor; E&W's LASSO variant, a pure JAX function, is
:func:`lbvae.metrics.dci_lasso.dci_lasso` (``predictor="lasso"``).

Synopsis::

  scores = dci(z_train, v_train, z_test, v_test)   # dict of floats and R
"""

from __future__ import annotations

import concurrent.futures
import os

import jax
import jax.numpy as jnp
import numpy as np

from lbvae import errors
from lbvae.metrics import mutual_info

PREDICTORS = ("trees", "lasso")


def _one_minus_entropy(importance: jax.Array, axis: int) -> jax.Array:
  """1 − entropy of R + 1e-11 along ``axis``, in base = that axis's length."""
  size = importance.shape[axis]
  if size == 1:
    return jnp.ones(importance.shape[1 - axis], jnp.float32)
  probs = importance + 1e-11
  probs = probs / probs.sum(axis=axis, keepdims=True)
  return 1.0 + (probs * jnp.log(probs)).sum(axis=axis) / jnp.log(size)


def _weights(mass: jax.Array) -> jax.Array:
  total = mass.sum()
  return jnp.where(total > 0, mass / jnp.where(total > 0, total, 1.0), 1.0 / mass.size)


def disentanglement_completeness(importance: jax.Array, *,
                                 uniform_completeness: bool = False
                                 ) -> tuple[jax.Array, jax.Array]:
  """D and C of an importance matrix (jit-able).

  Args:
    importance: float[L, F], non-negative R.
    uniform_completeness: average the factors' completeness uniformly (E&W's
      definition) instead of weighting factor j by ρ̃_j (disentanglement_lib's).

  Returns:
    (disentanglement, completeness), float32 scalars in [0, 1]; both 0 when R is 0.
  """
  importance = jnp.asarray(importance, jnp.float32)
  if importance.size == 0:
    return jnp.zeros((), jnp.float32), jnp.zeros((), jnp.float32)
  zero = importance.sum() == 0
  per_latent = _one_minus_entropy(importance, axis=1)            # [L]
  per_factor = _one_minus_entropy(importance, axis=0)            # [F]
  d = (per_latent * _weights(importance.sum(axis=1))).sum()
  c = (per_factor.mean() if uniform_completeness
       else (per_factor * _weights(importance.sum(axis=0))).sum())
  return jnp.where(zero, 0.0, d), jnp.where(zero, 0.0, c)


def _fit_factor(z_train, v_train, z_test, v_test):
  from sklearn.ensemble import GradientBoostingClassifier  # pylint: disable=g-import-not-at-top
  classes = np.unique(v_train)
  if classes.size < 2:          # one class: nothing to predict, nothing important
    return np.zeros(z_train.shape[1]), float(np.mean(v_test == classes[0]))
  model = GradientBoostingClassifier(random_state=0).fit(z_train, v_train)
  return (np.abs(model.feature_importances_),
          float(np.mean(model.predict(z_test) == v_test)))


def tree_importance(latents_train, factors_train, latents_test, factors_test, *,
                    num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
  """disentanglement_lib's importance matrix and per-factor test accuracies.

  Args:
    latents_train: float[N, L]; factors_train: int[N, F].
    latents_test: float[M, L]; factors_test: int[M, F].
    num_threads: factors fitted at once (None: one per CPU core, at most F).

  Returns:
    (float64[L, F] R = |feature_importances_|, float64[F] test accuracies).
  """
  z_train = np.asarray(latents_train, np.float64)
  z_test = np.asarray(latents_test, np.float64)
  v_train, v_test = np.asarray(factors_train), np.asarray(factors_test)
  num_factors = v_train.shape[1]
  workers = num_threads or min(num_factors, os.cpu_count() or 1)
  with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
    fits = list(pool.map(lambda j: _fit_factor(z_train, v_train[:, j], z_test,
                                               v_test[:, j]), range(num_factors)))
  return (np.stack([f[0] for f in fits], axis=1).reshape(z_train.shape[1], num_factors),
          np.asarray([f[1] for f in fits]))


def dci(latents_train, factors_train, latents_test, factors_test, *,
        predictor: str = "trees", alpha: float = 0.02,
        factor_sizes=None) -> dict:
  """DCI scores of one code (on the host; ``predictor="lasso"`` is jit-able).

  Args:
    latents_train: float[N, L] codes the predictors are fitted on.
    factors_train: int[N, F] class indices.
    latents_test: float[M, L] codes the predictors are scored on.
    factors_test: int[M, F] class indices of the test part.
    predictor: "trees" (disentanglement_lib's gradient-boosted trees; the
      default) or "lasso" (E&W's LASSO, :func:`lbvae.metrics.dci_lasso.dci_lasso`).
    alpha: the LASSO penalty (``predictor="lasso"`` only).
    factor_sizes: class counts per factor, checked against the factors (optional).

  Returns:
    dict with scalars ``disentanglement``, ``completeness``, ``informativeness``
    (trees: mean test accuracy, higher is better; lasso: test NRMSE, lower is
    better) and the [L, F] ``importance``. Codes with a NaN or Inf score NaN.

  Raises:
    lbvae.errors.ConfigError: an unknown ``predictor``.
    lbvae.errors.DataError: inputs that are not codes and integer factors.
  """
  errors.require(predictor in PREDICTORS,
                 f"predictor must be one of {PREDICTORS}, got {predictor!r}")
  latents_train, factors_train, _ = mutual_info.resolve_inputs(
      latents_train, factors_train, factor_sizes)
  latents_test, factors_test, _ = mutual_info.resolve_inputs(
      latents_test, factors_test, factor_sizes)
  if predictor == "lasso":
    from lbvae.metrics.dci_lasso import dci_lasso  # pylint: disable=g-import-not-at-top
    return dci_lasso(latents_train, factors_train, latents_test, factors_test,
                     alpha=alpha)
  num_latents, num_factors = latents_train.shape[1], factors_train.shape[1]
  if not (np.isfinite(latents_train).all() and np.isfinite(latents_test).all()):
    nan = float("nan")
    return {"disentanglement": nan, "completeness": nan, "informativeness": nan,
            "importance": np.full((num_latents, num_factors), nan)}
  importance, accuracy = tree_importance(latents_train, factors_train,
                                         latents_test, factors_test)
  d, c = disentanglement_completeness(importance)
  return {"disentanglement": float(d), "completeness": float(c),
          "informativeness": float(accuracy.mean()), "importance": importance}

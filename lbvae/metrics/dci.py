"""DCI as the literature computes it: gradient-boosted-tree importances.

Eastwood & Williams (2018), "A Framework for the Quantitative Evaluation of
Disentangled Representations" (ICLR), with the predictor of disentanglement_lib
(Locatello et al., 2019): per factor j a classifier with scikit-learn's default
gradient-boosting settings is fitted on the train codes, R[:, j] = its feature
importances normalised to sum to 1; D and C are the importance-weighted entropies and
I the test accuracy, as docs/method.md §4 ("DCI, as the published tables compute it")
defines them. Predictors, fitted on the host, one thread per factor:

- ``"trees"`` (default): LightGBM with those settings, importance = total split gain;
- ``"sklearn"``: ``GradientBoostingClassifier()`` itself (``feature_importances_``);
- ``"lasso"``: E&W's LASSO in JAX, :func:`lbvae.metrics.dci_lasso.dci_lasso`.

Synopsis::

  scores = dci(z_train, v_train, z_test, v_test)   # dict of floats and R
"""

from __future__ import annotations

import concurrent.futures
import os

import numpy as np

from lbvae import errors
from lbvae.metrics import mutual_info
from lbvae.metrics import entry
from lbvae.metrics.dci_importance import disentanglement_completeness
from lbvae.metrics.dci_lasso import dci_lasso

PREDICTORS = ("trees", "sklearn", "lasso")

# scikit-learn's GradientBoostingClassifier() defaults, in LightGBM's terms.
LIGHTGBM_PARAMS = {
  "learning_rate": 0.1,
  "num_iterations": 100,
  "max_depth": 3,
  "num_leaves": 8,
  "min_data_in_leaf": 1,
  "min_sum_hessian_in_leaf": 1e-3,
  "lambda_l2": 0.0,
  "min_gain_to_split": 0.0,
  "bagging_fraction": 1.0,
  "feature_fraction": 1.0,
  "num_threads": 1,
  "deterministic": True,
  "force_row_wise": True,
  "seed": 0,
  "verbosity": -1,
}


def _fit_sklearn(z_train, labels, num_classes, z_test):
  """(importance[L], predicted test labels) of scikit-learn's default GBT."""
  from sklearn.ensemble import GradientBoostingClassifier  # pylint: disable=g-import-not-at-top

  del num_classes
  model = GradientBoostingClassifier(random_state=0).fit(z_train, labels)
  return np.abs(model.feature_importances_), model.predict(z_test)


def _fit_lightgbm(z_train, labels, num_classes, z_test):
  """(importance[L], predicted test labels) of LightGBM with sklearn's defaults."""
  import lightgbm  # pylint: disable=g-import-not-at-top

  params = dict(LIGHTGBM_PARAMS)
  if num_classes == 2:
    params["objective"] = "binary"
  else:
    params.update(objective="multiclass", num_class=num_classes)
  booster = lightgbm.train(
    params, lightgbm.Dataset(z_train, labels, params={"verbosity": -1})
  )
  importance = booster.feature_importance("gain").astype(np.float64)
  total = importance.sum()
  importance = importance / total if total > 0 else importance
  probs = booster.predict(z_test)
  predicted = (probs > 0.5).astype(int) if num_classes == 2 else probs.argmax(1)
  return importance, predicted


FITS = {"trees": _fit_lightgbm, "sklearn": _fit_sklearn}


def _fit_factor(fit, z_train, v_train, z_test, v_test):
  classes, labels = np.unique(v_train, return_inverse=True)
  if classes.size < 2:  # one class: nothing to predict, nothing important
    return np.zeros(z_train.shape[1]), float(np.mean(v_test == classes[0]))
  importance, predicted = fit(z_train, labels, classes.size, z_test)
  return importance, float(np.mean(classes[predicted] == v_test))


def tree_importance(
  latents_train,
  factors_train,
  latents_test,
  factors_test,
  *,
  predictor: str = "trees",
  num_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
  """The trees' importance matrix and per-factor test accuracies.

  Args:
    latents_train: float[N, L]; factors_train: int[N, F].
    latents_test: float[M, L]; factors_test: int[M, F].
    predictor: "trees" (LightGBM) or "sklearn" (scikit-learn's GBT).
    num_threads: factors fitted at once (None: one per CPU core, at most F).

  Returns:
    (float64[L, F] R, each non-zero column summing to 1; float64[F] test accuracies).
  """
  errors.require(
    predictor in FITS, f"predictor must be one of {tuple(FITS)}, got {predictor!r}"
  )
  fit = FITS[predictor]
  z_train = np.asarray(latents_train, np.float64)
  z_test = np.asarray(latents_test, np.float64)
  v_train, v_test = np.asarray(factors_train), np.asarray(factors_test)
  num_factors = v_train.shape[1]
  workers = num_threads or min(num_factors, os.cpu_count() or 1)
  with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
    fits = list(
      pool.map(
        lambda j: _fit_factor(fit, z_train, v_train[:, j], z_test, v_test[:, j]),
        range(num_factors),
      )
    )
  return (
    np.stack([f[0] for f in fits], axis=1).reshape(z_train.shape[1], num_factors),
    np.asarray([f[1] for f in fits]),
  )


def dci(
  latents_train,
  factors_train,
  latents_test,
  factors_test,
  *,
  predictor: str = "trees",
  alpha: float = 0.02,
  factor_sizes=None,
) -> dict:
  """DCI scores of one code (on the host; ``predictor="lasso"`` is jit-able).

  Args:
    latents_train: float[N, L] codes the predictors are fitted on.
    factors_train: int[N, F] class indices.
    latents_test: float[M, L] codes the predictors are scored on.
    factors_test: int[M, F] class indices of the test part.
    predictor: "trees" (gradient-boosted trees with disentanglement_lib's settings,
      fitted by LightGBM; the default), "sklearn" (the same with scikit-learn's
      GradientBoostingClassifier, slower) or "lasso" (E&W's LASSO,
      :func:`lbvae.metrics.dci_lasso.dci_lasso`).
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
  errors.require(
    predictor in PREDICTORS, f"predictor must be one of {PREDICTORS}, got {predictor!r}"
  )
  latents_train, factors_train, _ = mutual_info.resolve_inputs(
    latents_train, factors_train, factor_sizes
  )
  latents_test, factors_test, _ = mutual_info.resolve_inputs(
    latents_test, factors_test, factor_sizes
  )
  if predictor == "lasso":
    return dci_lasso(
      latents_train, factors_train, latents_test, factors_test, alpha=alpha
    )
  num_latents, num_factors = latents_train.shape[1], factors_train.shape[1]
  if not (np.isfinite(latents_train).all() and np.isfinite(latents_test).all()):
    nan = float("nan")
    return {
      "disentanglement": nan,
      "completeness": nan,
      "informativeness": nan,
      "importance": np.full((num_latents, num_factors), nan),
    }
  importance, accuracy = tree_importance(
    latents_train, factors_train, latents_test, factors_test, predictor=predictor
  )
  d, c = disentanglement_completeness(importance)
  return {
    "disentanglement": float(d),
    "completeness": float(c),
    "informativeness": float(accuracy.mean()),
    "importance": importance,
  }


def tree_columns(latents_train, factors_train, latents_test, factors_test, **_):
  """:func:`dci` with trees as ``metrics.csv`` columns: ``dci_disentanglement``,
  ``dci_completeness``, ``dci_informativeness`` (floats)."""
  scores = dci(latents_train, factors_train, latents_test, factors_test)
  return {
    f"dci_{k}": scores[k]
    for k in ("disentanglement", "completeness", "informativeness")
  }


ENTRIES = (
  entry.Entry(
    "dci_disentanglement",
    "DCI-D",
    True,
    entry.HOST,
    nan_if_diverged=True,
    compute=tree_columns,
  ),
  entry.Entry(
    "dci_completeness",
    "DCI-C",
    True,
    entry.HOST,
    nan_if_diverged=True,
    compute=tree_columns,
  ),
  entry.Entry(
    "dci_informativeness",
    "DCI-I (accuracy)",
    True,
    entry.HOST,
    nan_if_diverged=True,
    compute=tree_columns,
  ),
)

"""The JAX one-feature SVMs reach scikit-learn LinearSVC's optimum."""

import jax
import numpy as np
import pytest
from sklearn.svm import LinearSVC

from lbvae.metrics import linear_svm

C = 0.01


@pytest.fixture(scope="module")
def problem():
  """Three features of different scales and offsets; binary, 4-class and 7-class
  label sets, the last with class 5 absent from the training data."""
  rng = np.random.default_rng(0)
  n = 1500
  labels = np.stack(
    [rng.integers(0, 2, n), rng.integers(0, 4, n), rng.integers(0, 7, n)], axis=1
  ).astype(np.int32)
  labels[labels[:, 2] == 5, 2] = 6
  features = np.stack(
    [
      labels[:, 0] + rng.normal(size=n) * 0.8,
      3 * labels[:, 1] + rng.normal(size=n) * 2 + 5,
      0.1 * labels[:, 2] + rng.normal(size=n) * 0.3 - 2,
    ],
    axis=1,
  ).astype(np.float32)
  fit = jax.jit(lambda x, y: linear_svm.fit_one_feature_svms(x, y, num_classes=7, c=C))
  return features, labels, jax.tree.map(np.asarray, fit(features, labels))


def reference(features, labels, l, j):
  return LinearSVC(
    C=C, class_weight="balanced", loss="squared_hinge", tol=1e-10, max_iter=100_000
  ).fit(features[:, l : l + 1].astype(np.float64), labels[:, j])


def primal_gradient(x, y, positive_class, w, b, present):
  """∇ of ½(w² + b²) + Σ C_i max(0, 1 − y_i(w x_i + b))², float64, liblinear costs."""
  n, classes = len(y), np.flatnonzero(present)
  counts = np.bincount(y, minlength=len(present))
  weight = n / (len(classes) * counts[positive_class])
  sign = np.where(y == positive_class, 1.0, -1.0)
  if len(classes) == 2:
    other = classes[classes != positive_class][0]
    cost = np.where(sign > 0, C * weight, C * n / (2 * counts[other]))
  else:
    cost = np.where(sign > 0, C * weight, C)
  slack = np.maximum(0.0, 1 - sign * (w * x + b))
  return np.array(
    [w - 2 * np.sum(cost * slack * sign * x), b - 2 * np.sum(cost * slack * sign)]
  )


def test_coefficients_match_liblinear(problem):
  features, labels, fit = problem
  assert fit.iterations < 50  # converged before the cap
  for l in range(features.shape[1]):
    for j in range(labels.shape[1]):
      svc = reference(features, labels, l, j)
      np.testing.assert_array_equal(np.flatnonzero(fit.present[j]), svc.classes_)
      w, b = fit.weight[l, j, svc.classes_], fit.bias[l, j, svc.classes_]
      if len(svc.classes_) == 2:  # one problem in liblinear; its mirror is ours too
        ref_w = np.array([-1, 1]) * svc.coef_[0, 0]
        ref_b = np.array([-1, 1]) * svc.intercept_[0]
      else:
        ref_w, ref_b = svc.coef_[:, 0], svc.intercept_
      np.testing.assert_allclose(w, ref_w, rtol=1e-3, atol=1e-5)
      np.testing.assert_allclose(b, ref_b, rtol=1e-3, atol=1e-5)


def test_solution_is_stationary_in_float64(problem):
  features, labels, fit = problem
  for l in range(features.shape[1]):
    for j in range(labels.shape[1]):
      for k in np.flatnonzero(fit.present[j]):
        x = features[:, l].astype(np.float64)
        grad = primal_gradient(
          x,
          labels[:, j],
          k,
          float(fit.weight[l, j, k]),
          float(fit.bias[l, j, k]),
          fit.present[j],
        )
        scale = 1 + C * len(x) * np.mean(x * x)  # size of the Hessian
        assert np.all(np.abs(grad) < 1e-4 * scale), (l, j, k, grad)


def test_predictions_match_liblinear(problem):
  features, labels, fit = problem
  predicted = np.asarray(linear_svm.predict_one_feature_svms(fit, features))
  for l in range(features.shape[1]):
    for j in range(labels.shape[1]):
      expected = reference(features, labels, l, j).predict(features[:, l : l + 1])
      assert np.mean(predicted[l, j] == expected) > 0.998

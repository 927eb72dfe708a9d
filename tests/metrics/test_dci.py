"""DCI with a LASSO predictor, against scikit-learn's Lasso on the same data."""

import jax
import numpy as np
import pytest
import scipy.stats
from sklearn.linear_model import Lasso

from lbvae import metrics


def standardise(train, test):
  mean, std = train.mean(0), train.std(0)
  std = np.where(std > 0, std, 1.0)
  return (train - mean) / std, (test - mean) / std


def reference_dci(z_train, v_train, z_test, v_test, alpha=0.02):
  """E&W's LASSO DCI with scikit-learn and scipy (disentanglement_lib's weighting)."""
  z_train, z_test = standardise(z_train.astype(np.float64), z_test.astype(np.float64))
  v_train, v_test = standardise(v_train.astype(np.float64), v_test.astype(np.float64))
  importance, errors = [], []
  for j in range(v_train.shape[1]):
    lasso = Lasso(alpha=alpha, tol=1e-10, max_iter=100_000).fit(z_train, v_train[:, j])
    importance.append(np.abs(lasso.coef_))
    errors.append(np.sqrt(np.mean((v_test[:, j] - lasso.predict(z_test)) ** 2)))
  r = np.array(importance).T                                        # [L, F]
  num_latents, num_factors = r.shape
  per_latent = 1 - scipy.stats.entropy(r.T + 1e-11, base=num_factors)
  per_factor = 1 - scipy.stats.entropy(r + 1e-11, base=num_latents)
  d = np.sum(per_latent * r.sum(1) / r.sum())
  c = np.sum(per_factor * r.sum(0) / r.sum())
  return r, d, c, np.mean(errors)


@pytest.mark.parametrize("name", ["mixed", "identity"])
def test_matches_sklearn_lasso_reference(name, codes, split, scores):
  r, d, c, informativeness = reference_dci(codes[name][0], split[0], codes[name][1],
                                           split[1])
  got = scores[name]
  np.testing.assert_allclose(got["dci_importance"], r, atol=2e-4)
  np.testing.assert_allclose(got["dci_disentanglement"], d, atol=1e-3)
  np.testing.assert_allclose(got["dci_completeness"], c, atol=1e-3)
  np.testing.assert_allclose(got["dci_informativeness"], informativeness, atol=1e-3)


def test_identity_code_is_disentangled_complete_and_informative(scores):
  got = scores["identity"]
  assert got["dci_disentanglement"] > 0.95 and got["dci_completeness"] > 0.95
  assert got["dci_informativeness"] < 0.1


def test_entangled_code_is_informative_but_not_disentangled(scores):
  got = scores["mixed"]
  assert got["dci_disentanglement"] < 0.6 and got["dci_completeness"] < 0.6
  assert got["dci_informativeness"] < 0.6


def test_uninformative_codes_have_no_importance_and_full_error(scores):
  for name in ("random", "constant"):
    got = scores[name]
    assert got["dci_importance"].max() < 0.05
    assert got["dci_informativeness"] > 0.95
  assert scores["constant"]["dci_disentanglement"] == 0.0


def test_disentanglement_completeness_of_hand_made_importances():
  d_and_c = jax.jit(metrics.disentanglement_completeness)
  d, c = d_and_c(np.eye(3, dtype=np.float32))
  np.testing.assert_allclose([d, c], [1.0, 1.0], atol=1e-6)
  d, c = d_and_c(np.ones((3, 3), np.float32))
  np.testing.assert_allclose([d, c], [0.0, 0.0], atol=1e-6)
  # One latent carries both factors: not disentangled, but complete.
  one_latent = np.array([[1.0, 1.0], [0.0, 0.0]], np.float32)
  d, c = d_and_c(one_latent)
  np.testing.assert_allclose([d, c], [0.0, 1.0], atol=1e-6)

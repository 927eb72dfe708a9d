"""SAP: known codes and agreement with a LinearSVC-based reference."""

import numpy as np
import pytest
from sklearn.svm import LinearSVC


def reference_sap(z_train, v_train, z_test, v_test):
  """disentanglement_lib's discrete SAP with scikit-learn's LinearSVC."""
  num_latents, num_factors = z_train.shape[1], v_train.shape[1]
  accuracy = np.zeros((num_latents, num_factors))
  for i in range(num_latents):
    for j in range(num_factors):
      svc = LinearSVC(C=0.01, class_weight="balanced", loss="squared_hinge")
      svc.fit(z_train[:, i : i + 1], v_train[:, j])
      accuracy[i, j] = np.mean(svc.predict(z_test[:, i : i + 1]) == v_test[:, j])
  top = np.sort(accuracy, axis=0)
  return accuracy, np.mean(top[-1] - top[-2])


@pytest.mark.parametrize("name", ["mixed", "identity"])
def test_matches_linear_svc_reference(name, codes, split, scores):
  accuracy, score = reference_sap(codes[name][0], split[0], codes[name][1], split[1])
  np.testing.assert_allclose(scores[name]["sap_scores"], accuracy, atol=0.02)
  assert abs(scores[name]["sap"] - score) < 0.02


def test_identity_code_is_far_above_a_random_code(scores):
  identity = scores["identity"]
  assert identity["sap"] > scores["random"]["sap"] + 0.2
  # Binary and 3-valued factors are read off their own latent perfectly.
  np.testing.assert_allclose(np.diag(identity["sap_scores"])[:2], 1.0)


def test_random_and_constant_codes_score_near_zero(scores):
  assert scores["random"]["sap"] < 0.05
  assert scores["constant"]["sap"] == 0.0

"""DCI: the default (disentanglement_lib's gradient-boosted trees) against scikit-learn's
GradientBoostingClassifier computed here, and the LASSO variant against scikit-learn's
Lasso on the same data."""

import jax
import numpy as np
import pytest
import scipy.stats
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import Lasso

import lbvae

from lbvae import metrics


def standardise(train, test):
  mean, std = train.mean(0), train.std(0)
  std = np.where(std > 0, std, 1.0)
  return (train - mean) / std, (test - mean) / std


def reference_dci(z_train, v_train, z_test, v_test, alpha=0.02):
  """E&W's LASSO DCI with scikit-learn and scipy (uniform completeness)."""
  z_train, z_test = standardise(z_train.astype(np.float64), z_test.astype(np.float64))
  v_train, v_test = standardise(v_train.astype(np.float64), v_test.astype(np.float64))
  importance, errors = [], []
  for j in range(v_train.shape[1]):
    lasso = Lasso(alpha=alpha, tol=1e-10, max_iter=100_000).fit(z_train, v_train[:, j])
    importance.append(np.abs(lasso.coef_))
    errors.append(np.sqrt(np.mean((v_test[:, j] - lasso.predict(z_test)) ** 2)))
  r = np.array(importance).T  # [L, F]
  num_latents, num_factors = r.shape
  per_latent = 1 - scipy.stats.entropy(r.T + 1e-11, base=num_factors)
  per_factor = 1 - scipy.stats.entropy(r + 1e-11, base=num_latents)
  d = np.sum(per_latent * r.sum(1) / r.sum())
  c = np.mean(per_factor)
  return r, d, c, np.mean(errors)


@pytest.mark.parametrize("name", ["mixed", "identity"])
def test_lasso_matches_sklearn_lasso_reference(name, codes, split, scores):
  r, d, c, informativeness = reference_dci(
    codes[name][0], split[0], codes[name][1], split[1]
  )
  got = scores[name]
  np.testing.assert_allclose(got["dci_lasso_importance"], r, atol=2e-4)
  np.testing.assert_allclose(got["dci_lasso_disentanglement"], d, atol=1e-3)
  np.testing.assert_allclose(got["dci_lasso_completeness"], c, atol=1e-3)
  np.testing.assert_allclose(
    got["dci_lasso_informativeness"], informativeness, atol=1e-3
  )


def test_lasso_identity_code_is_disentangled_complete_and_informative(scores):
  got = scores["identity"]
  assert (
    got["dci_lasso_disentanglement"] > 0.95 and got["dci_lasso_completeness"] > 0.95
  )
  assert got["dci_lasso_informativeness"] < 0.1


def test_lasso_entangled_code_is_informative_but_not_disentangled(scores):
  got = scores["mixed"]
  assert got["dci_lasso_disentanglement"] < 0.6 and got["dci_lasso_completeness"] < 0.6
  assert got["dci_lasso_informativeness"] < 0.6


def test_lasso_uninformative_codes_have_no_importance_and_full_error(scores):
  for name in ("random", "constant"):
    got = scores[name]
    assert got["dci_lasso_importance"].max() < 0.05
    assert got["dci_lasso_informativeness"] > 0.95
  assert scores["constant"]["dci_lasso_disentanglement"] == 0.0


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


def test_completeness_weighting_uniform_or_by_factor_mass():
  # Factor 0 is carried by latent 0 alone, factor 1 spread over both latents.
  r = np.array([[3.0, 1.0], [0.0, 1.0]], np.float32)
  per_factor = np.array([1.0, 0.0])
  _, c_mass = metrics.disentanglement_completeness(r)
  _, c_uniform = metrics.disentanglement_completeness(r, uniform_completeness=True)
  np.testing.assert_allclose(c_mass, per_factor @ r.sum(0) / r.sum(), atol=1e-6)
  np.testing.assert_allclose(c_uniform, per_factor.mean(), atol=1e-6)


# The default DCI: gradient-boosted trees on three factors of 3 / 6 / 8 classes.
TREE_SIZES = (3, 6, 8)


def tree_codes():
  """The issue's three codes on 1 000 train / 500 test samples: name -> (z, v)."""
  rng = np.random.default_rng(0)
  v = np.stack([rng.integers(0, k, 1500) for k in TREE_SIZES], axis=1)
  scaled = v / np.array(TREE_SIZES)
  rotation, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
  noise = lambda k: rng.normal(size=(1500, k))
  return v, {
    "noise": noise(6),
    "noisy identity": np.concatenate([scaled + 0.01 * noise(3), noise(3)], axis=1),
    "rotated": np.concatenate([scaled @ rotation, noise(3)], axis=1),
  }


def sklearn_tree_dci(z_train, v_train, z_test, v_test, random_state=None):
  """disentanglement_lib's DCI, transcribed with scikit-learn and scipy."""
  r, accuracy = [], []
  for j in range(v_train.shape[1]):
    model = GradientBoostingClassifier(random_state=random_state).fit(
      z_train, v_train[:, j]
    )
    r.append(np.abs(model.feature_importances_))
    accuracy.append(np.mean(model.predict(z_test) == v_test[:, j]))
  r = np.array(r).T  # [L, F]
  per_latent = 1 - scipy.stats.entropy(r.T + 1e-11, base=r.shape[1])
  per_factor = 1 - scipy.stats.entropy(r + 1e-11, base=r.shape[0])
  return (
    np.sum(per_latent * r.sum(1) / r.sum()),
    np.sum(per_factor * r.sum(0) / r.sum()),
    np.mean(accuracy),
  )


@pytest.fixture(scope="module")
def tree_scores():
  v, codes = tree_codes()
  return {
    name: metrics.dci(z[:1000], v[:1000], z[1000:], v[1000:])
    for name, z in codes.items()
  }


def test_trees_score_noise_near_zero_and_identity_near_one(tree_scores):
  noise, identity = tree_scores["noise"], tree_scores["noisy identity"]
  assert noise["disentanglement"] < 0.05 and noise["completeness"] < 0.05
  assert identity["disentanglement"] > 0.9 and identity["completeness"] > 0.9
  assert identity["informativeness"] > 0.99 > 0.5 > noise["informativeness"]
  # The table: rotated in between, and the LASSO's D ≈ 0.7 on noise gone.
  rotated = tree_scores["rotated"]
  assert 0.05 < rotated["disentanglement"] < 0.9
  assert 0.05 < rotated["completeness"] < 0.9


def test_trees_agree_with_independent_sklearn_reference_on_a_rotated_code(tree_scores):
  v, codes = tree_codes()
  z = codes["rotated"]
  d, c, accuracy = sklearn_tree_dci(z[:1000], v[:1000], z[1000:], v[1000:])
  got = tree_scores["rotated"]
  np.testing.assert_allclose(got["disentanglement"], d, atol=0.05)
  np.testing.assert_allclose(got["completeness"], c, atol=0.05)
  np.testing.assert_allclose(got["informativeness"], accuracy, atol=0.05)
  np.testing.assert_allclose(got["importance"].sum(axis=0), 1.0, atol=1e-6)


@pytest.mark.parametrize("name", ["noise", "noisy identity"])
def test_trees_agree_with_sklearn_on_noise_and_identity(tree_scores, name):
  v, codes = tree_codes()
  z = codes[name]
  d, c, accuracy = sklearn_tree_dci(z[:1000], v[:1000], z[1000:], v[1000:])
  got = tree_scores[name]
  np.testing.assert_allclose(
    [got["disentanglement"], got["completeness"], got["informativeness"]],
    [d, c, accuracy],
    atol=0.05,
  )


def test_sklearn_predictor_is_scikit_learns_gbt():
  v, codes = tree_codes()
  z = codes["rotated"][:400].astype(np.float32)  # the precision of lbvae's codes
  got = metrics.dci(z[:300], v[:300, :2], z[300:], v[300:400, :2], predictor="sklearn")
  d, c, accuracy = sklearn_tree_dci(
    z[:300], v[:300, :2], z[300:], v[300:400, :2], random_state=0
  )
  np.testing.assert_allclose(
    [got["disentanglement"], got["completeness"], got["informativeness"]],
    [d, c, accuracy],
    rtol=1e-6,
  )


def test_two_class_factors_use_one_binary_booster():
  rng = np.random.default_rng(3)
  v = rng.integers(0, 2, (600, 2))
  z = np.concatenate(
    [v + 0.05 * rng.normal(size=(600, 2)), rng.normal(size=(600, 2))], 1
  )
  got = metrics.dci(z[:400], v[:400], z[400:], v[400:])
  assert got["informativeness"] > 0.99
  assert got["disentanglement"] > 0.9 and got["completeness"] > 0.9


def test_lasso_is_a_named_option_of_dci(codes, split, scores):
  got = metrics.dci(
    codes["mixed"][0], split[0], codes["mixed"][1], split[1], predictor="lasso"
  )
  np.testing.assert_allclose(
    got["completeness"], scores["mixed"]["dci_lasso_completeness"], atol=1e-5
  )
  with pytest.raises(lbvae.errors.ConfigError, match="predictor"):
    metrics.dci(
      codes["mixed"][0], split[0], codes["mixed"][1], split[1], predictor="forest"
    )


def test_non_finite_codes_score_nan():
  v = np.zeros((20, 1), np.int32)
  z = np.full((20, 2), np.inf, np.float32)
  got = metrics.dci(z, v, z, v)
  assert np.isnan(got["disentanglement"]) and np.isnan(got["informativeness"])

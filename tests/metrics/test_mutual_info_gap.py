"""MIG: known-good and known-bad codes, and the definition against a reference."""

import functools

import jax
import numpy as np
import scipy.stats

from lbvae import metrics


def test_identity_code_scores_near_one(scores):
  assert scores["identity"]["mig"] > 0.95


def test_random_and_constant_codes_score_near_zero(scores):
  assert scores["random"]["mig"] < 0.05
  assert scores["constant"]["mig"] == 0.0


def test_duplicating_every_latent_drives_mig_to_zero(scores):
  assert scores["duplicated"]["mig"] < 0.01


def test_duplicating_one_latent_removes_that_factors_share(
  codes, split, scores, factor_sizes
):
  z_train = codes["identity"][0].copy()
  z_train[:, -1] = z_train[:, 0] + 1e-3  # a second copy of factor 0's latent
  score = jax.jit(functools.partial(metrics.mig, factor_sizes=factor_sizes))(
    z_train, split[0]
  )
  top, second = np.sort(scores["identity"]["mi_matrix"], axis=0)[[-1, -2]]
  gaps = (top - second) / scores["identity"]["factor_entropy"]
  assert gaps[0] > 0.95
  expected = scores["identity"]["mig"] - gaps[0] / len(factor_sizes)
  np.testing.assert_allclose(score, expected, atol=1e-3)


def test_mig_matches_the_definition_on_reference_mi(codes, split, scores, reference):
  z_train, _ = codes["mixed"]
  train = split[0]
  mi = np.sort(reference.mi(z_train, train), axis=0)
  entropy = np.array(
    [scipy.stats.entropy(np.bincount(train[:, j])) for j in range(train.shape[1])]
  )
  expected = np.mean((mi[-1] - mi[-2]) / entropy)
  assert 0.05 < expected < 0.95  # the mixed code is neither extreme
  np.testing.assert_allclose(scores["mixed"]["mig"], expected, atol=1e-5)


def test_single_latent_and_constant_factor_edge_cases():
  mi = np.array([[0.5, 0.2, 0.0]], np.float32)
  entropy = np.array([1.0, 0.4, 0.0], np.float32)
  # One latent: the gap is the MI itself; a zero-entropy factor is left out.
  np.testing.assert_allclose(metrics.mig_from_mutual_info(mi, entropy), (0.5 + 0.5) / 2)

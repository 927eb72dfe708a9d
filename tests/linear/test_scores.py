"""Closed-form linear-Gaussian metrics: known-good/bad codes, sampling, brute force."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae.linear import scores
from lbvae.linear import problem as problem_lib


@pytest.fixture(scope="module")
def prob():
  rng = np.random.default_rng(1)
  return problem_lib.Problem(
    jnp.asarray(rng.normal(size=(8, 3))),
    jnp.diag(jnp.asarray(rng.uniform(0.1, 1.0, 3))),
    jnp.asarray(0.05),
  )


def test_squared_correlations_match_samples(prob):
  rng = np.random.default_rng(2)
  b = jnp.asarray(rng.normal(size=(4, 8)))
  w = jnp.asarray(np.diag(rng.uniform(0.2, 1.0, 4)))
  num = 200_000
  v = rng.normal(size=(num, 3)) * np.sqrt(np.diag(np.asarray(prob.sigma_v)))
  y = v @ np.asarray(prob.gamma).T + np.sqrt(0.05) * rng.normal(size=(num, 8))
  x = y @ np.asarray(b).T + rng.normal(size=(num, 4)) * np.sqrt(np.diag(np.asarray(w)))
  corr = np.corrcoef(x.T, v.T)[:4, 4:]
  rho2 = np.asarray(scores.squared_correlations(b, w, prob))
  np.testing.assert_allclose(rho2, corr**2, atol=0.01)
  cov = np.cov(x.T, v.T)[:4, 4:]
  np.testing.assert_allclose(
    np.asarray(scores.cov_xv(b, prob)), cov, atol=0.05 * np.abs(cov).max()
  )


def test_sap_of_known_good_and_known_bad_codes():
  axis_aligned = jnp.array(
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
  )
  assert float(scores.sap(axis_aligned)) == pytest.approx(1.0)
  assert float(scores.sap(jnp.zeros((4, 3)))) == 0.0
  entangled = jnp.full((4, 3), 0.3)  # every latent carries every factor equally
  assert float(scores.sap(entangled)) == 0.0
  assert float(scores.sap(jnp.array([[0.9, 0.1], [0.5, 0.2]]))) == pytest.approx(
    (0.4 + 0.1) / 2
  )


def test_gaussian_mi_and_collapsed_code(prob):
  assert float(scores.gaussian_mi(jnp.array(0.75))) == pytest.approx(np.log(2.0))
  rho2 = scores.squared_correlations(jnp.zeros((4, 8)), jnp.eye(4), prob)
  assert float(jnp.abs(rho2).max()) == 0.0
  assert scores.matched_mi(np.asarray(scores.gaussian_mi(rho2))) == 0.0


def test_matched_mi_is_the_best_assignment():
  rng = np.random.default_rng(4)
  mats = rng.uniform(size=(6, 4, 3))
  got = scores.matched_mi(mats)
  for mat, value in zip(mats, got):
    best = max(
      sum(mat[r, c] for c, r in enumerate(rows))
      for rows in itertools.permutations(range(4), 3)
    )
    assert value == pytest.approx(best)
  assert scores.matched_mi(mats.reshape(2, 3, 4, 3)).shape == (2, 3)


def test_mutual_information_from_joint_covariance(prob):
  rng = np.random.default_rng(5)
  b = jnp.asarray(rng.normal(size=(3, 8)))
  m = rng.normal(size=(3, 3))
  w = jnp.asarray(m @ m.T + np.eye(3))
  sy = np.asarray(problem_lib.sigma_y(prob))
  bn, wn = np.asarray(b), np.asarray(w)
  joint = np.block([[sy, sy @ bn.T], [bn @ sy, bn @ sy @ bn.T + wn]])
  want = 0.5 * (
    np.linalg.slogdet(sy)[1]
    + np.linalg.slogdet(bn @ sy @ bn.T + wn)[1]
    - np.linalg.slogdet(joint)[1]
  )
  got = float(scores.mutual_information_xy(b, w, prob))
  assert got == pytest.approx(want, rel=1e-8)


def test_spectral_norm_even_for_collapsed_gains():
  rng = np.random.default_rng(6)
  b = rng.normal(size=(4, 9))
  for scale in (1.0, 1e-160, 0.0):
    got = float(jax.jit(scores.spectral_norm)(jnp.asarray(scale * b)))
    assert got == pytest.approx(scale * np.linalg.norm(b, 2), rel=1e-10)

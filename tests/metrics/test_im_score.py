"""I_m: the exact assignment maximum, against brute force and SciPy."""

import itertools

import jax
import numpy as np
import pytest
import scipy.optimize

from lbvae import metrics
from lbvae.metrics import im_score


def brute_force(matrix):
  rows, cols = matrix.shape
  if rows >= cols:
    return max(
      sum(matrix[p[j], j] for j in range(cols))
      for p in itertools.permutations(range(rows), cols)
    )
  return max(
    sum(matrix[i, p[i]] for i in range(rows))
    for p in itertools.permutations(range(cols), rows)
  )


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (6, 4), (3, 5), (7, 5)])
def test_equals_brute_force_over_permutations(shape):
  rng = np.random.default_rng(sum(shape))
  matrix = rng.normal(size=shape).astype(np.float32)  # negative entries too
  np.testing.assert_allclose(
    metrics.im_from_mutual_info(matrix), brute_force(matrix), rtol=1e-5
  )


def test_known_codes(scores):
  identity = scores["identity"]
  # Every factor is kept whole by its own latent: I_m = Σ_j H(v_j).
  np.testing.assert_allclose(
    identity["im"], identity["factor_entropy"].sum(), rtol=1e-4
  )
  assert scores["constant"]["im"] == 0.0
  assert scores["random"]["im"] < 0.05 * identity["im"]


def test_jit_and_vmap_over_models_equal_a_loop():
  rng = np.random.default_rng(3)
  stack = rng.uniform(size=(4, 7, 5)).astype(np.float32)
  batched = jax.jit(jax.vmap(metrics.im_from_mutual_info))(stack)
  np.testing.assert_allclose(batched, [brute_force(m) for m in stack], rtol=1e-5)


def test_large_sides_fall_back_to_scipy_under_jit_and_vmap():
  rng = np.random.default_rng(4)
  side = im_score.MAX_EXACT_SIDE + 2
  stack = rng.uniform(size=(2, side + 1, side)).astype(np.float32)

  def scipy_value(m):
    r, c = scipy.optimize.linear_sum_assignment(m, maximize=True)
    return m[r, c].sum()

  batched = jax.jit(jax.vmap(metrics.im_from_mutual_info))(stack)
  np.testing.assert_allclose(batched, [scipy_value(m) for m in stack], rtol=1e-5)
  np.testing.assert_allclose(
    metrics.im_from_mutual_info(stack[0].T), scipy_value(stack[0]), rtol=1e-5
  )

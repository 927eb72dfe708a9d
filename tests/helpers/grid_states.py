"""Test helper: two grid states compared, bit for bit or as the same training."""

import jax
import numpy as np

LR = 1e-4  # the learning rate of the tests' configs (config_lib.defaults())


def assert_trees_equal(a, b):
  """Every leaf of ``a`` equals the same leaf of ``b`` exactly."""
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def assert_same_training(a, b, moment_tol=1e-4):
  """Two grid states that should hold the same training, up to rounding.

  A batched program may round differently, and Adam moves a weight whose gradient
  is ~0 by up to ~lr either way, so weights themselves are ill-conditioned (and such
  differences grow over steps). The well-conditioned witnesses are compared
  instead: every step's loss terms (summed in ``log_sums``; they depend on β, λ, data
  and noise) and Adam's first moment (a linear function of the gradients) relative
  to its largest entry per leaf (``moment_tol``: 1e-4 after one step).
  """
  assert set(a.log_sums) == set(b.log_sums)
  for k in a.log_sums:
    np.testing.assert_allclose(
      np.asarray(a.log_sums[k]), np.asarray(b.log_sums[k]), rtol=1e-5
    )
  for x, y in zip(
    jax.tree.leaves(a.opt_state[0].mu), jax.tree.leaves(b.opt_state[0].mu)
  ):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    np.testing.assert_allclose(x, y, rtol=0, atol=moment_tol * np.abs(y).max())
  for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=10 * LR)

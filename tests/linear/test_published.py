"""The published random stream, replayed: against scikit-learn and a plain transcription.

The authors seed NumPy's legacy generator once (42) and draw, for n = 50 then 100:
Sigma_V, Gamma, 50 fixed-point starts (B_0, Sigma_W0), 50 gradient covariances
(Sigma_Z0, Sigma_W0), with scikit-learn's make_spd_matrix on the same stream.
"""

import jax
import numpy as np
import pytest
import threadpoolctl
from sklearn.datasets import make_spd_matrix

from lbvae.linear import problem as problem_lib
from lbvae.linear import published


@pytest.fixture(scope="module")
def draws():
  return published.replay()


def test_spd_matrix_is_scikit_learns_bit_for_bit():
  ours, theirs = np.random.RandomState(7), np.random.RandomState(7)
  for k in (1, 3, 10, 50, 10):  # consecutive draws: the streams must stay in step
    a = published.spd_matrix(k, ours)
    b = make_spd_matrix(k, random_state=theirs)
    np.testing.assert_array_equal(a, b)
    assert np.linalg.eigvalsh(0.5 * (a + a.T)).min() > 0
  assert ours.randint(1 << 30) == theirs.randint(1 << 30)


def test_replay_is_the_published_stream(draws):
  """The stream drawn the way the authors' script draws it, with scikit-learn.

  One BLAS thread, as in replay: the SVD's last bits depend on the thread count.
  """
  with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
    _check_stream(draws)


def _check_stream(draws):
  rs = np.random.RandomState(42)
  for n in (50, 100):
    variances = rs.uniform(0.1, 1.0, 5)
    gamma = rs.randn(n, 5)
    fp = [(rs.rand(10, n), make_spd_matrix(10, random_state=rs)) for _ in range(50)]
    gd = [
      (make_spd_matrix(n, random_state=rs), make_spd_matrix(10, random_state=rs))
      for _ in range(50)
    ]
    got = draws[n]
    np.testing.assert_array_equal(got.problem.gamma, gamma)
    np.testing.assert_array_equal(got.problem.sigma_v, np.diag(variances))
    assert float(got.problem.noise_var) == 0.05
    for ours, theirs in ((got.fixed_point, fp), (got.gradient, gd)):
      for k in range(2):
        np.testing.assert_array_equal(ours[k], np.stack([t[k] for t in theirs]))


def test_replay_leaves_the_global_stream_alone():
  np.random.seed(3)
  want = np.random.rand(3)
  np.random.seed(3)
  published.replay(sizes=(4,), num_starts=2)
  np.testing.assert_array_equal(np.random.rand(3), want)


def test_published_collapse_values(draws):
  """The paper prints R = 11.553 (n = 50) and 8.268 (n = 100) for collapsed cells."""
  with jax.enable_x64(True):
    values = [float(problem_lib.collapse_value(draws[n].problem)) for n in (50, 100)]
  np.testing.assert_allclose(values, [11.553, 8.268], atol=5e-4)

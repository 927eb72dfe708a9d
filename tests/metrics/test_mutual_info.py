"""Binned plug-in MI against scikit-learn's mutual_info_score on the same bins."""

import jax
import numpy as np
import pytest
import scipy.stats

from lbvae import errors
from lbvae import metrics


def test_discretize_puts_the_extremes_in_the_end_bins_and_matches_digitize(reference):
  rng = np.random.default_rng(1)
  latents = np.concatenate([rng.normal(size=(500, 3)), np.full((500, 1), 2.5)], axis=1)
  latents = latents.astype(np.float32)
  bins = np.asarray(metrics.discretize(latents, num_bins=20))
  assert bins.min() == 0 and bins[:, :3].max() == 19
  assert np.all(bins[latents[:, :3].argmax(0), np.arange(3)] == 19)
  assert np.all(bins[:, 3] == 0)  # a constant latent is one bin
  agree = np.mean(bins == reference.bins(latents))
  assert agree > 0.999  # only float32 rounding exactly at an edge may differ


@pytest.mark.parametrize("name", ["mixed", "identity", "random"])
def test_mi_matrix_equals_sklearn_on_the_same_bins(
  name, codes, split, scores, reference
):
  z_train, _ = codes[name]
  expected = reference.mi(z_train, split[0])
  np.testing.assert_allclose(scores[name]["mi_matrix"], expected, atol=2e-5)


def test_many_valued_factors_lose_information_to_binning_as_the_reference_does(
  reference,
):
  sizes = (40, 32, 3)
  rng = np.random.default_rng(2)
  factors = np.stack([rng.integers(0, k, 3000) for k in sizes], axis=1)
  latents = np.concatenate([factors, rng.normal(size=(3000, 2))], axis=1)
  latents = latents.astype(np.float32)
  mi = np.asarray(
    jax.jit(lambda z, v: metrics.mutual_info_matrix(z, v, factor_sizes=sizes))(
      latents, factors
    )
  )
  np.testing.assert_allclose(mi, reference.mi(latents, factors), atol=2e-5)
  entropy = np.asarray(metrics.factor_entropy(factors, factor_sizes=sizes))
  # Each latent's bin is a function of its factor, so MI = H(binned factor): below
  # H(factor) when values share bins (about log 2 nats lost for 40 values), equal
  # for 3 values.
  binned = reference.bins(latents[:, :3])
  binned_entropy = [scipy.stats.entropy(np.bincount(binned[:, j])) for j in range(3)]
  np.testing.assert_allclose(np.diag(mi), binned_entropy, atol=2e-5)
  assert abs(entropy[0] - mi[0, 0] - np.log(2)) < 0.05
  assert 0.1 < entropy[1] - mi[1, 1] < np.log(2)
  assert abs(mi[2, 2] - entropy[2]) < 1e-5


def test_factor_entropy_matches_scipy(split, factor_sizes):
  train = split[0]
  expected = [
    scipy.stats.entropy(np.bincount(train[:, j])) for j in range(train.shape[1])
  ]
  got = metrics.factor_entropy(train, factor_sizes=factor_sizes)
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_jit_equals_eager_and_sizes_can_be_inferred_outside_jit(
  codes, split, factor_sizes
):
  z_train, _ = codes["mixed"]
  eager = metrics.mutual_info_matrix(z_train, split[0])  # sizes inferred
  jitted = jax.jit(
    lambda z, v: metrics.mutual_info_matrix(z, v, factor_sizes=factor_sizes)
  )
  np.testing.assert_allclose(eager, jitted(z_train, split[0]), atol=1e-6)


def test_traced_factors_without_sizes_fail_with_a_clear_message(codes, split):
  with pytest.raises(ValueError, match="factor_sizes"):
    jax.jit(metrics.mutual_info_matrix)(codes["mixed"][0], split[0])
  with pytest.raises(ValueError, match="entries"):
    metrics.mutual_info_matrix(codes["mixed"][0], split[0], factor_sizes=(2, 3))


@pytest.mark.parametrize("metric", ["mig", "im", "mutual_info_matrix"])
def test_factor_values_outside_factor_sizes_are_refused(metric):
  """A class index >= its factor size would fall out of every bin: a clear error."""
  rng = np.random.default_rng(0)
  latents = rng.normal(size=(50, 3)).astype(np.float32)
  factors = np.stack([rng.integers(0, 3, 50), rng.integers(0, 4, 50)], axis=1)
  fn = getattr(metrics, metric)
  fn(latents, factors, factor_sizes=(3, 4))  # in range: fine
  with pytest.raises(errors.DataError, match=r"factor 1 .* factor_sizes\[1\] = 3"):
    fn(latents, factors, factor_sizes=(3, 3))
  with pytest.raises(errors.DataError, match="factor 0"):
    fn(latents, factors - 1, factor_sizes=(3, 4))


@pytest.mark.parametrize("metric", ["mig", "im", "mutual_info_matrix"])
def test_array_likes_are_taken_and_float_factors_refused(metric):
  rng = np.random.default_rng(0)
  v = rng.integers(0, 3, (60, 2))
  z = v + 0.1 * rng.normal(size=(60, 2))
  fn = getattr(metrics, metric)
  np.testing.assert_allclose(
    fn(z.tolist(), v.tolist(), factor_sizes=(3, 3)),
    fn(z, v, factor_sizes=(3, 3)),
    atol=1e-6,
  )
  with pytest.raises(errors.DataError, match="integer class indices"):
    fn(z, v.astype(np.float32), factor_sizes=(3, 3))
  with pytest.raises(errors.DataError, match="array of numbers"):
    fn([["a", "b"]] * 60, v, factor_sizes=(3, 3))
  with pytest.raises(errors.DataError, match="rows"):
    fn(z[:10], v, factor_sizes=(3, 3))


def test_sap_and_dci_share_the_input_boundary():
  v = np.zeros((20, 1), np.float64)
  z = np.zeros((20, 2))
  for fn in (metrics.sap, metrics.dci):
    with pytest.raises(errors.DataError, match="integer class indices"):
      fn(z, v, z, v)

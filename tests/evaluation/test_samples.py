"""Evaluation samples (arXiv 2602.09277, §4): per seed, distinct, deterministic."""

import re

import numpy as np
import pytest

from lbvae import data
from lbvae import errors
from lbvae.evaluation import samples


def test_indices_are_distinct_and_split():
  train, test = samples.draw_indices(3, 1000, 500, 5000)
  assert train.shape == (1000,) and test.shape == (500,)
  both = np.concatenate([train, test])
  assert np.unique(both).size == 1500
  assert both.min() >= 0 and both.max() < 5000


def test_indices_are_deterministic_per_seed():
  a = samples.draw_indices(7, 200, 100, 737_280)
  b = samples.draw_indices(7, 200, 100, 737_280)
  c = samples.draw_indices(8, 200, 100, 737_280)
  np.testing.assert_array_equal(a[0], b[0])
  np.testing.assert_array_equal(a[1], b[1])
  assert not np.array_equal(a[0], c[0])


def test_whole_dataset_is_a_permutation():
  train, test = samples.draw_indices(0, 60, 40, 100)
  np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(100))


@pytest.mark.parametrize("sizes", [(0, 5, 10), (5, 0, 10), (8, 5, 10)])
def test_bad_sizes_raise(sizes):
  with pytest.raises(ValueError):
    samples.draw_indices(0, *sizes)


@pytest.mark.parametrize(
  "sizes,message",
  [
    ((1, 5, 10), "num_train must be an integer >= 2, got 1"),
    ((2, 0, 10), "num_test must be an integer >= 1, got 0"),
  ],
)
def test_sizes_have_the_bounds_of_the_eval_config(sizes, message):
  """The bounds of ``config.eval`` (lbvae.eval_settings.LOWEST), in one line."""
  with pytest.raises(errors.ConfigError, match=re.escape(message)):
    samples.draw_indices(0, *sizes)


class _Toy:
  """A 4 x 5 factor grid whose image of index k is filled with the value k."""

  factor_sizes = (4, 5)

  def __len__(self):
    return 20

  def index_to_factors(self, index):
    index = np.asarray(index)
    return np.stack([index // 5, index % 5], axis=-1)

  def images(self, factors):
    k = factors[:, 0] * 5 + factors[:, 1]
    return np.broadcast_to(k[:, None, None, None], (len(k), 64, 64, 1)).astype(np.uint8)

  def images_at(self, index):
    return self.images(self.index_to_factors(index))


def test_draw_matches_indices_factors_and_images():
  s = samples.draw(_Toy(), seed=1, num_train=12, num_test=6)
  train, test = samples.draw_indices(1, 12, 6, 20)
  np.testing.assert_array_equal(s.index_train, train)
  np.testing.assert_array_equal(s.index_test, test)
  np.testing.assert_array_equal(s.factors_test[:, 0] * 5 + s.factors_test[:, 1], test)
  np.testing.assert_array_equal(s.images_train[:, 0, 0, 0], train)
  assert s.images_test.shape == (6, 64, 64, 1)


def test_stratified_sample_balances_every_factor_and_is_deterministic():
  ds = data.load("dsprites")
  factors, images = samples.draw_stratified(ds, seed=2, num=1000)
  assert factors.shape == (1000, 5) and images.shape == (1000, 64, 64, 1)
  for j, k in enumerate(ds.factor_sizes):
    counts = np.bincount(factors[:, j], minlength=k)
    assert counts.size == k and counts.max() - counts.min() <= 1
  np.testing.assert_array_equal(images[:3], ds.images(factors[:3]))
  again, _ = samples.draw_stratified(ds, seed=2, num=1000)
  np.testing.assert_array_equal(factors, again)
  other, _ = samples.draw_stratified(ds, seed=3, num=1000)
  assert not np.array_equal(factors, other)
  # Columns are shuffled independently: factor pairs are not locked together.
  assert len({(a, b) for a, b in factors[:, :2]}) == 18

"""Index <-> factor bookkeeping of lbvae.data.factor_grid."""

import itertools

import jax
import numpy as np
import pytest

from lbvae.data import arrays


def _tiny(sizes=(2, 3, 4), channels=1):
  n = int(np.prod(sizes))
  images = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones(
    (1, 64, 64, channels), np.uint8
  )
  names = tuple(f"f{i}" for i in range(len(sizes)))
  return arrays.ArrayDataset("tiny", names, sizes, images, "file", "memory")


def test_index_order_is_row_major():
  ds = _tiny()
  expected = np.array(list(itertools.product(range(2), range(3), range(4))))
  np.testing.assert_array_equal(ds.index_to_factors(np.arange(24)), expected)
  np.testing.assert_array_equal(ds.factors_to_index(expected), np.arange(24))


def test_round_trip_on_the_dsprites_grid(dsprites):
  rng = np.random.default_rng(0)
  factors = dsprites.sample_factors(1000, rng)
  assert factors.shape == (1000, 5) and factors.dtype == np.int64
  assert np.all(factors.max(axis=0) < np.array(dsprites.factor_sizes))
  index = dsprites.factors_to_index(factors)
  np.testing.assert_array_equal(dsprites.index_to_factors(index), factors)
  np.testing.assert_array_equal(
    np.asarray(jax.jit(dsprites.index_to_factors_jnp)(index.astype(np.int32))), factors
  )
  assert dsprites.factors_to_index([[2, 5, 39, 31, 31]])[0] == len(dsprites) - 1


def test_images_follow_the_grid():
  ds = _tiny()
  factors = np.array([[1, 2, 3], [0, 0, 1], [1, 0, 0]])
  np.testing.assert_array_equal(ds.images(factors)[:, 0, 0, 0], [23, 1, 12])


def test_permuted_rows_are_followed():
  ds = _tiny()
  rows = np.random.default_rng(0).permutation(24)
  perm = arrays.ArrayDataset(
    "tiny",
    ds.factor_names,
    ds.factor_sizes,
    ds.array[np.argsort(rows)],
    "file",
    "memory",
    rows,
  )
  np.testing.assert_array_equal(
    perm.images(ds.index_to_factors(np.arange(24))), ds.array
  )


def test_bad_factors_and_indices_raise():
  ds = _tiny()
  with pytest.raises(ValueError, match="out of range"):
    ds.factors_to_index([[2, 0, 0]])
  with pytest.raises(ValueError, match=r"int\[N, 3\]"):
    ds.factors_to_index([[0, 0]])
  with pytest.raises(ValueError, match="out of range"):
    ds.index_to_factors([24])
  with pytest.raises(ValueError, match="expected uint8"):
    arrays.ArrayDataset(
      "tiny", ("a",), (3,), np.zeros((3, 64, 64, 1), np.float32), "file", "memory"
    )

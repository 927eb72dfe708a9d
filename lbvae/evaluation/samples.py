"""The evaluation samples of arXiv 2602.09277, §4: fixed per seed, shared by models.

:func:`draw` takes ``num_train + num_test`` (paper: 10 000 + 5 000) *distinct* grid
indices per training seed, from ``numpy.random.default_rng([EVAL_STREAM, seed])`` (a
stream apart from the training data order, independent of JAX's PRNG). "train" fits the
MI bins and the SAP / DCI classifiers; "test" gives the scores and held-out NLL. Every
model of a seed sees the same samples, so the pass vmaps over them.
:func:`draw_stratified` draws the posterior-aware MI's sample
(:mod:`lbvae.metrics.posterior_mi`): every value of every factor equally often (to
within one), factors independent as in the full grid. :func:`draw_shared` draws the
images that every model of the pass encodes for UDR (Duan et al., 2020), whatever its
seed.

Synopsis::

  s = samples.draw(ds, seed=0, num_train=10_000, num_test=5_000)
  s.images_train, s.factors_train    # uint8[10000, 64, 64, C], int64[10000, F]
  factors, images = samples.draw_stratified(ds, seed=0, num=2_400)
"""

from __future__ import annotations

import dataclasses
import operator

import numpy as np

from lbvae import errors
from lbvae import eval_settings as settings

# A fixed word that separates the evaluation stream from any other use of a seed.
EVAL_STREAM = 0x65766C  # "evl"
STRATIFIED_STREAM = 0x737472  # "str"
SHARED_STREAM = 0x756472  # "udr": the images all models share


def draw_indices(
  seed: int, num_train: int, num_test: int, dataset_size: int
) -> tuple[np.ndarray, np.ndarray]:
  """Distinct grid indices of one seed's evaluation samples.

  Args:
    seed: the training seed (a non-negative int).
    num_train: size of the "train" part.
    num_test: size of the "test" part.
    dataset_size: number of grid points; indices are drawn from
      ``[0, dataset_size)`` without replacement.

  Returns:
    (train: int64[num_train], test: int64[num_test]), disjoint, all distinct, in
    the order drawn (not sorted).

  Raises:
    lbvae.errors.ConfigError: a size below ``settings.LOWEST`` (the bounds of
      ``config.eval``), or both together larger than the dataset.
  """
  num_train, num_test = operator.index(num_train), operator.index(num_test)
  settings.require_lowest("num_train", "num_train", num_train)
  settings.require_lowest("num_test", "num_test", num_test)
  errors.require(
    num_train + num_test <= dataset_size,
    f"num_train + num_test = {num_train + num_test} exceeds the "
    f"dataset size {dataset_size}",
  )
  rng = np.random.default_rng([EVAL_STREAM, int(seed)])
  idx = rng.choice(dataset_size, size=num_train + num_test, replace=False)
  idx = idx.astype(np.int64)
  return idx[:num_train], idx[num_train:]


@dataclasses.dataclass(frozen=True)
class Samples:
  """One seed's evaluation samples.

  Attributes:
    seed: the seed they were drawn with.
    index_train, index_test: int64[N_train], int64[N_test] grid indices.
    factors_train, factors_test: int64[N, F] factor classes.
    images_train, images_test: uint8[N, 64, 64, C] images.
  """

  seed: int
  index_train: np.ndarray
  index_test: np.ndarray
  factors_train: np.ndarray
  factors_test: np.ndarray
  images_train: np.ndarray
  images_test: np.ndarray


def draw(ds, *, seed: int, num_train: int, num_test: int) -> Samples:
  """Draws and renders one seed's evaluation samples.

  Args:
    ds: a dataset of :mod:`lbvae.data` (``len``, ``index_to_factors``,
      ``images_at``); factors int64[N, 0] for a dataset without factors.
    seed: the training seed.
    num_train, num_test: sizes of the two parts.

  Returns:
    :class:`Samples`.
  """
  train, test = draw_indices(seed, num_train, num_test, len(ds))
  f_train, f_test = ds.index_to_factors(train), ds.index_to_factors(test)
  images = np.asarray(ds.images_at(np.concatenate([train, test])))
  return Samples(
    seed=int(seed),
    index_train=train,
    index_test=test,
    factors_train=f_train,
    factors_test=f_test,
    images_train=images[:num_train],
    images_test=images[num_train:],
  )


def draw_shared(ds, *, num: int) -> np.ndarray:
  """The images every model of a pass encodes for UDR, whatever its seed.

  Args:
    ds: a dataset of :mod:`lbvae.data`.
    num: N, at most the dataset's size (fewer when the dataset is smaller).

  Returns:
    uint8[N, 64, 64, C]: distinct indices from stream ``[SHARED_STREAM]``.
  """
  rng = np.random.default_rng([SHARED_STREAM])
  index = rng.choice(len(ds), size=min(int(num), len(ds)), replace=False)
  return np.asarray(ds.images_at(index.astype(np.int64)))


def draw_stratified(ds, *, seed: int, num: int) -> tuple[np.ndarray, np.ndarray]:
  """One seed's stratified sample for the posterior-aware MI.

  Args:
    ds: a dataset of :mod:`lbvae.data`.
    seed: the training seed (stream ``[STRATIFIED_STREAM, seed]``).
    num: N images.

  Returns:
    (factors int64[N, F] from ``ds.stratified_factors``, images uint8[N, 64, 64, C]).
  """
  rng = np.random.default_rng([STRATIFIED_STREAM, int(seed)])
  factors = ds.stratified_factors(num, rng)
  return factors, np.asarray(ds.images(factors))

"""Shared codes and compiled metric functions for the metric tests.

Every code below has the same shapes, so one compiled ``all_metrics`` (and one
vmapped over models) serves all the tests: N_TRAIN × L train codes and N_TEST × L
test codes for F = 4 factors of sizes SIZES (at most 20 classes, so a 20-bin
identity latent keeps all of its factor's information).
"""

import functools
import types

import jax
import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from lbvae import metrics

SIZES = (2, 3, 5, 10)
NUM_LATENTS = 8
N_TRAIN = 2000
N_TEST = 1000


def sample_factors(rng: np.random.Generator, n: int, sizes=SIZES) -> np.ndarray:
  return np.stack([rng.integers(0, k, size=n) for k in sizes], axis=1).astype(np.int32)


def identity_code(rng, factors):
  """Latents 0..F-1 are the factors (plus tiny noise); the rest are pure noise."""
  n = factors.shape[0]
  signal = factors + 0.01 * rng.normal(size=factors.shape)
  noise = rng.normal(size=(n, NUM_LATENTS - factors.shape[1]))
  return np.concatenate([signal, noise], axis=1).astype(np.float32)


def random_code(rng, factors):
  return rng.normal(size=(factors.shape[0], NUM_LATENTS)).astype(np.float32)


def constant_code(rng, factors):
  return np.zeros((factors.shape[0], NUM_LATENTS), np.float32)


def duplicated_code(rng, factors):
  """Every factor is carried, identically, by two latents."""
  twice = np.concatenate([factors, factors], axis=1)
  return (twice + 0.01 * rng.normal(size=twice.shape)).astype(np.float32)


def mixed_code(rng, factors):
  """Informative but entangled: noisy latents that each blend several factors."""
  scaled = (factors - factors.mean(0)) / factors.std(0)
  mixing = np.random.default_rng(7).normal(size=(factors.shape[1], NUM_LATENTS))
  noisy = scaled @ mixing + 0.5 * rng.normal(size=(factors.shape[0], NUM_LATENTS))
  return (noisy * np.linspace(0.3, 3.0, NUM_LATENTS) + 1.0).astype(np.float32)


def reference_bins(latents, num_bins=20):
  """np.digitize on the inner edges of np.histogram_bin_edges: max in the last bin."""
  out = np.zeros(latents.shape, np.int64)
  for i in range(latents.shape[1]):
    column = latents[:, i].astype(np.float64)
    if column.max() > column.min():
      edges = np.histogram_bin_edges(column, bins=num_bins)
      out[:, i] = np.digitize(column, edges[1:-1])
  return out


def reference_mi(latents, factors, num_bins=20):
  """[L, F] scikit-learn mutual_info_score of the reference bins and the factors."""
  bins = reference_bins(latents, num_bins)
  return np.array(
    [
      [mutual_info_score(bins[:, i], factors[:, j]) for j in range(factors.shape[1])]
      for i in range(latents.shape[1])
    ]
  )


CODES = {
  "identity": identity_code,
  "random": random_code,
  "constant": constant_code,
  "duplicated": duplicated_code,
  "mixed": mixed_code,
}


@pytest.fixture(scope="session")
def factor_sizes():
  return SIZES


@pytest.fixture(scope="session")
def reference():
  """The scikit-learn-based references: ``reference.bins``, ``reference.mi``."""
  return types.SimpleNamespace(bins=reference_bins, mi=reference_mi)


@pytest.fixture(scope="session")
def split():
  """(factors_train, factors_test), the ground truth every code encodes."""
  rng = np.random.default_rng(0)
  return sample_factors(rng, N_TRAIN), sample_factors(rng, N_TEST)


@pytest.fixture(scope="session")
def codes(split):
  """name -> (latents_train, latents_test)."""
  train, test = split
  out = {}
  for i, (name, make) in enumerate(CODES.items()):
    rng = np.random.default_rng(100 + i)
    out[name] = (make(rng, train), make(rng, test))
  return out


@pytest.fixture(scope="session")
def jitted_all_metrics():
  return jax.jit(functools.partial(metrics.all_metrics, factor_sizes=SIZES))


@pytest.fixture(scope="session")
def scores(codes, split, jitted_all_metrics):
  """name -> all_metrics of that code (jitted), as NumPy."""
  train, test = split
  out = {}
  for name, (z_train, z_test) in codes.items():
    got = jitted_all_metrics(z_train, train, z_test, test)
    out[name] = jax.tree.map(np.asarray, got)
  return out

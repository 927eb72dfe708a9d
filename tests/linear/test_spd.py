"""LAPACK-free SPD routines: inverse, log-determinant, gradient, top eigenvalue."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from lbvae.linear import spd


def _spd(seed, k, cond=10.0):
  rng = np.random.default_rng(seed)
  q, _ = np.linalg.qr(rng.normal(size=(k, k)))
  return (q * np.geomspace(1.0, 1.0 / cond, k)) @ q.T


@pytest.mark.parametrize("k,cond", [(1, 1.0), (4, 10.0), (30, 1e6)])
def test_inverse_and_logdet_match_numpy(k, cond):
  x = _spd(k, k, cond)
  inv, logdet = jax.jit(spd.inv_logdet)(jnp.asarray(x))
  np.testing.assert_allclose(
    np.asarray(inv), np.linalg.inv(x), rtol=1e-9 * cond, atol=1e-12 * cond
  )
  assert float(logdet) == pytest.approx(np.linalg.slogdet(x)[1], rel=1e-10, abs=1e-10)


def test_batched_and_indefinite_inputs():
  xs = np.stack([_spd(s, 5) for s in range(3)])
  inv, logdet = jax.vmap(spd.inv_logdet)(jnp.asarray(xs))
  np.testing.assert_allclose(np.asarray(inv), np.linalg.inv(xs), rtol=1e-10, atol=1e-12)
  np.testing.assert_allclose(np.asarray(logdet), np.linalg.slogdet(xs)[1], rtol=1e-10)
  assert np.isnan(float(spd.logdet(jnp.array([[1.0, 2.0], [2.0, 1.0]]))))


def test_gradient_matches_finite_differences():
  x = jnp.asarray(_spd(7, 4))
  w = jnp.asarray(np.random.default_rng(0).normal(size=(4, 4)))

  def f(a):
    s = a @ a.T + 0.5 * jnp.eye(4)  # stays SPD under perturbation
    inv, logdet = spd.inv_logdet(s)
    return jnp.sum(w * inv) + 3.0 * logdet

  check_grads(f, (x,), order=1, modes=("rev",), atol=1e-6, rtol=1e-6)


def test_top_eigenvalue_even_with_ties_and_zeros():
  rng = np.random.default_rng(1)
  for vals in (
    [5.0, 1.0, 0.5],
    [2.0, 2.0, 1e-3, 0.0],
    [1.0, 1.0 - 1e-9, 0.2],
    [3e-300, 1e-300],
  ):
    q, _ = np.linalg.qr(rng.normal(size=(len(vals), len(vals))))
    x = (q * np.array(vals)) @ q.T
    got = float(spd.top_eigenvalue(jnp.asarray(x)))
    assert got == pytest.approx(max(vals), rel=1e-9)
  assert float(spd.top_eigenvalue(jnp.zeros((3, 3)))) == 0.0

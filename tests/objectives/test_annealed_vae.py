"""AnnealedVAE's capacity schedule and loss (lbvae.objectives.annealed_vae).

That C(t) follows the schedule across phases and a resume of a real sweep is checked
in tests/test_objectives_cli.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import losses
from lbvae.objectives import annealed_vae

JIT = [pytest.param(False, id="eager"), pytest.param(True, id="jit")]


@pytest.mark.parametrize("jit", JIT)
def test_capacity_rises_linearly_then_stays_at_c_max(jit):
  fn = lambda t, c: annealed_vae.capacity(t, c_max=c, anneal_steps=100)
  fn = jax.jit(fn) if jit else fn
  steps = np.asarray([0, 1, 50, 99, 100, 101, 5000], np.int32)
  got = np.asarray([fn(jnp.int32(t), jnp.float32(25.0)) for t in steps])
  np.testing.assert_allclose(got, 25.0 * np.minimum(1.0, steps / 100), rtol=1e-6)


def test_loss_is_nll_plus_gamma_times_the_kl_gap():
  rng = np.random.default_rng(0)
  logits = jnp.asarray(rng.normal(size=(8, 4, 4, 1)), jnp.float32)
  x = jnp.asarray(rng.random((8, 4, 4, 1)) > 0.5, jnp.float32)
  mu = jnp.asarray(rng.normal(size=(8, 3)), jnp.float32)
  logvar = jnp.asarray(rng.normal(size=(8, 3)), jnp.float32)
  objective = annealed_vae.AnnealedVAE(gamma=1000.0, anneal_steps=10)
  nll = float(jnp.mean(losses.bernoulli_nll(logits, x)))
  kl = float(jnp.mean(losses.gaussian_kl(mu, logvar)))
  loss = jax.jit(
    lambda c, t: objective.loss(
      logits, x, mu, logvar, None, strength=c, step=t, state={}
    )
  )
  for c_max, t in ((5.0, 0), (5.0, 4), (5.0, 30), (100.0, 30)):
    total, parts = loss(jnp.float32(c_max), jnp.int32(t))
    cap = c_max * min(1.0, t / 10)
    np.testing.assert_allclose(parts["capacity"], cap, rtol=1e-6)
    np.testing.assert_allclose(total, nll + 1000.0 * abs(kl - cap), rtol=1e-5)
  # The gradient pulls the KL towards C: down when above it, up when below.
  grad = lambda c: jax.grad(
    lambda m: objective.loss(logits, x, m, logvar, None, strength=c, step=30, state={})[
      0
    ]
  )(mu)
  assert float(jnp.sum(grad(0.0) * mu)) > 0 > float(jnp.sum(grad(100.0) * mu))

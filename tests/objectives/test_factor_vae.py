"""FactorVAE's density-ratio TC (lbvae.objectives.factor_vae).

The discriminator learns to tell codes z ~ q(z) from codes with each dimension
permuted across the batch (samples of Π_l q(z_l)); at its optimum E[logit_0 −
logit_1] is the total correlation. Trained with the objective's own update (the one
the train step runs), on a correlated Gaussian it approaches the closed form
TC = −½ log(1 − ρ²), and on independent dimensions it returns to ~0.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import losses
from lbvae.objectives import factor_vae

JIT = [pytest.param(False, id="eager"), pytest.param(True, id="jit")]


@pytest.mark.parametrize("jit", JIT)
def test_permutation_keeps_each_dimensions_marginal(jit):
  z = jnp.asarray(np.random.default_rng(0).normal(size=(64, 5)), jnp.float32)
  fn = jax.jit(factor_vae.permute_dims) if jit else factor_vae.permute_dims
  out = np.asarray(fn(z, jax.random.key(1)))
  z = np.asarray(z)
  np.testing.assert_array_equal(np.sort(out, axis=0), np.sort(z, axis=0))
  # Each column has its own permutation: the source row of every value differs
  # between columns, so the rows (the joint) are broken up.
  source = np.stack(
    [[int(np.flatnonzero(z[:, l] == v)[0]) for v in out[:, l]] for l in range(5)],
    axis=1,
  )  # [B, L]
  for l in range(5):
    assert sorted(source[:, l]) == list(range(64))
  assert max(np.mean(source[:, 0] == source[:, l]) for l in range(1, 5)) < 0.2


def train(objective, state, chol, key, steps):
  @jax.jit
  def run(state, key):
    def body(st, k):
      k1, k2 = jax.random.split(k)
      z = jax.random.normal(k1, (256, chol.shape[0])) @ chol.T
      st, parts = objective.update_state(st, z, k2)
      return st, parts["discriminator_accuracy"]

    return jax.lax.scan(body, state, jax.random.split(key, steps))

  return run(state, key)


def tc_on_fresh_codes(objective, state, chol, seed):
  z = jax.random.normal(jax.random.key(seed), (20_000, chol.shape[0])) @ chol.T
  logits = objective.discriminator.apply({"params": state["params"]}, z)
  return float(factor_vae.tc_estimate(logits))


def test_tc_estimate_tracks_the_closed_form_then_goes_to_zero_when_independent():
  # A small discriminator and a faster Adam than the study's keep this test short.
  objective = factor_vae.FactorVAE(latent_dim=2, hidden=(64, 64), learning_rate=1e-3)
  state = objective.init_state(jax.random.key_data(jax.random.key(0)))
  rho = 0.8
  correlated = np.linalg.cholesky(np.array([[1.0, rho], [rho, 1.0]]))
  state, _ = train(objective, state, correlated, jax.random.key(1), 1000)
  tc = tc_on_fresh_codes(objective, state, correlated, 2)
  assert abs(tc - (-0.5 * np.log(1 - rho**2))) < 0.15, tc
  independent = np.eye(2)
  # Before it sees them, the discriminator scores independent codes as permuted
  # ones: its estimate there is −KL(Π q(z_l) ‖ q(z)), far from 0.
  assert tc_on_fresh_codes(objective, state, independent, 3) < -0.3
  state, accuracy = train(objective, state, independent, jax.random.key(4), 1000)
  assert abs(tc_on_fresh_codes(objective, state, independent, 5)) < 0.05
  assert abs(float(jnp.mean(accuracy[-200:])) - 0.5) < 0.05  # chance level


def test_loss_is_the_elbo_plus_gamma_tc():
  objective = factor_vae.FactorVAE(latent_dim=3, hidden=(16,))
  state = objective.init_state(jax.random.key_data(jax.random.key(0)))
  rng = np.random.default_rng(1)
  logits = jnp.asarray(rng.normal(size=(8, 4, 4, 1)), jnp.float32)
  x = jnp.asarray(rng.random((8, 4, 4, 1)) > 0.5, jnp.float32)
  mu = jnp.asarray(rng.normal(size=(8, 3)), jnp.float32)
  logvar = jnp.asarray(rng.normal(size=(8, 3)), jnp.float32)
  z = mu + 0.1
  total, parts = objective.loss(
    logits, x, mu, logvar, z, strength=30.0, step=0, state=state
  )
  d = objective.discriminator.apply({"params": state["params"]}, z)
  want = (
    jnp.mean(losses.bernoulli_nll(logits, x))
    + jnp.mean(losses.gaussian_kl(mu, logvar))
    + 30.0 * jnp.mean(d[:, 0] - d[:, 1])
  )
  np.testing.assert_allclose(total, want, rtol=1e-6)
  # The TC term reaches the encoder through z: γ times the estimate's gradient.
  g_loss = jax.grad(
    lambda zz: objective.loss(
      logits, x, mu, logvar, zz, strength=30.0, step=0, state=state
    )[0]
  )(z)
  g_tc = jax.grad(
    lambda zz: factor_vae.tc_estimate(
      objective.discriminator.apply({"params": state["params"]}, zz)
    )
  )(z)
  np.testing.assert_allclose(g_loss, 30.0 * g_tc, rtol=1e-5)
  assert float(jnp.abs(g_tc).max()) > 0


def test_default_discriminator_is_disentanglement_libs():
  objective = factor_vae.FactorVAE()
  state = objective.init_state(jax.random.key_data(jax.random.key(0)))
  kernels = [state["params"][f"Dense_{i}"]["kernel"].shape for i in range(7)]
  assert kernels == [(10, 1000)] + [(1000, 1000)] * 5 + [(1000, 2)]
  assert (objective.learning_rate, objective.adam_b1, objective.adam_b2) == (
    1e-4,
    0.5,
    0.9,
  )
  fresh = objective.restart_state(state)
  assert all(
    np.array_equal(a, b)
    for a, b in zip(jax.tree.leaves(fresh["params"]), jax.tree.leaves(state["params"]))
  )

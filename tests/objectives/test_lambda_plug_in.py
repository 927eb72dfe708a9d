"""λ as a plug-in (arXiv 2602.09277, §2): every objective + λ·E‖x − g(z)‖².

With λ = 0 the phase-2 loss must be the objective's phase-1 loss bit for bit, value
and gradient, jitted or not; the strength and λ are traced (one compilation).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import losses
from lbvae import objectives

JIT = [pytest.param(False, id="eager"), pytest.param(True, id="jit")]
OPTIONS = {
  "beta_tcvae": {"dataset_size": 1000, "estimator": "mss"},
  "annealed_vae": {"anneal_steps": 10},
  "factor_vae": {"latent_dim": 5, "hidden": (32, 32)},
}


def make(name):
  return objectives.make(name, **OPTIONS.get(name, {}))


def batch(seed=0):
  k = jax.random.split(jax.random.key(seed), 5)
  logits = 3 * jax.random.normal(k[0], (6, 8, 8, 1))
  x = (jax.random.uniform(k[1], (6, 8, 8, 1)) > 0.7).astype(jnp.float32)
  mu = jax.random.normal(k[2], (6, 5))
  logvar = 0.3 * jax.random.normal(k[3], (6, 5))
  z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(k[4], (6, 5))
  return logits, x, mu, logvar, z


def bits(tree):
  return [np.asarray(a).tobytes() for a in jax.tree.leaves(tree)]


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("name", objectives.NAMES)
def test_lambda_zero_is_the_objective_bit_for_bit(name, jit):
  objective = make(name)
  state = objective.init_state(jax.random.key_data(jax.random.key(7)))
  logits, x, mu, logvar, z = batch()
  step = jnp.int32(4)

  def with_lambda(lo, m, lv, zz):
    return objectives.lambda_loss(
      objective,
      lo,
      x,
      m,
      lv,
      zz,
      strength=jnp.float32(6.0),
      lam=jnp.float32(0.0),
      step=step,
      state=state,
    )[0]

  def phase1(lo, m, lv, zz):
    return objective.loss(
      lo, x, m, lv, zz, strength=jnp.float32(6.0), step=step, state=state
    )[0]

  grad = lambda f: jax.value_and_grad(f, argnums=(0, 1, 2, 3))
  if jit:
    grad = lambda f: jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2, 3)))
  (v1, g1), (v2, g2) = (
    grad(with_lambda)(logits, mu, logvar, z),
    grad(phase1)(logits, mu, logvar, z),
  )
  assert bits(v1) == bits(v2)
  assert bits(g1) == bits(g2)
  # ... and a λ > 0 adds exactly λ times the batch-mean L2.
  total, parts = objectives.lambda_loss(
    objective, logits, x, mu, logvar, z, strength=6.0, lam=3.0, step=step, state=state
  )
  l2 = jnp.mean(losses.l2_penalty(logits, x))
  np.testing.assert_allclose(total, v2 + 3.0 * l2, rtol=1e-6)
  _, extra = objective.update_state(state, z, jax.random.key(0))
  assert set(parts) | set(extra) == set(objectives.log_fields(objective))
  assert parts["loss"] == total


@pytest.mark.parametrize("jit", JIT)
def test_beta_vae_objective_is_the_lambda_beta_loss_bit_for_bit(jit):
  logits, x, mu, logvar, z = batch(1)
  objective = objectives.make("beta_vae")

  def new(lo, m, lv):
    return objectives.lambda_loss(
      objective, lo, x, m, lv, strength=jnp.float32(4.0), lam=jnp.float32(2.0)
    )[0]

  def old(lo, m, lv):
    return losses.lambda_beta_loss(
      lo, x, m, lv, beta=jnp.float32(4.0), lam=jnp.float32(2.0)
    )[0]

  grad = lambda f: jax.value_and_grad(f, argnums=(0, 1, 2))
  if jit:
    grad = lambda f: jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2)))
  assert bits(grad(new)(logits, mu, logvar)) == bits(grad(old)(logits, mu, logvar))


@pytest.mark.parametrize("name", objectives.NAMES)
def test_strength_and_lambda_are_traced_one_compilation(name):
  objective = make(name)
  state = objective.init_state(jax.random.key_data(jax.random.key(7)))
  args = batch(2)
  traces = []

  @jax.jit
  def total(strength, lam, step):
    traces.append(1)
    return objectives.lambda_loss(
      objective, *args, strength=strength, lam=lam, step=step, state=state
    )[0]

  got = [
    total(jnp.float32(s), jnp.float32(l), jnp.int32(t))
    for s, l, t in ((1.0, 0.0, 0), (10.0, 8.0, 5), (50.0, 2.0, 100))
  ]
  assert len(traces) == 1
  assert len({float(g) for g in got}) == 3


def test_unknown_name_is_a_config_error():
  with pytest.raises(
    objectives.errors.ConfigError, match="config.objective must be one"
  ):
    objectives.make("vae_gan")

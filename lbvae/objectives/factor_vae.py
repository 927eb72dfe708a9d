"""FactorVAE (Kim & Mnih, 2018, "Disentangling by Factorising", §3 and Appendix A).

    L = NLL + KL + γ · TC,   TC = KL(q(z) ‖ Π_l q(z_l)) ≈ E_q(z)[logit_0(z) − logit_1(z)]

A discriminator D tells codes z ~ q(z) (class 0) from codes with each dimension
permuted across the batch (class 1). In each step the VAE's gradient is taken with D
fixed, then D takes one Adam step on that step's stopped codes and their permutation,
minimising −½ (E log D_0(z) + E log D_1(z_perm)); both from the step's parameters, as
disentanglement_lib's grouped train ops. D (disentanglement_lib v1.5
``fc_discriminator``; Kim & Mnih, Appendix A): 6 hidden layers of 1 000 units, leaky
ReLU slope 0.2, 2 logits; Adam lr 1e-4, β1 = 0.5, β2 = 0.9, ε = 1e-8. γ is on the grid's
β axis. D's ``{"params", "opt_state"}`` is part of each model's train state (vmapped,
checkpointed); phase 2 keeps its parameters and starts a fresh optimiser.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from lbvae import errors
from lbvae.objectives import base

LEAKY_SLOPE = 0.2  # tf.nn.leaky_relu's default alpha
PERMUTATION_STREAM = 0x706572  # "per": folded into the step's noise key
INIT_STREAM = 0x646973  # "dis": folded into a seed's init key
# config.factor_vae: the discriminator and its Adam (module docstring).
DEFAULTS = {
  "hidden_units": 1000,  # width of each hidden layer
  "hidden_layers": 6,  # number of hidden layers (leaky ReLU)
  "learning_rate": 1e-4,  # Adam's step size
  "adam_b1": 0.5,  # Adam's β1
  "adam_b2": 0.9,  # Adam's β2
  "adam_eps": 1e-8,  # Adam's ε
}
DISCRIMINATOR_LAYERS = (DEFAULTS["hidden_units"],) * DEFAULTS["hidden_layers"]


class Discriminator(nn.Module):
  """float32[B, L] codes -> float32[B, 2] logits (0: from q(z), 1: permuted)."""

  hidden: Sequence[int] = DISCRIMINATOR_LAYERS

  @nn.compact
  def __call__(self, z):
    h = z
    for width in self.hidden:
      h = nn.leaky_relu(nn.Dense(width)(h), negative_slope=LEAKY_SLOPE)
    return nn.Dense(2)(h)


def permute_dims(z, key):
  """Each column of float32[B, L] permuted independently across the batch.

  Every latent keeps its batch marginal (the same multiset of values); the joint
  becomes a sample of Π_l q(z_l).
  """
  keys = jax.random.split(key, z.shape[1])
  return jax.vmap(jax.random.permutation, in_axes=(0, 1), out_axes=1)(keys, z)


def tc_estimate(logits):
  """Density-ratio TC estimate E[logit_0 − logit_1] over float32[B, 2]: float32[]."""
  return jnp.mean(logits[:, 0] - logits[:, 1])


def discriminator_loss(logits_joint, logits_permuted):
  """−½ (E log D_0(z) + E log D_1(z_perm)): float32[] (each input float32[B, 2])."""
  return -0.5 * (
    jnp.mean(jax.nn.log_softmax(logits_joint)[:, 0])
    + jnp.mean(jax.nn.log_softmax(logits_permuted)[:, 1])
  )


def discriminator_accuracy(logits_joint, logits_permuted):
  """The fraction of both batches the discriminator classifies right: float32[]."""
  right = jnp.concatenate(
    [jnp.argmax(logits_joint, -1) == 0, jnp.argmax(logits_permuted, -1) == 1]
  )
  return jnp.mean(right.astype(jnp.float32))


@dataclasses.dataclass(frozen=True)
class FactorVAE(base.Objective):
  """NLL + KL + γ·TC with a discriminator in the objective's state.

  Attributes:
    latent_dim: L, the discriminator's input size.
    hidden: the discriminator's hidden widths.
    learning_rate, adam_b1, adam_b2, adam_eps: its Adam.
  """

  latent_dim: int = 10
  hidden: tuple[int, ...] = DISCRIMINATOR_LAYERS
  learning_rate: float = DEFAULTS["learning_rate"]
  adam_b1: float = DEFAULTS["adam_b1"]
  adam_b2: float = DEFAULTS["adam_b2"]
  adam_eps: float = DEFAULTS["adam_eps"]
  name = "factor_vae"
  title = "FactorVAE"
  strength_label = "γ (TC weight)"
  parts = ("total_correlation", "discriminator_loss", "discriminator_accuracy")
  part_labels = {"total_correlation": "TC", "discriminator_accuracy": "D acc."}
  needs_z = True
  reference = "Kim & Mnih, 2018"

  @property
  def discriminator(self) -> Discriminator:
    return Discriminator(tuple(self.hidden))

  @property
  def tx(self) -> optax.GradientTransformation:
    return optax.adam(
      self.learning_rate, b1=self.adam_b1, b2=self.adam_b2, eps=self.adam_eps
    )

  def loss(self, logits, x, mu, logvar, z, *, strength, step, state):
    del step
    nll, kl = base.nll_and_kl(logits, x, mu, logvar)
    tc = tc_estimate(self.discriminator.apply({"params": state["params"]}, z))
    return nll + kl + strength * tc, {"nll": nll, "kl": kl, "total_correlation": tc}

  def init_state(self, key_data):
    key = jax.random.fold_in(jax.random.wrap_key_data(key_data), INIT_STREAM)
    params = self.discriminator.init(key, jnp.zeros((1, self.latent_dim)))["params"]
    return {"params": params, "opt_state": self.tx.init(params)}

  def restart_state(self, state):
    return {"params": state["params"], "opt_state": self.tx.init(state["params"])}

  def update_state(self, state, z, key):
    z = jax.lax.stop_gradient(z)
    permuted = permute_dims(z, jax.random.fold_in(key, PERMUTATION_STREAM))

    def loss_fn(params):
      joint = self.discriminator.apply({"params": params}, z)
      perm = self.discriminator.apply({"params": params}, permuted)
      return discriminator_loss(joint, perm), discriminator_accuracy(joint, perm)

    (loss, accuracy), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
    updates, opt_state = self.tx.update(grads, state["opt_state"], state["params"])
    params = optax.apply_updates(state["params"], updates)
    return (
      {"params": params, "opt_state": opt_state},
      {"discriminator_loss": loss, "discriminator_accuracy": accuracy},
    )


def _options(config, dataset_size: int) -> dict:
  del dataset_size
  group = config.factor_vae
  return {
    "latent_dim": int(config.latent_dim),
    "hidden": (int(group.hidden_units),) * int(group.hidden_layers),
    "learning_rate": float(group.learning_rate),
    "adam_b1": float(group.adam_b1),
    "adam_b2": float(group.adam_b2),
    "adam_eps": float(group.adam_eps),
  }


def _check(config) -> None:
  group = config.factor_vae
  for field in ("hidden_units", "hidden_layers"):
    errors.require_int(group[field], f"config.factor_vae.{field}")
  for field in ("learning_rate", "adam_eps"):
    errors.require_positive(group[field], f"config.factor_vae.{field}")
  for field in ("adam_b1", "adam_b2"):
    v = group[field]
    errors.require(
      isinstance(v, (int, float)) and 0 <= v < 1,
      f"config.factor_vae.{field} must be in [0, 1), got {v!r}",
    )


ENTRIES = (
  base.Entry(
    "factor_vae",
    FactorVAE,
    group="factor_vae",
    defaults=DEFAULTS,
    options=_options,
    check=_check,
  ),
)

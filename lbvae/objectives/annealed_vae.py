"""AnnealedVAE (Burgess et al., 2018, "Understanding disentangling in β-VAE", eq. 8).

    L = NLL + γ · |KL − C(t)|,    C(t) = C_max · min(1, t / T)          (batch means)

The capacity C(t) rises linearly from 0 to C_max over the first T optimisation steps
(``config.annealed_vae.anneal_steps``) of the global step t, which the train state
carries: it goes on across phase 2 (which continues the step count) and resumes
exactly. As in disentanglement_lib (``AnnealedVAE.regularizer``), the absolute value
is taken of the batch-mean KL. C_max (nats) is the strength on the grid's β axis; γ
is fixed (disentanglement_lib's study: γ = 1000, T = 100 000).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from lbvae import errors
from lbvae.objectives import base

# config.annealed_vae (disentanglement_lib's study).
DEFAULTS = {
  "gamma": 1000.0,  # γ, the weight of |KL − C(t)|
  "anneal_steps": 100_000,  # T, the steps over which C rises from 0 to C_max
}


def capacity(step, *, c_max, anneal_steps: int):
  """C(t) = C_max · min(1, t / T): float32[] (``step`` and ``c_max`` may be traced)."""
  t = jnp.asarray(step, jnp.float32)
  return jnp.minimum(c_max, c_max * t / float(anneal_steps))


@dataclasses.dataclass(frozen=True)
class AnnealedVAE(base.Objective):
  """NLL + γ·|KL − C(t)|.

  Attributes:
    gamma: γ, the weight of the capacity constraint.
    anneal_steps: T, the steps C takes to reach C_max.
  """

  gamma: float = DEFAULTS["gamma"]
  anneal_steps: int = DEFAULTS["anneal_steps"]
  name = "annealed_vae"
  title = "AnnealedVAE"
  strength_label = "C_max (target KL, nats)"
  parts = ("capacity",)
  part_labels = {"capacity": "C(t)"}
  reference = "Burgess et al., 2018"

  def loss(self, logits, x, mu, logvar, z, *, strength, step, state):
    del z, state
    nll, kl = base.nll_and_kl(logits, x, mu, logvar)
    c = capacity(step, c_max=strength, anneal_steps=self.anneal_steps)
    total = nll + self.gamma * jnp.abs(kl - c)
    return total, {"nll": nll, "kl": kl, "capacity": c}


def _options(config, dataset_size: int) -> dict:
  del dataset_size
  group = config.annealed_vae
  return {"gamma": float(group.gamma), "anneal_steps": int(group.anneal_steps)}


def _check(config) -> None:
  errors.require_positive(config.annealed_vae.gamma, "config.annealed_vae.gamma")
  errors.require_int(
    config.annealed_vae.anneal_steps, "config.annealed_vae.anneal_steps"
  )


ENTRIES = (
  base.Entry(
    "annealed_vae",
    AnnealedVAE,
    group="annealed_vae",
    defaults=DEFAULTS,
    options=_options,
    check=_check,
  ),
)

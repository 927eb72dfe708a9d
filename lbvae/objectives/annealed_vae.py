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

from lbvae.objectives import base


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
  gamma: float = 1000.0
  anneal_steps: int = 100_000
  name = "annealed_vae"
  title = "AnnealedVAE"
  strength_label = "C_max (target KL, nats)"
  parts = ("capacity",)
  reference = "Burgess et al., 2018"

  def loss(self, logits, x, mu, logvar, z, *, strength, step, state):
    del z, state
    nll, kl = base.nll_and_kl(logits, x, mu, logvar)
    c = capacity(step, c_max=strength, anneal_steps=self.anneal_steps)
    total = nll + self.gamma * jnp.abs(kl - c)
    return total, {"nll": nll, "kl": kl, "capacity": c}

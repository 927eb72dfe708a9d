"""DIP-VAE-I and DIP-VAE-II (Kumar, Sattigeri & Balakrishnan, 2018, "Variational
Inference of Disentangled Latent Concepts from Unlabeled Observations", eqs. 6-7).

Both push the covariance C of the code over the data towards the identity::

    L = NLL + KL + λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)²          (batch means)

* DIP-VAE-I: C = Cov_batch[μ(x)], λ_d = 10 λ_od;
* DIP-VAE-II: C = Cov_batch[μ(x)] + E_batch[diag σ²(x)] (the covariance of z under
  the aggregate posterior), λ_d = λ_od.

The covariance is the batch's (divided by B, as disentanglement_lib's
``compute_covariance_z_mean``); λ_od is the strength on the grid's β axis and the
λ_d factors are disentanglement_lib's study settings (``dip_vae.lambda_d_factor``).
"""

from __future__ import annotations

import dataclasses
import functools

import jax.numpy as jnp

from lbvae.objectives import base

LAMBDA_D_FACTOR = {"i": 10.0, "ii": 1.0}


def code_covariance(mu, logvar=None):
  """The batch covariance of the code: float32[B, L] -> float32[L, L].

  Args:
    mu: encoder means.
    logvar: encoder log-variances; given, E[diag exp(logvar)] is added (DIP-VAE-II).
  """
  centred = mu - jnp.mean(mu, axis=0)
  cov = centred.T @ centred / mu.shape[0]
  if logvar is not None:
    cov = cov + jnp.diag(jnp.mean(jnp.exp(logvar), axis=0))
  return cov


def covariance_penalties(cov):
  """(Σ_{i≠j} C_ij², Σ_i (C_ii − 1)²) of a float32[L, L] covariance: two float32[]."""
  diag = jnp.diagonal(cov)
  off = jnp.sum(cov**2) - jnp.sum(diag**2)
  return off, jnp.sum((diag - 1.0) ** 2)


@dataclasses.dataclass(frozen=True)
class DIPVAE(base.Objective):
  """NLL + KL + λ_od·off-diagonal + λ_d·diagonal penalty (module docstring).

  Attributes:
    kind: "i" (Cov of μ) or "ii" (Cov of z).
  """

  kind: str = "i"
  strength_label = "λ_od (off-diagonal weight)"
  parts = ("cov_off_diagonal", "cov_diagonal")
  part_labels = {"cov_off_diagonal": "Σ C_ij²", "cov_diagonal": "Σ (C_ii−1)²"}
  reference = "Kumar et al., 2018"

  @property
  def name(self) -> str:
    return f"dip_vae_{self.kind}"

  @property
  def title(self) -> str:
    return f"DIP-VAE-{self.kind.upper()}"

  def loss(self, logits, x, mu, logvar, z, *, strength, step, state):
    del z, step, state
    nll, kl = base.nll_and_kl(logits, x, mu, logvar)
    cov = code_covariance(mu, logvar if self.kind == "ii" else None)
    off, diag = covariance_penalties(cov)
    total = nll + kl + strength * off + (LAMBDA_D_FACTOR[self.kind] * strength) * diag
    return total, {"nll": nll, "kl": kl, "cov_off_diagonal": off, "cov_diagonal": diag}


ENTRIES = tuple(
  base.Entry(f"dip_vae_{kind}", functools.partial(DIPVAE, kind=kind))
  for kind in LAMBDA_D_FACTOR
)

"""The β-VAE (Higgins et al., 2017, "β-VAE: Learning Basic Visual Concepts with a
Constrained Variational Framework"), the objective of arXiv 2602.09277.

    L_β = E_q[−log p(x|z)] + β · KL(q(z|x) ‖ N(0, I))          (batch means)

The strength on the grid's β axis is β. Phase 2 with λ gives the λβ-VAE; the same
loss is :func:`lbvae.losses.lambda_beta_loss`.
"""

from __future__ import annotations

import dataclasses

from lbvae.objectives import base


@dataclasses.dataclass(frozen=True)
class BetaVAE(base.Objective):
  """NLL + β·KL."""

  name = "beta_vae"
  title = "β-VAE"
  strength_label = "β (KL weight)"
  reference = "Higgins et al., 2017"

  def loss(self, logits, x, mu, logvar, z, *, strength, step, state):
    del z, step, state
    nll, kl = base.nll_and_kl(logits, x, mu, logvar)
    return nll + strength * kl, {"nll": nll, "kl": kl}


ENTRIES = (base.Entry("beta_vae", BetaVAE),)

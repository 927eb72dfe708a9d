"""β-TCVAE (Chen, Li, Grosse & Duvenaud, 2018, "Isolating Sources of
Disentanglement in Variational Autoencoders", §3-4).

With q(z) = (1/N) Σ_n q(z|n) the aggregate posterior::

    E_n KL(q(z|n) ‖ p(z)) = I_q(z; n)                         index-code MI
                          + KL(q(z) ‖ Π_l q(z_l))             total correlation (TC)
                          + Σ_l KL(q(z_l) ‖ p(z_l))           dimension-wise KL

and L = NLL + MI + β·TC + dim-KL = NLL + KL + (β − 1)·TC (β on the grid's β axis):
E log q(z|x) and E log p(z) are closed-form, so the three parts sum to the batch's
closed-form KL. log q(z) and log q(z_l) are estimated on the batch of B
(:func:`aggregate_log_densities`): ``mws`` with weights 1/B (the paper's 1/(NB) only
shifts it by −log N), ``mss`` (the paper's Appendix C.2, needs the dataset size N)
with the sample's own posterior at 1/N, one other at (N − M)/(NM), the rest at 1/M
(M = B − 1), on the diagonal and beside it as in the paper, not in columns 0 and 1 as
the authors' released code. Why: docs/method.md §6.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from lbvae import errors
from lbvae.objectives import base

ESTIMATORS = ("mws", "mss")
# config.beta_tcvae.
DEFAULTS = {
  # log q(z) by minibatch-weighted ("mws", disentanglement_lib's) or -stratified
  # ("mss") sampling (module docstring)
  "estimator": "mws",
}
LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_density(z, mu, logvar):
  """log N(z; mu, exp(logvar)) elementwise (broadcasting)."""
  return -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 * jnp.exp(-logvar))


def log_density_matrix(z, mu, logvar):
  """log q(z_il | n_j) for every pair: float32[B, L] x3 -> float32[B, B, L] [i, j, l]."""
  return gaussian_log_density(z[:, None, :], mu[None, :, :], logvar[None, :, :])


def log_importance_weights(batch_size: int, dataset_size: int, estimator: str):
  """log w_ij, the weight of q(z_i|n_j) in the estimate of q(z_i): float32[B, B].

  Args:
    batch_size: B (static).
    dataset_size: N (static; used by ``mss``).
    estimator: ``mws`` or ``mss`` (module docstring).
  """
  b = int(batch_size)
  if estimator == "mws":
    return jnp.full((b, b), -math.log(b), jnp.float32)
  if estimator != "mss":
    raise ValueError(f"unknown estimator {estimator!r}; choose one of {ESTIMATORS}")
  n, m = float(dataset_size), b - 1
  if m == 0:  # a batch of one: its own posterior is the whole estimate
    return jnp.zeros((1, 1), jnp.float32)
  eye = jnp.eye(b, dtype=bool)
  beside = jnp.roll(eye, 1, axis=1)  # j = i + 1 (mod B)
  w = jnp.where(eye, 1.0 / n, jnp.where(beside, (n - m) / (n * m), 1.0 / m))
  return jnp.log(w).astype(jnp.float32)


def aggregate_log_densities(z, mu, logvar, *, dataset_size: int, estimator: str):
  """Minibatch estimates of log q(z_i) and log Π_l q(z_il).

  Args:
    z: float32[B, L], one sample of q(z|n_i) per example.
    mu, logvar: float32[B, L], the batch's posteriors.
    dataset_size: N, the number of examples q(z) averages over.
    estimator: ``mws`` or ``mss``.

  Returns:
    (log_qz float32[B], log_qz_product float32[B]).
  """
  log_q = log_density_matrix(z, mu, logvar)  # [B, B, L]
  log_w = log_importance_weights(z.shape[0], dataset_size, estimator)
  log_qz = jax.nn.logsumexp(jnp.sum(log_q, axis=-1) + log_w, axis=1)
  log_qz_product = jnp.sum(jax.nn.logsumexp(log_q + log_w[:, :, None], axis=1), axis=-1)
  return log_qz, log_qz_product


def decomposition(mu, logvar, z, *, dataset_size: int, estimator: str) -> dict:
  """The three parts of the KL term, batch means (module docstring).

  Args:
    mu, logvar, z: float32[B, L].
    dataset_size: N.
    estimator: ``mws`` or ``mss``.

  Returns:
    {"index_code_mi", "total_correlation", "dimension_kl"}: float32[] nats; their
    sum is the batch-mean closed-form KL.
  """
  log_qz, log_qz_product = aggregate_log_densities(
    z, mu, logvar, dataset_size=dataset_size, estimator=estimator
  )
  log_q_given_x = -0.5 * jnp.sum(LOG_2PI + logvar + 1.0, axis=-1)  # E log q(z|x)
  log_p = -0.5 * jnp.sum(LOG_2PI + mu**2 + jnp.exp(logvar), axis=-1)  # E log p(z)
  return {
    "index_code_mi": jnp.mean(log_q_given_x - log_qz),
    "total_correlation": jnp.mean(log_qz - log_qz_product),
    "dimension_kl": jnp.mean(log_qz_product - log_p),
  }


@dataclasses.dataclass(frozen=True)
class BetaTCVAE(base.Objective):
  """NLL + MI + β·TC + dim-KL.

  Attributes:
    dataset_size: N (for ``mss``).
    estimator: ``mws`` (disentanglement_lib's choice, the default) or ``mss``.
  """

  dataset_size: int = 1
  estimator: str = DEFAULTS["estimator"]
  name = "beta_tcvae"
  title = "β-TCVAE"
  strength_label = "β (TC weight)"
  parts = ("index_code_mi", "total_correlation", "dimension_kl")
  part_labels = {
    "index_code_mi": "MI(n; z)",
    "total_correlation": "TC",
    "dimension_kl": "dim-KL",
  }
  needs_z = True
  reference = "Chen et al., 2018"

  def loss(self, logits, x, mu, logvar, z, *, strength, step, state):
    del step, state
    nll, kl = base.nll_and_kl(logits, x, mu, logvar)
    d = decomposition(
      mu, logvar, z, dataset_size=self.dataset_size, estimator=self.estimator
    )
    total = (
      nll + d["index_code_mi"] + strength * d["total_correlation"] + d["dimension_kl"]
    )
    return total, {"nll": nll, "kl": kl, **d}


def _options(config, dataset_size: int) -> dict:
  estimator = str(config.beta_tcvae.estimator)
  errors.require(
    estimator != "mss" or int(dataset_size) >= config.batch_size - 1,
    f"config.beta_tcvae.estimator 'mss' needs a dataset of at least "
    f"config.batch_size - 1 images, got {dataset_size}",
  )
  return {"dataset_size": int(dataset_size), "estimator": estimator}


def _check(config) -> None:
  estimator = config.beta_tcvae.estimator
  errors.require(
    estimator in ESTIMATORS,
    f"config.beta_tcvae.estimator must be one of "
    f"{', '.join(ESTIMATORS)}, got {estimator!r}",
  )


ENTRIES = (
  base.Entry(
    "beta_tcvae",
    BetaTCVAE,
    group="beta_tcvae",
    defaults=DEFAULTS,
    options=_options,
    check=_check,
  ),
)

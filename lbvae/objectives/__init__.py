"""Disentangling objectives that the λ term plugs into (arXiv 2602.09277, §2;
docs/method.md §6).

``config.objective`` picks the phase-1 objective; its strength is the grid's β axis
(a traced value: one compilation per objective serves every member), and phase 2
adds λ·E‖x − g(z)‖² to the same objective (:func:`lambda_loss`).

==================  ===================================================  =============
``objective``       phase-1 loss (batch means)                           β axis holds
==================  ===================================================  =============
``beta_vae``        NLL + β·KL (:mod:`.beta_vae`)                         β
``beta_tcvae``      NLL + MI + β·TC + dim-KL, MWS/MSS (:mod:`.beta_tcvae`)  β
``dip_vae_i``       NLL + KL + λ_od·Σ_{i≠j}C² + 10λ_od·Σ(C_ii−1)², C=Cov μ   λ_od
``dip_vae_ii``      as I with C = Cov μ + E diag σ², λ_d = λ_od (:mod:`.dip_vae`)  λ_od
``annealed_vae``    NLL + γ·|KL − C(t)| (:mod:`.annealed_vae`)            C_max
``factor_vae``      NLL + KL + γ·TC, density ratio (:mod:`.factor_vae`)   γ
==================  ===================================================  =============

Synopsis::

    objective = objectives.make("beta_tcvae", dataset_size=737_280, estimator="mss")
    total, parts = objectives.lambda_loss(objective, logits, x, mu, logvar, z,
                                          strength=6.0, lam=2.0)
    objective = objectives.from_config(config, dataset_size=len(ds))
    objectives.log_fields(objective)   # nll, kl, l2, loss, index_code_mi, ...
"""

from __future__ import annotations

from lbvae import errors
from lbvae.objectives.annealed_vae import AnnealedVAE
from lbvae.objectives.base import BASE_FIELDS
from lbvae.objectives.base import Objective
from lbvae.objectives.base import lambda_loss
from lbvae.objectives.base import log_fields
from lbvae.objectives.beta_tcvae import ESTIMATORS
from lbvae.objectives.beta_tcvae import BetaTCVAE
from lbvae.objectives.beta_vae import BetaVAE
from lbvae.objectives.dip_vae import DIPVAE
from lbvae.objectives.factor_vae import FactorVAE

NAMES = ("beta_vae", "beta_tcvae", "dip_vae_i", "dip_vae_ii", "annealed_vae",
         "factor_vae")


def make(name: str, **options) -> Objective:
  """The objective called ``name`` with its options (see each class's attributes).

  Raises:
    lbvae.errors.ConfigError: an unknown name.
  """
  errors.require(name in NAMES, f"config.objective must be one of {', '.join(NAMES)},"
                 f" got {name!r}")
  if name == "beta_vae":
    return BetaVAE(**options)
  if name == "beta_tcvae":
    return BetaTCVAE(**options)
  if name in ("dip_vae_i", "dip_vae_ii"):
    return DIPVAE(kind=name.rsplit("_", 1)[1], **options)
  if name == "annealed_vae":
    return AnnealedVAE(**options)
  return FactorVAE(**options)


def from_config(config, *, dataset_size: int) -> Objective:
  """The objective of a sweep config (``config.objective`` and its settings group).

  Args:
    config: a sweep config (``lbvae.train.config.defaults()`` fields); a config
      without ``objective`` is a β-VAE run.
    dataset_size: N, the number of training images (β-TCVAE's ``mss``).
  """
  name = config.get("objective", "beta_vae")
  if name == "beta_tcvae":
    estimator = str(config.beta_tcvae.estimator)
    errors.require(estimator != "mss" or int(dataset_size) >= config.batch_size - 1,
                   f"config.beta_tcvae.estimator 'mss' needs a dataset of at least "
                   f"config.batch_size - 1 images, got {dataset_size}")
    return make(name, dataset_size=int(dataset_size), estimator=estimator)
  if name == "annealed_vae":
    return make(name, gamma=float(config.annealed_vae.gamma),
                anneal_steps=int(config.annealed_vae.anneal_steps))
  if name == "factor_vae":
    f = config.factor_vae
    return make(name, latent_dim=int(config.latent_dim),
                hidden=(int(f.hidden_units),) * int(f.hidden_layers),
                learning_rate=float(f.learning_rate), adam_b1=float(f.adam_b1),
                adam_b2=float(f.adam_b2), adam_eps=float(f.adam_eps))
  return make(name)


__all__ = ["AnnealedVAE", "BASE_FIELDS", "BetaTCVAE", "BetaVAE", "DIPVAE", "ESTIMATORS",
           "FactorVAE", "NAMES", "Objective", "from_config", "lambda_loss",
           "log_fields", "make"]

"""Disentangling objectives that the λ term plugs into (arXiv 2602.09277, §2; docs/method.md §6).

``config.objective`` picks the phase-1 objective, its strength on the grid's (traced)
β axis (last column); phase 2 adds λ·E‖x − g(z)‖² to it (:func:`lambda_loss`).

==================  ===================================================  =============
``beta_vae``        NLL + β·KL (:mod:`.beta_vae`)                         β
``beta_tcvae``      NLL + MI + β·TC + dim-KL, MWS/MSS (:mod:`.beta_tcvae`)  β
``dip_vae_i``       NLL + KL + λ_od·Σ_{i≠j}C² + 10λ_od·Σ(C_ii−1)², C=Cov μ   λ_od
``dip_vae_ii``      as I with C = Cov μ + E diag σ², λ_d = λ_od (:mod:`.dip_vae`)  λ_od
``annealed_vae``    NLL + γ·|KL − C(t)| (:mod:`.annealed_vae`)            C_max
``factor_vae``      NLL + KL + γ·TC, density ratio (:mod:`.factor_vae`)   γ
==================  ===================================================  =============

Synopsis (the loss terms are batch means)::

    objective = objectives.make("beta_tcvae", dataset_size=737_280, estimator="mss")
    total, parts = objectives.lambda_loss(objective, logits, x, mu, logvar, z,
                                          strength=6.0, lam=2.0)   # or from_config(...)
"""

from __future__ import annotations

from lbvae import errors
from lbvae.objectives import annealed_vae
from lbvae.objectives import beta_tcvae
from lbvae.objectives import beta_vae
from lbvae.objectives import dip_vae
from lbvae.objectives import factor_vae
from lbvae.objectives.annealed_vae import AnnealedVAE
from lbvae.objectives.base import BASE_FIELDS
from lbvae.objectives.base import FIELD_LABELS
from lbvae.objectives.base import REPORTED
from lbvae.objectives.base import Entry
from lbvae.objectives.base import Objective
from lbvae.objectives.base import lambda_loss
from lbvae.objectives.base import log_fields
from lbvae.objectives.beta_tcvae import ESTIMATORS
from lbvae.objectives.beta_tcvae import BetaTCVAE
from lbvae.objectives.beta_vae import BetaVAE
from lbvae.objectives.dip_vae import DIPVAE
from lbvae.objectives.factor_vae import FactorVAE

# The registry, in the order of NAMES (and of every message that lists them). Everything
# lbvae knows of an objective (name, config group and defaults, options, checks, report
# headers) is read from the Entry lists its module ends with; a new objective is a
# module like annealed_vae and one line here.
_ENTRIES = (
  *beta_vae.ENTRIES,
  *beta_tcvae.ENTRIES,
  *dip_vae.ENTRIES,
  *annealed_vae.ENTRIES,
  *factor_vae.ENTRIES,
)

NAMES = tuple(e.name for e in _ENTRIES)


def _entry(name: str) -> Entry:
  """The registry's entry called ``name``.

  Raises:
    lbvae.errors.ConfigError: an unknown name.
  """
  entries = {e.name: e for e in _ENTRIES}
  errors.require(
    name in entries,
    f"config.objective must be one of {', '.join(entries)}, got {name!r}",
  )
  return entries[name]


def make(name: str, **options) -> Objective:
  """The objective called ``name`` with its options (see each class's attributes).

  Raises:
    lbvae.errors.ConfigError: an unknown name.
  """
  return _entry(name).make(**options)


def from_config(config, *, dataset_size: int) -> Objective:
  """The objective of a sweep config (``config.objective`` and its settings group).

  Args:
    config: a sweep config (``lbvae.train.config.defaults()`` fields); a config
      without ``objective`` is a β-VAE run.
    dataset_size: N, the number of training images (β-TCVAE's ``mss``).
  """
  entry = _entry(config.get("objective", "beta_vae"))
  return entry.make(**entry.options(config, dataset_size))


def check_objective(config) -> None:
  """Raises :class:`lbvae.errors.ConfigError` on an unknown ``config.objective`` or
  a bad value in its settings group (other objectives' groups are not read)."""
  _entry(config.get("objective", "beta_vae")).check(config)


def config_groups() -> dict[str, dict]:
  """{group: its fields at their defaults} of every objective that has a group."""
  return {e.group: dict(e.defaults) for e in _ENTRIES if e.group is not None}


def part_labels() -> tuple[tuple[str, str], ...]:
  """(part, report.md header) of every objective's shown parts, in registry order;
  a part two objectives share (``total_correlation``) comes once, with one header.

  Raises:
    ValueError: two objectives give one part different headers.
  """
  labels: dict[str, str] = {}
  for e in _ENTRIES:
    for part, label in e.make().part_labels.items():
      if labels.setdefault(part, label) != label:
        raise ValueError(f"part {part!r} is headed {labels[part]!r} and {label!r}")
  return tuple(labels.items())


__all__ = [
  "AnnealedVAE",
  "BASE_FIELDS",
  "BetaTCVAE",
  "BetaVAE",
  "DIPVAE",
  "ESTIMATORS",
  "Entry",
  "FIELD_LABELS",
  "FactorVAE",
  "NAMES",
  "Objective",
  "REPORTED",
  "check_objective",
  "config_groups",
  "from_config",
  "lambda_loss",
  "log_fields",
  "make",
  "part_labels",
]

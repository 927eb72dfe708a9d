"""The objective registry: each objective's module declares its entry, and the
config, its checks, the stored-config rules and the report's headers follow it."""

import dataclasses
import re

import pytest

from lbvae import errors
from lbvae import objectives
from lbvae.evaluation import report
from lbvae.objectives import annealed_vae
from lbvae.objectives import base
from lbvae.objectives import factor_vae
from lbvae.train import config as config_lib
from lbvae.train import workdir


@dataclasses.dataclass(frozen=True)
class ToyVAE(base.Objective):
  """NLL + scale·β·KL, with one part of its own."""

  scale: float = 1.0
  name = "toy_vae"
  title = "toy VAE"
  strength_label = "β (toy)"
  parts = ("scaled_kl",)
  part_labels = {"scaled_kl": "scaled KL"}

  def loss(self, logits, x, mu, logvar, z, *, strength, step, state):
    del z, step, state
    nll, kl = base.nll_and_kl(logits, x, mu, logvar)
    return nll + self.scale * strength * kl, {
      "nll": nll,
      "kl": kl,
      "scaled_kl": self.scale * kl,
    }


def _toy_check(config):
  errors.require_positive(config.toy_vae.scale, "config.toy_vae.scale")


TOY = base.Entry(
  "toy_vae",
  ToyVAE,
  group="toy_vae",
  defaults={"scale": 1.0},
  options=lambda config, dataset_size: {"scale": config.toy_vae.scale},
  check=_toy_check,
)


def test_an_entry_is_all_a_new_objective_needs(monkeypatch):
  monkeypatch.setattr(objectives, "_ENTRIES", objectives._ENTRIES + (TOY,))
  c = config_lib.defaults()
  assert c.toy_vae.scale == 1.0  # the group, at the entry's defaults
  c.objective = "toy_vae"
  c.toy_vae.scale = 2.5
  config_lib.validate(c)
  assert objectives.from_config(c, dataset_size=100) == ToyVAE(scale=2.5)
  assert objectives.make("toy_vae") == ToyVAE()
  assert objectives.part_labels()[-1] == ("scaled_kl", "scaled KL")
  c.toy_vae.scale = 0.0
  with pytest.raises(
    errors.ConfigError,
    match=re.escape("config.toy_vae.scale must be a number > 0, got 0.0"),
  ):
    config_lib.validate(c)
  c.objective = "beta_vae"  # another objective's group is not read
  config_lib.validate(c)
  with pytest.raises(
    errors.ConfigError,
    match=re.escape(
      "config.objective must be one of beta_vae, beta_tcvae, dip_vae_i, dip_vae_ii, "
      "annealed_vae, factor_vae, toy_vae, got 'vae_gan'"
    ),
  ):
    objectives.make("vae_gan")


def test_the_registry_gives_todays_names_groups_and_headers():
  assert objectives.NAMES == (
    "beta_vae",
    "beta_tcvae",
    "dip_vae_i",
    "dip_vae_ii",
    "annealed_vae",
    "factor_vae",
  )
  assert tuple(objectives.config_groups()) == (
    "beta_tcvae",
    "annealed_vae",
    "factor_vae",
  )
  assert workdir.ADDED_FIELDS == (
    "dataset.factors",
    "dataset.background",
    "objective",
    "precision",
    "beta_tcvae",
    "annealed_vae",
    "factor_vae",
  )
  # FactorVAE's discriminator_loss is logged but not shown; TC is headed once.
  assert objectives.part_labels() == (
    ("index_code_mi", "MI(n; z)"),
    ("total_correlation", "TC"),
    ("dimension_kl", "dim-KL"),
    ("cov_off_diagonal", "Σ C_ij²"),
    ("cov_diagonal", "Σ (C_ii−1)²"),
    ("capacity", "C(t)"),
    ("discriminator_accuracy", "D acc."),
  )
  assert report.table_columns()[-len(objectives.part_labels()) :] == (
    objectives.part_labels()
  )
  for name in objectives.NAMES:
    objective = objectives.make(name)
    assert objective.name == name and objective.title and objective.strength_label
    assert set(objective.part_labels) <= set(objective.parts)


def test_a_part_headed_twice_is_refused(monkeypatch):
  @dataclasses.dataclass(frozen=True)
  class OtherTC(ToyVAE):
    parts = ("total_correlation",)
    part_labels = {"total_correlation": "TC (other)"}

  monkeypatch.setattr(
    objectives, "_ENTRIES", objectives._ENTRIES + (base.Entry("other_tc", OtherTC),)
  )
  with pytest.raises(ValueError, match="'TC' and 'TC \\(other\\)'"):
    objectives.part_labels()


def test_the_classes_defaults_are_their_config_groups():
  groups = objectives.config_groups()
  assert annealed_vae.AnnealedVAE() == annealed_vae.AnnealedVAE(
    **groups["annealed_vae"]
  )
  f = groups["factor_vae"]
  assert factor_vae.FactorVAE() == factor_vae.FactorVAE(
    hidden=(f["hidden_units"],) * f["hidden_layers"],
    learning_rate=f["learning_rate"],
    adam_b1=f["adam_b1"],
    adam_b2=f["adam_b2"],
    adam_eps=f["adam_eps"],
  )
  assert factor_vae.Discriminator().hidden == factor_vae.FactorVAE().hidden
  assert objectives.make("beta_tcvae").estimator == groups["beta_tcvae"]["estimator"]
  # A default config builds each objective at those defaults.
  c = config_lib.defaults()
  for name in ("annealed_vae", "factor_vae"):
    c.objective = name
    assert objectives.from_config(c, dataset_size=100) == objectives.make(name)

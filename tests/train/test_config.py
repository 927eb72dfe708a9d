"""Every shipped sweep config loads, validates and builds its model."""

import glob
import importlib.util
import os
import re

import pytest

from lbvae import errors
from lbvae.train import config as config_lib
from lbvae.train import state as state_lib
from tests.helpers import ROOT

NOT_SWEEPS = ("bench.py", "linear.py")
SWEEPS = sorted(
  p
  for p in glob.glob(os.path.join(ROOT, "configs", "*.py"))
  if os.path.basename(p) not in NOT_SWEEPS
)


def load(path):
  spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


@pytest.mark.parametrize("path", SWEEPS, ids=[os.path.basename(p) for p in SWEEPS])
def test_sweep_config_is_valid_and_documented(path):
  config = load(path)
  config_lib.validate(config)
  model = state_lib.make_model(config, 3)
  assert model.latent_dim == config.latent_dim
  doc = open(path).read()
  assert "python -m experiments.sweep" in doc  # the docstring says how to run it


def test_paper_grids():
  main = load(os.path.join(ROOT, "configs", "paper_dsprites.py"))
  assert tuple(main.betas) == (1, 4, 8, 16, 32)
  assert tuple(main.lambdas) == (0, 2, 4, 6, 8) and main.num_seeds == 10
  assert (main.phase1_steps, main.phase2_steps, main.window) == (150_000, 50_000, 5_000)
  ext = load(os.path.join(ROOT, "configs", "paper_extended.py"))
  assert tuple(ext.betas) == (1, 2, 4, 8, 16, 32, 64, 128, 256)
  assert tuple(ext.lambdas) == (0, 4, 8, 16, 32) and ext.latent_dim == 15
  for name, dataset in (
    ("paper_shapes3d.py", "shapes3d"),
    ("paper_mpi3d.py", "mpi3d_real"),
  ):
    c = load(os.path.join(ROOT, "configs", name))
    assert c.dataset.name == dataset and c.dataset.source == "file"
    assert tuple(c.betas) == tuple(main.betas)


@pytest.mark.parametrize(
  "name",
  ["beta_vae", "beta_tcvae", "dip_vae_i", "dip_vae_ii", "annealed_vae", "factor_vae"],
)
def test_paper_grid_of_every_objective(name):
  """configs/paper_objectives.py:NAME -- the paper's protocol with disentanglement_lib's
  strengths for the objective (Locatello et al. 2019's study)."""
  spec = importlib.util.spec_from_file_location(
    "paper_objectives", os.path.join(ROOT, "configs", "paper_objectives.py")
  )
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  c = module.get_config(name)
  config_lib.validate(c)
  assert c.objective == name and len(c.betas) == 6
  assert tuple(c.lambdas) == (0, 2, 4, 6, 8) and c.num_seeds == 10
  assert (c.phase1_steps, c.phase2_steps) == (150_000, 50_000)
  want = {
    "beta_tcvae": 10.0,
    "dip_vae_i": 50.0,
    "dip_vae_ii": 50.0,
    "annealed_vae": 100.0,
    "factor_vae": 100.0,
    "beta_vae": 16.0,
  }
  assert max(c.betas) == want[name]
  assert module.get_config().objective == "beta_tcvae"
  bad = module.get_config("vae_gan")
  with pytest.raises(errors.ConfigError, match="config.objective must be one of"):
    config_lib.validate(bad)


@pytest.mark.parametrize(
  "field,value,message",
  [
    ("objective", "vae_gan", "config.objective must be one of beta_vae, beta_tcvae"),
    ("beta_tcvae.estimator", "iw", "config.beta_tcvae.estimator must be one of mws"),
    ("annealed_vae.gamma", 0.0, "config.annealed_vae.gamma must be a number > 0"),
    ("annealed_vae.anneal_steps", 0, "config.annealed_vae.anneal_steps must be an"),
    ("factor_vae.hidden_layers", 0, "config.factor_vae.hidden_layers must be an"),
    ("factor_vae.adam_b1", 1.0, "config.factor_vae.adam_b1 must be in [0, 1)"),
  ],
)
def test_objective_settings_are_checked_with_one_clear_line(field, value, message):
  c = config_lib.defaults()
  c.objective = {
    "beta_tcvae": "beta_tcvae",
    "annealed_vae": "annealed_vae",
    "factor_vae": "factor_vae",
  }.get(field.split(".")[0], "beta_vae")
  group, _, key = field.rpartition(".")
  (c[group] if group else c)[key] = value
  with pytest.raises(errors.ConfigError, match=re.escape(message)):
    config_lib.validate(c)


@pytest.mark.parametrize(
  "field,value,message",
  [
    ("seed", -1, "config.seed must be an integer in [0, 2**32), got -1"),
    ("seed", 2**32, "config.seed must be an integer in [0, 2**32)"),
    ("adam_eps", float("inf"), "config.adam_eps must be a finite number, got inf"),
    ("learning_rate", float("nan"), "config.learning_rate must be a finite number"),
    (
      "factor_vae.adam_eps",
      float("inf"),
      "config.factor_vae.adam_eps must be a finite",
    ),
    (
      "collapse.active_threshold",
      float("inf"),
      "config.collapse.active_threshold must be a finite",
    ),
    ("latent_dim", 100_000_000, "config.latent_dim must be an integer in [1, 256]"),
    ("latent_dim", 257, "config.latent_dim must be an integer in [1, 256]"),
    (
      "eval.factor_vae_votes",
      -5,
      "config.eval.factor_vae_votes must be an integer >= 0",
    ),
    (
      "eval.factor_vae_votes",
      2,
      "config.eval.factor_vae_votes must be 0 (no FactorVAE",
    ),
    ("eval.num_bins", 1, "config.eval.num_bins must be an integer >= 2"),
    ("eval.posterior_samples", -1, "config.eval.posterior_samples must be an integer"),
  ],
)
def test_values_that_used_to_pass_are_refused_in_one_line(field, value, message):
  c = config_lib.defaults()
  group, _, key = field.rpartition(".")
  (c[group] if group else c)[key] = value
  with pytest.raises(errors.ConfigError, match=re.escape(message)):
    config_lib.validate(c)


def test_latent_dim_bound_is_the_largest_model_that_builds():
  c = config_lib.defaults()
  c.latent_dim = 256
  config_lib.validate(c)
  assert state_lib.make_model(c, 1).latent_dim == 256


@pytest.mark.parametrize("arg", ["color", "noisy", "scream"])
def test_paper_grid_of_every_dsprites_variant(arg):
  """configs/paper_dsprites_variants.py:ARG -- the paper's grid on the variant."""
  spec = importlib.util.spec_from_file_location(
    "paper_dsprites_variants",
    os.path.join(ROOT, "configs", "paper_dsprites_variants.py"),
  )
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  c = module.get_config(arg)
  config_lib.validate(c)
  assert c.dataset.name == f"{arg}_dsprites" and c.dataset.source == "file"
  assert tuple(c.betas) == (1, 4, 8, 16, 32) and c.num_seeds == 10

"""The ``eval`` group (lbvae.eval_settings): defaults, one bound per field, the
cache's settings."""

import re

import pytest

from lbvae import errors
from lbvae import eval_settings as settings
from lbvae.train import config as config_lib


def test_every_field_has_one_bound_and_the_defaults_pass():
  assert set(settings.defaults()) == set(settings.LOWEST)
  c = config_lib.defaults()
  assert c.eval.to_dict() == settings.defaults().to_dict()
  settings.check(c)


@pytest.mark.parametrize("field", sorted(settings.LOWEST))
def test_below_the_bound_is_one_line_naming_it(field):
  c = config_lib.defaults()
  lo = settings.LOWEST[field]
  c.eval[field] = lo - 1
  want = f"config.eval.{field} must be an integer >= {lo}, got {lo - 1}"
  for check in (settings.check, config_lib.validate):
    with pytest.raises(errors.ConfigError, match=re.escape(want)):
      check(c)
  c.eval[field] = 3 if field == "factor_vae_votes" else lo
  config_lib.validate(c)


def test_cache_settings_are_those_old_caches_hold():
  """A cache entry stores this dict; any change would re-evaluate every model."""
  c = config_lib.defaults()
  assert settings.cache_settings(c) == {
    "num_train": 10_000,
    "num_test": 5_000,
    "num_bins": 20,
    "factor_vae_votes": 200,
    "factor_vae_batch": 64,
    "posterior_samples": 2_400,
    "dataset": "dsprites",
    "source": "procedural",
    "heldout_nll": "one reparameterised sample per image",
    "dci": "gradient-boosted trees, LightGBM",
  }
  c.eval.num_bins = 1
  with pytest.raises(errors.ConfigError, match="config.eval.num_bins"):
    settings.cache_settings(c)

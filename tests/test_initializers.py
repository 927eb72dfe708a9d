"""The VAE's initial weights against PyTorch's (the reference's) and Flax's defaults.

``torch_init_stats.npz`` holds PyTorch's per-layer statistics of the authors'
architecture (tests/fixtures/make_torch_init_fixture.py, made once with torch); the
bounds are recomputed here from PyTorch's fan-in rule on its own weight layouts.
"""

import functools
import math
import os

import jax
import numpy as np
import pytest
from scipy import stats

from lbvae import errors
from lbvae import initializers
from lbvae import models
from lbvae.released import convert
from lbvae.train import config as config_lib
from lbvae.train import state as state_lib

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "torch_init_stats.npz")
KEYS = 8

# lbvae's parameter path -> the authors' (PyTorch) module name.
TORCH_NAMES = {("encoder", f"Conv_{i}"): m for i, m in enumerate(convert.ENCODER_CONVS)}
TORCH_NAMES.update(
  {("decoder", f"ConvTranspose_{i}"): m for i, m in enumerate(convert.DECODER_DECONVS)}
)
TORCH_NAMES.update(
  {
    ("encoder", "Dense_0"): "encoder.fc1",
    ("encoder", "mu"): "encoder.fc_mu",
    ("encoder", "logvar"): "encoder.fc_logvar",
    ("decoder", "Dense_0"): "decoder.fc1",
    ("decoder", "Dense_1"): "decoder.fc2",
  }
)


def torch_bound(weight_shape) -> float:
  """PyTorch's kaiming_uniform(a=√5) bound 1/√fan_in, fan_in = dim 1 x receptive field
  (nn.init._calculate_fan_in_and_fan_out on the weight as PyTorch stores it)."""
  fan_in = weight_shape[1] * int(np.prod(weight_shape[2:]))
  return 1.0 / math.sqrt(fan_in)


@functools.lru_cache(maxsize=None)
def initial_params(channels, impl, weight_init):
  """KEYS initialisations (leading axis), as the trainer makes them."""
  model = models.VAE(10, channels, impl=impl, weight_init=weight_init)
  keys = state_lib.seed_keys(0, KEYS).init
  return jax.tree.map(np.asarray, state_lib.init_params(model, keys))


def layers(params):
  for (part, layer), name in TORCH_NAMES.items():
    yield name, params[part][layer]["kernel"], params[part][layer]["bias"]


@pytest.mark.parametrize("channels", [1, 3])
def test_torch_init_is_pytorchs_uniform_layer_by_layer(channels):
  # both impls start from the same weights (test_both_impls_start_from_the_same_weights)
  params = initial_params(channels, "reference", "torch")
  shapes = convert.torch_shapes(10, channels)
  ref = np.load(FIXTURE)
  for name, kernel, bias in layers(params):
    bound = torch_bound(shapes[f"{name}.weight"])
    for what, values in (("weight", kernel), ("bias", bias)):
      key = f"c{channels}/{name}.{what}"
      assert np.abs(values).max() <= bound, key
      # the bound is reached as closely as a uniform sample of this size reaches it
      assert np.abs(values).max() >= bound * (1 - 20 / values.size), key
      per_key = values.reshape(KEYS, -1)
      n = per_key.shape[1]
      if n > 1:
        # mean over keys of the std, against torch's: each has sd b / sqrt(15 n KEYS)
        tol = 6 * bound * math.sqrt(2 / (15 * n * KEYS))
        assert abs(per_key.std(axis=1).mean() - float(ref[f"{key}/std"])) < tol, key
        assert abs(per_key.std(axis=1).mean() - bound / math.sqrt(3)) < tol, key
      assert abs(float(ref[f"{key}/max_abs"]) - bound) < bound * 0.5, key
      if values.size >= 200:
        p = stats.kstest(values.ravel(), stats.uniform(-bound, 2 * bound).cdf).pvalue
        assert p > 1e-4, (key, p)


def test_the_output_deconvolution_is_larger_under_torch():
  """PyTorch's fan_in of a ConvTranspose2d counts its outputs: the last layer's kernel
  (1 output channel) starts ~3.3x larger than Flax's lecun_normal (512 inputs)."""
  torch_init = initial_params(1, "reference", "torch")["decoder"]["ConvTranspose_3"]
  flax_init = initial_params(1, "reference", "flax")["decoder"]["ConvTranspose_3"]
  ratio = torch_init["kernel"].std() / flax_init["kernel"].std()
  assert 3.0 < ratio < 3.6
  assert np.all(flax_init["bias"] == 0) and np.all(torch_init["bias"] != 0)


def test_flax_init_is_lecun_normal_and_zero_bias():
  params = initial_params(1, "reference", "flax")
  for name, kernel, bias in layers(params):
    fan_in = int(np.prod(kernel.shape[1:-1]))  # Flax: every axis but the output one
    std = kernel.reshape(KEYS, -1).std(axis=1).mean()
    # lecun_normal: a normal truncated at 2 sd, scaled to variance 1 / fan_in
    assert abs(std * math.sqrt(fan_in) - 1) < 0.05, name
    assert np.all(bias == 0), name


def test_both_impls_start_from_the_same_weights():
  for weight_init in initializers.INITS:
    a = initial_params(1, "reference", weight_init)
    b = initial_params(1, "subpixel", weight_init)
    jax.tree.map(np.testing.assert_array_equal, a, b)


def test_the_config_picks_the_init_and_old_configs_keep_flax():
  config = config_lib.defaults()
  assert config.model.init == "torch"
  assert state_lib.make_model(config, 1).weight_init == "torch"
  config.model.init = "flax"
  assert state_lib.make_model(config, 1).weight_init == "flax"
  old = {k: v for k, v in config.to_dict().items() if k != "model"}
  assert state_lib.make_model(old, 1).weight_init == state_lib.LEGACY_INIT == "flax"
  config.model.init = "kaiming"
  with pytest.raises(errors.ConfigError, match="config.model.init must be one of"):
    config_lib.validate(config)
  with pytest.raises(errors.ConfigError, match="config.model.init"):
    initializers.dense("kaiming", 3)

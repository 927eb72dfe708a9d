"""The VAE's initial weights: PyTorch's defaults (the reference's) or Flax's.

The paper's runs (arXiv 2602.09277, §4) initialise every layer as PyTorch does:
``kaiming_uniform(a=√5)`` for weights, i.e. U(±1/√fan_in), and biases U(±1/√fan_in)
with the same fan_in, where PyTorch's fan_in is the input features of a Linear, in·kh·kw
of a Conv2d and **out**·kh·kw of a ConvTranspose2d (its weight is [in, out, kh, kw] and
torch reads dimension 1). Flax's defaults are lecun_normal kernels and zero biases.
docs/method.md §4 says why this matters for the results.

Synopsis::

    kw = initializers.dense("torch", in_features=256)       # kernel_init, bias_init
    nn.Dense(10, **kw)
    nn.ConvTranspose(32, (4, 4), (2, 2), **initializers.conv_transpose("torch", 32))
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from lbvae import errors

INITS = ("torch", "flax")
KERNEL_TAPS = 4 * 4  # every convolution of the VAE is 4x4


def check_init(init) -> None:
  """Raises :class:`lbvae.errors.ConfigError` unless ``init`` is one of :data:`INITS`."""
  errors.require(
    init in INITS, f"config.model.init must be one of {', '.join(INITS)}, got {init!r}"
  )


def torch_uniform(fan_in: int):
  """The initialiser U(±1/√fan_in) of any shape (PyTorch's weights and biases)."""
  bound = 1.0 / math.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


def _pair(init: str, torch_fan_in: int) -> dict:
  check_init(init)
  if init == "flax":
    return {
      "kernel_init": nn.initializers.lecun_normal(),
      "bias_init": nn.initializers.zeros_init(),
    }
  uniform = torch_uniform(torch_fan_in)
  return {"kernel_init": uniform, "bias_init": uniform}


def dense(init: str, in_features: int) -> dict:
  """``kernel_init`` and ``bias_init`` of a dense layer with ``in_features`` inputs."""
  return _pair(init, in_features)


def conv(init: str, in_channels: int) -> dict:
  """``kernel_init`` and ``bias_init`` of a 4x4 convolution reading ``in_channels``."""
  return _pair(init, in_channels * KERNEL_TAPS)


def conv_transpose(init: str, out_channels: int) -> dict:
  """``kernel_init`` and ``bias_init`` of a 4x4 transposed convolution writing
  ``out_channels`` (PyTorch's fan_in of a ConvTranspose2d counts its outputs)."""
  return _pair(init, out_channels * KERNEL_TAPS)

"""The convolutional β-VAE of the disentanglement literature (arXiv 2602.09277, §4).

Synopsis::

    model = models.VAE(latent_dim=10, num_channels=1)
    params = model.init(jax.random.key(0), x, jax.random.key(1))["params"]
    logits, mu, logvar = model.apply({"params": params}, x, rng)

Architecture (input float32[B, 64, 64, C] in [0, 1]; Flax linen, docs/library.md):

* encoder: 4 x [conv 4x4, stride 2, padding 1, ReLU] with 32, 32, 64, 64 channels
  -> flatten (4*4*64) -> dense 256 + ReLU -> two dense heads (mu, logvar);
* decoder: dense 256 + ReLU -> dense 4*4*64 + ReLU -> 3 x [transposed conv 4x4,
  stride 2, padding 1, ReLU] with 64, 32, 32 channels -> transposed conv 4x4,
  stride 2, padding 1 to C channels (Bernoulli logits).

"padding 1" is PyTorch's: explicit ((1, 1), (1, 1)) for the strided convolution, and
k - 1 - p on each side, ((2, 2), (2, 2)), for ``lax.conv_transpose``: H -> 2H exactly
as ``torch.nn.ConvTranspose2d(k=4, s=2, p=1)``.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from lbvae import initializers
from lbvae import layers

ENCODER_CHANNELS = (32, 32, 64, 64)
DECODER_CHANNELS = (64, 32, 32)
HIDDEN = 256
# μ and log σ² are affine in the HIDDEN encoder units, so latents beyond HIDDEN are
# linear combinations of the others: the largest latent_dim a config may ask for.
MAX_LATENT_DIM = HIDDEN
KERNEL = (4, 4)
STRIDES = (2, 2)
CONV_PADDING = ((1, 1), (1, 1))
DECONV_PADDING = ((2, 2), (2, 2))
IMPLS = layers.IMPLS
# config.precision -> the dtype of the activations and convolutions (None: float32,
# Flax's default). Parameters, the μ / log σ² heads and the loss stay float32.
PRECISIONS = {"f32": None, "bf16": jnp.bfloat16}


def _conv_relu(features, impl, init, in_channels, index, dtype=None):
  """The encoder's layer ``index``: strided convolution, bias, ReLU."""
  kw = dict(initializers.conv(init, in_channels), dtype=dtype)
  if impl == "reference":
    conv = nn.Conv(
      features, KERNEL, STRIDES, padding=CONV_PADDING, name=f"Conv_{index}", **kw
    )
    return lambda x: nn.relu(conv(x))
  return layers.Conv4x4(features, impl, relu=True, name=f"Conv_{index}", **kw)


def _deconv(features, impl, init, index, dtype=None, relu=False):
  """The decoder's layer ``index``: transposed convolution, bias (and ReLU)."""
  kw = dict(initializers.conv_transpose(init, features), dtype=dtype)
  if impl == "reference":
    deconv = nn.ConvTranspose(
      features,
      KERNEL,
      STRIDES,
      padding=DECONV_PADDING,
      name=f"ConvTranspose_{index}",
      **kw,
    )
    return (lambda x: nn.relu(deconv(x))) if relu else deconv
  return layers.ConvTranspose4x4(
    features, impl, relu=relu, name=f"ConvTranspose_{index}", **kw
  )


def _dense(features, init, x, name=None, dtype=None):
  return nn.Dense(
    features, name=name, dtype=dtype, **initializers.dense(init, x.shape[-1])
  )


class Encoder(nn.Module):
  """q(z|x): images float32[B, 64, 64, C] -> (mu, logvar), each float32[B, L].

  ``dtype`` (None: float32) is that of the convolutions and the hidden layer; the
  heads compute μ and log σ² in float32 from them."""

  latent_dim: int = 10
  channels: Sequence[int] = ENCODER_CHANNELS
  hidden: int = HIDDEN
  impl: str = "reference"
  weight_init: str = "torch"
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    for i, c in enumerate(self.channels):
      x = _conv_relu(c, self.impl, self.weight_init, x.shape[-1], i, self.dtype)(x)
    x = x.reshape(x.shape[:-3] + (-1,))
    x = nn.relu(_dense(self.hidden, self.weight_init, x, dtype=self.dtype)(x))
    x = x.astype(jnp.float32)
    mu = _dense(self.latent_dim, self.weight_init, x, name="mu")(x)
    logvar = _dense(self.latent_dim, self.weight_init, x, name="logvar")(x)
    return mu, logvar


class Decoder(nn.Module):
  """p(x|z): latents float32[B, L] -> Bernoulli logits float32[B, 64, 64, C].

  ``dtype`` (None: float32) is that of every layer, and so of the logits."""

  num_channels: int = 1
  channels: Sequence[int] = DECODER_CHANNELS
  hidden: int = HIDDEN
  impl: str = "reference"
  weight_init: str = "torch"
  dtype: Any = None

  @nn.compact
  def __call__(self, z):
    init, dtype = self.weight_init, self.dtype
    z = nn.relu(_dense(self.hidden, init, z, dtype=dtype)(z))
    z = nn.relu(_dense(4 * 4 * self.channels[0], init, z, dtype=dtype)(z))
    z = z.reshape(z.shape[:-1] + (4, 4, self.channels[0]))
    for i, c in enumerate(self.channels):
      z = _deconv(c, self.impl, init, i, dtype, relu=True)(z)
    return _deconv(self.num_channels, self.impl, init, len(self.channels), dtype)(z)


def reparameterize(rng, mu, logvar):
  """One reparameterised sample z = mu + exp(logvar / 2) * eps, eps ~ N(0, I)."""
  eps = jax.random.normal(rng, mu.shape, mu.dtype)
  return mu + jnp.exp(0.5 * logvar) * eps


class VAE(nn.Module):
  """Encoder + decoder; ``__call__`` draws one reparameterised sample per example.

  ``impl`` picks the formulation of the (transposed) convolutions (see
  :mod:`lbvae.layers`): "reference" (``nn.Conv``/``nn.ConvTranspose``) or "subpixel" (the
  same function, faster gradients on XLA:CPU). The parameters are the same pytree
  with the same initial values for both, so checkpoints are interchangeable.
  ``weight_init`` picks the initial weights (:mod:`lbvae.initializers`): "torch", the
  reference's (PyTorch's defaults), or "flax" (lecun_normal kernels, zero biases).
  ``dtype`` (a value of :data:`PRECISIONS`; None: float32) is the dtype of the
  activations and convolutions; the parameters are float32 whatever it is, and μ and
  log σ² are computed in float32.
  """

  latent_dim: int = 10
  num_channels: int = 1
  impl: str = "reference"
  weight_init: str = "torch"
  dtype: Any = None

  def setup(self):
    self.encoder = Encoder(
      self.latent_dim, impl=self.impl, weight_init=self.weight_init, dtype=self.dtype
    )
    self.decoder = Decoder(
      self.num_channels, impl=self.impl, weight_init=self.weight_init, dtype=self.dtype
    )

  def __call__(self, x, rng):
    """Returns (logits [B, 64, 64, C] of ``dtype``, mu float32[B, L], logvar float32[B, L])."""
    mu, logvar = self.encoder(x)
    z = reparameterize(rng, mu, logvar)
    return self.decoder(z), mu, logvar

  def encode(self, x):
    return self.encoder(x)

  def decode(self, z):
    return self.decoder(z)


def activation_floats(latent_dim: int, num_channels: int) -> int:
  """Values one image's forward pass through :class:`VAE` produces: the input, every
  layer's output (before and after its ReLU), μ, log σ², z and the logits."""
  size, total = 64, 64 * 64 * num_channels
  for c in ENCODER_CHANNELS:
    size //= 2
    total += 2 * size * size * c
  total += 2 * HIDDEN + 3 * latent_dim + 2 * HIDDEN + 2 * 4 * 4 * DECODER_CHANNELS[0]
  for c in DECODER_CHANNELS + (num_channels,):
    size *= 2
    total += 2 * size * size * c
  return total


def init_params(
  rng, *, latent_dim: int = 10, num_channels: int = 1, weight_init: str = "torch"
):
  """Initial parameters of :class:`VAE` for 64x64xC images (a pytree)."""
  model = VAE(latent_dim, num_channels, weight_init=weight_init)
  x = jnp.zeros((1, 64, 64, num_channels), jnp.float32)
  return model.init(rng, x, jax.random.key(0))["params"]

"""The convolutional β-VAE (lbvae.models): size, shapes, and PyTorch's conv semantics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import flax.linen as nn

from lbvae import models


def torch_parameter_count(c, latent=10):
  """The reference PyTorch model's parameters, counted by hand (weights + biases)."""
  conv = lambda cin, cout: 4 * 4 * cin * cout + cout  # Conv2d / ConvTranspose2d k=4
  dense = lambda fin, fout: fin * fout + fout
  encoder = (
    conv(c, 32)
    + conv(32, 32)
    + conv(32, 64)
    + conv(64, 64)
    + dense(4 * 4 * 64, 256)
    + 2 * dense(256, latent)
  )
  decoder = (
    dense(latent, 256)
    + dense(256, 4 * 4 * 64)
    + conv(64, 64)
    + conv(64, 32)
    + conv(32, 32)
    + conv(32, c)
  )
  return encoder + decoder


def random_params(channels, seed=0):
  """Parameters of the right shapes (from jax.eval_shape) filled with N(0, 0.05^2)."""
  shapes = jax.eval_shape(
    lambda k: models.init_params(k, num_channels=channels), jax.random.key(0)
  )
  rng = np.random.default_rng(seed)
  return jax.tree.map(
    lambda s: jnp.asarray(0.05 * rng.normal(size=s.shape), s.dtype), shapes
  )


@pytest.mark.parametrize("channels", [1, 3])
def test_parameter_count_matches_reference(channels):
  shapes = jax.eval_shape(
    lambda k: models.init_params(k, num_channels=channels), jax.random.key(0)
  )
  count = sum(x.size for x in jax.tree.leaves(shapes))
  assert count == torch_parameter_count(channels)
  assert torch_parameter_count(1) == 764_245


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_output_shapes(channels, jit):
  model = models.VAE(latent_dim=10, num_channels=channels)
  params = random_params(channels)
  x = jax.random.uniform(jax.random.key(1), (2, 64, 64, channels))
  apply = lambda p, x, r: model.apply({"params": p}, x, r)
  apply = jax.jit(apply) if jit else apply
  logits, mu, logvar = apply(params, x, jax.random.key(2))
  assert logits.shape == (2, 64, 64, channels) and logits.dtype == jnp.float32
  assert mu.shape == (2, 10) and logvar.shape == (2, 10)
  mu2, _ = model.apply({"params": params}, x, method=models.VAE.encode)
  np.testing.assert_allclose(mu2, mu, rtol=1e-5, atol=1e-6)
  out = model.apply({"params": params}, mu, method=models.VAE.decode)
  assert out.shape == (2, 64, 64, channels)


def test_reparameterize_moments():
  mu = jnp.full((200_000, 2), 1.5)
  logvar = jnp.log(jnp.full((200_000, 2), 0.25))
  z = models.reparameterize(jax.random.key(0), mu, logvar)
  np.testing.assert_allclose(z.mean(0), 1.5, atol=0.01)
  np.testing.assert_allclose(z.std(0), 0.5, atol=0.01)


def torch_conv(x, w):
  """PyTorch Conv2d(k=4, s=2, p=1) as loops: x[H, W, I], w[4, 4, I, O] -> [H/2, W/2, O]."""
  xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
  h = x.shape[0] // 2
  out = np.zeros((h, h, w.shape[-1]))
  for i in range(h):
    for j in range(h):
      out[i, j] = np.einsum("abi,abio->o", xp[2 * i : 2 * i + 4, 2 * j : 2 * j + 4], w)
  return out


def torch_conv_transpose(x, w):
  """PyTorch ConvTranspose2d(k=4, s=2, p=1) as a scatter: x[H, W, I] -> [2H, 2W, O]."""
  h = x.shape[0]
  full = np.zeros((2 * h + 2, 2 * h + 2, w.shape[-1]))
  for i in range(h):
    for j in range(h):
      full[2 * i : 2 * i + 4, 2 * j : 2 * j + 4] += np.einsum("i,abio->abo", x[i, j], w)
  return full[1:-1, 1:-1]


def test_layers_have_pytorch_geometry():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(1, 8, 8, 3)).astype(np.float32)
  w = rng.normal(size=(4, 4, 3, 2)).astype(np.float32)
  conv = nn.Conv(
    2, models.KERNEL, models.STRIDES, padding=models.CONV_PADDING, use_bias=False
  )
  got = conv.apply({"params": {"kernel": w}}, x)[0]
  np.testing.assert_allclose(got, torch_conv(x[0], w), rtol=1e-4, atol=1e-5)
  deconv = nn.ConvTranspose(
    2, models.KERNEL, models.STRIDES, padding=models.DECONV_PADDING, use_bias=False
  )
  got = deconv.apply({"params": {"kernel": w}}, x)[0]
  assert got.shape == (16, 16, 2)
  # Flax's ConvTranspose (no kernel transpose) is PyTorch's with the kernel flipped
  # in space: the same function family, the same output geometry.
  np.testing.assert_allclose(
    got, torch_conv_transpose(x[0], w[::-1, ::-1]), rtol=1e-4, atol=1e-5
  )

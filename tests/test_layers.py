"""The sub-pixel (transposed) convolutions equal the reference ones: values and gradients.

Every formulation in lbvae.layers must compute the same function as flax.linen.Conv /
ConvTranspose with the same parameters, so a model can switch ``impl`` freely and
checkpoints stay interchangeable. Checked forward and backward (w.r.t. inputs and
kernels), jitted and not, alone and vmapped over a grid of models, and for the whole
VAE's loss gradient.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import layers
from lbvae import losses
from lbvae import models

FNS = {"down": layers.conv_down, "up": layers.conv_up}
# (H, I, O) covering every branch of the sub-pixel path: "up" forward by overlap-add (O < 8)
# and by sub-pixel convolution (O >= 8); kernel gradients by one stacked matrix product
# and by four separate ones (few input channels: 4I < O for down, 4O < I for up).
SHAPES = [(8, 3, 5), (8, 16, 1), (4, 2, 8), (16, 1, 4), (8, 1, 9)]


def _close(got, want, rtol=2e-5):
  got, want = np.asarray(got), np.asarray(want)
  assert got.shape == want.shape
  scale = max(float(np.max(np.abs(want))), 1.0)
  np.testing.assert_allclose(got, want, rtol=0, atol=rtol * scale)


def _data(shape, seed=0, grid=None):
  h, i, o = shape
  rng = np.random.default_rng(seed)
  lead = () if grid is None else (grid,)
  x = jnp.asarray(rng.normal(size=lead + (2, h, h, i)), jnp.float32)
  k = jnp.asarray(rng.normal(size=lead + (4, 4, i, o)), jnp.float32)
  return x, k


@pytest.mark.parametrize("kind", ["down", "up"])
@pytest.mark.parametrize("shape,jit", [(s, True) for s in SHAPES] + [(SHAPES[0], False)])
def test_subpixel_equals_reference_value_and_gradients(kind, shape, jit):
  fn = FNS[kind]
  x, k = _data(shape)

  def loss(x, k, impl):  # a nonlinear loss, so the cotangent is not trivial
    return jnp.sum(jnp.sin(fn(x, k, impl)))

  grad = jax.grad(loss, argnums=(0, 1))
  value = fn
  if jit:
    grad = jax.jit(grad, static_argnums=2)
    value = jax.jit(fn, static_argnums=2)
  _close(value(x, k, "subpixel"), value(x, k, "reference"))
  for got, want in zip(grad(x, k, "subpixel"), grad(x, k, "reference")):
    _close(got, want)


@pytest.mark.parametrize("kind", ["down", "up"])
@pytest.mark.parametrize("axes,backend", [((0, 0), "cpu"), ((0, None), "cpu"),
                                          ((None, 0), "cpu"), ((0, 0), "gpu")])
def test_vmapped_over_a_grid(kind, axes, backend, monkeypatch):
  """Grid of 3 models: per-member inputs and kernels, a shared kernel, shared inputs.

  The vmap rule loops over members on CPU and keeps the default batching elsewhere;
  "gpu" runs the latter here by making the rule believe it is traced for a GPU.
  """
  monkeypatch.setattr(layers.jax, "default_backend", lambda: backend)
  fn = FNS[kind]
  for shape in [(4, 3, 9), (8, 4, 1)]:
    xg, kg = _data(shape, seed=1, grid=3)
    x = xg if axes[0] == 0 else xg[0]
    k = kg if axes[1] == 0 else kg[0]

    def loss(x, k, impl):
      y = jax.vmap(lambda a, b: fn(a, b, impl), axes)(x, k)
      return jnp.sum(jnp.sin(y)), y

    grad = jax.jit(jax.grad(loss, argnums=(0, 1), has_aux=True), static_argnums=2)
    (gx, gk), y = grad(x, k, "subpixel")
    (rx, rk), ry = grad(x, k, "reference")
    _close(y, ry)
    _close(gx, rx)
    _close(gk, rk)


@pytest.mark.parametrize("shape", SHAPES)
def test_reference_layers_are_flax_layers(shape):
  x, k = _data(shape, seed=2)
  conv = nn.Conv(k.shape[-1], (4, 4), (2, 2), padding=((1, 1), (1, 1)), use_bias=False)
  _close(layers.conv_down(x, k), conv.apply({"params": {"kernel": k}}, x))
  deconv = nn.ConvTranspose(k.shape[-1], (4, 4), (2, 2), padding=((2, 2), (2, 2)),
                            use_bias=False)
  _close(layers.conv_up(x, k), deconv.apply({"params": {"kernel": k}}, x))
  assert layers.conv_up(x, k).shape[1] == 2 * shape[0]


def test_modules_match_flax_modules_including_init():
  x = jnp.ones((1, 8, 8, 3))
  key = jax.random.key(3)
  pairs = [(layers.Conv4x4(5, "subpixel"),
            nn.Conv(5, (4, 4), (2, 2), padding=((1, 1), (1, 1)))),
           (layers.ConvTranspose4x4(5, "subpixel"),
            nn.ConvTranspose(5, (4, 4), (2, 2), padding=((2, 2), (2, 2))))]
  for ours, theirs in pairs:
    p_ours, p_theirs = ours.init(key, x), theirs.init(key, x)
    jax.tree.map(np.testing.assert_array_equal, p_ours, p_theirs)
    p = jax.tree.map(lambda a: a + 0.1, p_theirs)  # a non-zero bias too
    _close(ours.apply(p, x), theirs.apply(p, x))


def test_vae_impls_share_parameters_and_compute_the_same_loss_gradient():
  ref, fast = models.VAE(impl="reference"), models.VAE(impl="subpixel")
  x = (jax.random.uniform(jax.random.key(4), (2, 64, 64, 1)) < 0.5).astype(jnp.float32)
  rng = jax.random.key(5)
  params = ref.init(jax.random.key(6), x, rng)["params"]
  params_fast = fast.init(jax.random.key(6), x, rng)["params"]
  jax.tree.map(np.testing.assert_array_equal, params, params_fast)

  def loss(p, model):
    logits, mu, logvar = model.apply({"params": p}, x, rng)
    return losses.lambda_beta_loss(logits, x, mu, logvar, beta=4.0, lam=0.0)[0]

  grad = jax.jit(jax.value_and_grad(loss), static_argnums=1)
  (lr, gr), (lf, gf) = grad(params, ref), grad(params, fast)
  _close(lf, lr)
  jax.tree.map(_close, gf, gr)


def test_helpers_and_errors():
  x, k = _data((8, 3, 5))
  np.testing.assert_array_equal(layers.flip_t(layers.flip_t(k)), k)
  np.testing.assert_array_equal(layers.depth_to_space(layers.space_to_depth(x)), x)
  with pytest.raises(ValueError, match="impl"):
    layers.conv_down(x, k, "torch")


@pytest.mark.parametrize("kind", ["down", "up"])
def test_subpixel_gradients_have_no_input_dilated_convolution(kind):
  """The point of the sub-pixel layers: no convolution over a zero-dilated input (slow on XLA:CPU)."""
  fn = FNS[kind]
  x, k = _data((8, 3, 9))

  def convolutions(impl):
    grad = jax.jit(jax.grad(lambda x, k: jnp.sum(fn(x, k, impl) ** 2), argnums=(0, 1)))
    text = grad.lower(x, k).as_text()
    return [line for line in text.splitlines() if "stablehlo.convolution" in line]

  assert any("lhs_dilate = [2, 2]" in c for c in convolutions("reference"))
  fast = convolutions("subpixel")
  assert fast and not any("lhs_dilate = [2, 2]" in c for c in fast)

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


def _lower_for(platform, monkeypatch):
  """Makes the layers' ``lax.platform_dependent`` choices those of ``platform``.

  "cpu" is what runs here anyway; "accelerator" runs the branches a GPU or TPU
  program holds (``default=``) on this CPU, so their numbers can be checked here.
  """
  if platform == "accelerator":
    monkeypatch.setattr(
      layers.lax, "platform_dependent", lambda *args, cpu, default: default(*args)
    )


@pytest.mark.parametrize("kind", ["down", "up"])
@pytest.mark.parametrize("platform", ["cpu", "accelerator"])
@pytest.mark.parametrize(
  "shape,jit", [(s, True) for s in SHAPES] + [(SHAPES[0], False)]
)
def test_subpixel_equals_reference_value_and_gradients(
  kind, platform, shape, jit, monkeypatch
):
  _lower_for(platform, monkeypatch)
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
@pytest.mark.parametrize(
  "axes,platform",
  [
    ((0, 0), "cpu"),
    ((0, None), "cpu"),
    ((None, 0), "cpu"),
    ((0, 0), "accelerator"),
    ((0, None), "accelerator"),
    ((None, 0), "accelerator"),
  ],
)
def test_vmapped_over_a_grid(kind, axes, platform, monkeypatch):
  """Grid of 3 models: per-member inputs and kernels, a shared kernel, shared inputs.

  The vmap rule loops over members on CPU and keeps JAX's batching of the
  accelerator's convolutions elsewhere (run here by :func:`_lower_for`).
  """
  _lower_for(platform, monkeypatch)
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


@pytest.mark.parametrize("kind", ["down", "up"])
@pytest.mark.parametrize("platform", ["cpu", "accelerator"])
@pytest.mark.parametrize("axes", [None, (0, 0, 0), (0, None, None)])
def test_conv_relu_equals_reference(kind, platform, axes, monkeypatch):
  """``conv_down_relu`` / ``conv_up_relu`` (the encoder's and decoder's layers:
  convolution, bias, ReLU; on an accelerator the mask comes from the output, and the
  encoder's is one fused call over the grid) against the reference composition: values
  and the gradients of input, kernel and bias, one model or a grid of 3 (per-member or
  shared parameters), with one and with several input channels."""
  _lower_for(platform, monkeypatch)
  conv_relu = {"down": layers.conv_down_relu, "up": layers.conv_up_relu}[kind]
  for shape in [(8, 1, 9), (4, 3, 8)]:
    x, k = _data(shape, seed=3, grid=None if axes is None else 3)
    b = jnp.asarray(
      np.random.default_rng(4).normal(size=k.shape[:-4] + k.shape[-1:]), jnp.float32
    )
    if axes is not None and axes[1] is None:
      k, b = k[0], b[0]

    def loss(x, k, b, impl):
      fn = lambda x, k, b: conv_relu(x, k, b, impl)
      y = fn(x, k, b) if axes is None else jax.vmap(fn, axes)(x, k, b)
      return jnp.sum(jnp.sin(y)), y

    grad = jax.jit(jax.grad(loss, argnums=(0, 1, 2), has_aux=True), static_argnums=3)
    (gx, gk, gb), y = grad(x, k, b, "subpixel")
    (rx, rk, rb), ry = grad(x, k, b, "reference")
    assert float(jnp.mean(ry > 0)) > 0.2 and float(jnp.mean(ry == 0)) > 0.2
    for got, want in [(y, ry), (gx, rx), (gk, rk), (gb, rb)]:
      _close(got, want)


def test_accelerator_grid_runs_convolution_bias_and_relu_in_one_layout(monkeypatch):
  """What lets XLA fuse them into one cuDNN call: a grid's forward is one grouped
  convolution (a single input channel padded to two), the bias and the ReLU on its
  [B, H, W, G O] output, and the backward pass's mask reads the ReLU's output through
  an optimisation barrier."""
  _lower_for("accelerator", monkeypatch)
  grid = 3
  x, k = _data((8, 1, 4), grid=grid)
  b = jnp.zeros((grid, 4))
  loss = lambda x, k, b: jnp.sum(
    jax.vmap(lambda x, k, b: layers.conv_down_relu(x, k, b, "subpixel"))(x, k, b) ** 2
  )
  text = jax.jit(jax.grad(loss, argnums=(1, 2))).lower(x, k, b).as_text()
  forward = [
    line
    for line in text.splitlines()
    if "stablehlo.convolution" in line and f"feature_group_count = {grid}" in line
  ]
  assert (
    len(forward) == 1 and "(tensor<2x8x8x6xf32>, tensor<4x4x2x12xf32>)" in forward[0]
  )
  assert "stablehlo.optimization_barrier" in text


@pytest.mark.parametrize("kind", ["down", "up"])
def test_accelerator_bf16_layers_mask_the_cotangent_in_float32(kind, monkeypatch):
  """At bf16 the backward pass of a layer with its ReLU masks the cotangent in float32,
  sums that for the bias and rounds the masked cotangent back to bf16 (exactly): XLA
  then fuses the sum with the mask's pass, also where the mask reads the cotangent
  through depth-to-space."""
  _lower_for("accelerator", monkeypatch)
  conv_relu = {"down": layers.conv_down_relu, "up": layers.conv_up_relu}[kind]
  x, k = (a.astype(jnp.bfloat16) for a in _data((8, 3, 4), grid=3))
  b = jnp.zeros((3, 4), jnp.bfloat16)
  loss = lambda x, k, b: jnp.sum(
    jax.vmap(lambda x, k, b: conv_relu(x, k, b, "subpixel"))(x, k, b).astype(
      jnp.float32
    )
    ** 2
  )
  text = jax.jit(jax.grad(loss, argnums=2)).lower(x, k, b).as_text()
  selects = [line for line in text.splitlines() if "stablehlo.select" in line]
  assert selects and all("xf32>" in line and "xbf16>" not in line for line in selects)


@pytest.mark.parametrize("shape", SHAPES)
def test_reference_layers_are_flax_layers(shape):
  x, k = _data(shape, seed=2)
  conv = nn.Conv(k.shape[-1], (4, 4), (2, 2), padding=((1, 1), (1, 1)), use_bias=False)
  _close(layers.conv_down(x, k), conv.apply({"params": {"kernel": k}}, x))
  deconv = nn.ConvTranspose(
    k.shape[-1], (4, 4), (2, 2), padding=((2, 2), (2, 2)), use_bias=False
  )
  _close(layers.conv_up(x, k), deconv.apply({"params": {"kernel": k}}, x))
  assert layers.conv_up(x, k).shape[1] == 2 * shape[0]


def test_modules_match_flax_modules_including_init():
  x = jnp.ones((1, 8, 8, 3))
  key = jax.random.key(3)
  pairs = [
    (
      layers.Conv4x4(5, "subpixel"),
      nn.Conv(5, (4, 4), (2, 2), padding=((1, 1), (1, 1))),
    ),
    (
      layers.ConvTranspose4x4(5, "subpixel"),
      nn.ConvTranspose(5, (4, 4), (2, 2), padding=((2, 2), (2, 2))),
    ),
  ]
  for ours, theirs in pairs:
    p_ours, p_theirs = ours.init(key, x), theirs.init(key, x)
    jax.tree.map(np.testing.assert_array_equal, p_ours, p_theirs)
    p = jax.tree.map(lambda a: a + 0.1, p_theirs)  # a non-zero bias too
    _close(ours.apply(p, x), theirs.apply(p, x))


@pytest.mark.parametrize("platform", ["cpu", "accelerator"])
def test_vae_impls_share_parameters_and_compute_the_same_loss_gradient(
  platform, monkeypatch
):
  _lower_for(platform, monkeypatch)
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


def _cosine(a, b):
  a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
  return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("channels", [3, 1])
def test_bf16_layers_keep_float32_weights_and_stay_close_to_float32(
  channels, monkeypatch
):
  """config.precision="bf16": float32 parameters, bf16 activations; a down and an up
  layer's value and gradients within bfloat16's 8-bit mantissa of float32's (the
  sub-pixel layers as an accelerator runs them: bf16 is for accelerators; the
  encoder's layer with its ReLU, one input channel given its zero companion)."""
  impl = "subpixel"
  _lower_for("accelerator", monkeypatch)  # what a bf16 run runs
  x = jnp.asarray(
    np.random.default_rng(10).normal(size=(2, 8, 8, channels)), jnp.float32
  )

  def net(dtype):
    return nn.Sequential(
      [
        layers.Conv4x4(16, impl, relu=True, dtype=dtype),
        layers.ConvTranspose4x4(3, impl, dtype=dtype),
      ]
    )

  params = net(None).init(jax.random.key(11), x)
  jax.tree.map(
    np.testing.assert_array_equal, net(jnp.bfloat16).init(jax.random.key(11), x), params
  )  # the same float32 parameters

  def loss(p, dtype):
    y = net(dtype).apply(p, x)
    return jnp.sum(jnp.sin(y.astype(jnp.float32))), y

  grad = jax.jit(jax.grad(loss, has_aux=True), static_argnums=1)
  (g32, y32), (g16, y16) = grad(params, None), grad(params, jnp.bfloat16)
  assert y32.dtype == jnp.float32 and y16.dtype == jnp.bfloat16
  assert _cosine(y16, y32) > 0.999
  for a, b in zip(jax.tree.leaves(g16), jax.tree.leaves(g32)):
    assert a.dtype == jnp.float32 and _cosine(a, b) > 0.999


def test_bf16_vae_computes_mu_logvar_and_gradients_in_float32():
  """The VAE at bf16 (shapes and dtypes only: nothing compiled): float32 parameters, μ,
  log σ² and parameter gradients; bf16 logits, which the loss reads in float32."""
  model = models.VAE(impl="subpixel", dtype=jnp.bfloat16)
  x = jax.ShapeDtypeStruct((2, 64, 64, 1), jnp.float32)
  rng = jax.random.key(8)
  params = jax.eval_shape(model.init, jax.random.key(9), x, rng)["params"]
  assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(params))
  logits, mu, logvar = jax.eval_shape(
    lambda p, x: model.apply({"params": p}, x, rng), params, x
  )
  assert (logits.dtype, mu.dtype, logvar.dtype) == (
    jnp.bfloat16,
    jnp.float32,
    jnp.float32,
  )
  grads = jax.eval_shape(
    jax.grad(
      lambda p, x: jnp.sum(model.apply({"params": p}, x, rng)[0].astype(jnp.float32))
    ),
    params,
    x,
  )
  assert all(g.dtype == jnp.float32 for g in jax.tree.leaves(grads))


def test_helpers_and_errors():
  x, k = _data((8, 3, 5))
  np.testing.assert_array_equal(layers.flip_t(layers.flip_t(k)), k)
  np.testing.assert_array_equal(layers.depth_to_space(layers.space_to_depth(x)), x)
  with pytest.raises(ValueError, match="impl"):
    layers.conv_down(x, k, "torch")


@pytest.mark.parametrize("kind", ["down", "up"])
@pytest.mark.parametrize("platform", ["cpu", "accelerator"])
def test_subpixel_gradients_have_no_input_dilated_convolution(
  kind, platform, monkeypatch
):
  """The point of the sub-pixel layers: no convolution over a zero-dilated input (slow
  on XLA:CPU, and bytes and multiplications by zero on an accelerator)."""
  _lower_for(platform, monkeypatch)
  fn = FNS[kind]
  x, k = _data((8, 3, 9))

  def convolutions(impl):
    grad = jax.jit(jax.grad(lambda x, k: jnp.sum(fn(x, k, impl) ** 2), argnums=(0, 1)))
    text = grad.lower(x, k).as_text()
    return [line for line in text.splitlines() if "stablehlo.convolution" in line]

  assert any("lhs_dilate = [2, 2]" in c for c in convolutions("reference"))
  fast = convolutions("subpixel")
  assert fast and not any("lhs_dilate = [2, 2]" in c for c in fast)


@pytest.mark.parametrize("kind", ["down", "up"])
def test_accelerator_grid_takes_kernel_gradients_in_the_grouped_layout(
  kind, monkeypatch
):
  """A grid's kernel gradients on an accelerator: one convolution with the grid as
  ``batch_group_count`` over the members' channels (what cuDNN's backward-filter
  kernel reads as the forward convolutions wrote it), not JAX's batching of the
  one-model form, which feature-groups the grid next to the batch axis."""
  _lower_for("accelerator", monkeypatch)
  fn, grid = FNS[kind], 3
  x, k = _data((8, 4, 8), grid=grid)
  loss = lambda x, k: jnp.sum(jax.vmap(lambda a, b: fn(a, b, "subpixel"))(x, k) ** 2)
  text = jax.jit(jax.grad(loss, argnums=1)).lower(x, k).as_text()
  convolutions = [line for line in text.splitlines() if "stablehlo.convolution" in line]
  grouped = [c for c in convolutions if f"batch_group_count = {grid}" in c]
  assert len(grouped) == 1 and "[f, 0, 1, b]x[i, 0, 1, o]->[0, 1, b, f]" in grouped[0]

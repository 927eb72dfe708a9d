"""The VAE's strided 4x4 convolutions in two exactly equivalent forms (arXiv 2602.09277, §4).

Synopsis::

    y = layers.conv_down(x, kernel)              # == nn.Conv(k=4, s=2, padding 1), no bias
    y = layers.conv_up(x, kernel)                # == nn.ConvTranspose(k=4, s=2, pad 2)
    y = layers.conv_up(x, kernel, "subpixel")    # the same function, faster gradients on CPU
    y = layers.conv_down_relu(x, kernel, bias, "subpixel")  # relu(conv_down(...) + bias)
    conv = layers.Conv4x4(32, impl="subpixel")   # same parameters as nn.Conv / ConvTranspose

``impl="reference"`` is what ``flax.linen.Conv``/``ConvTranspose`` compute;
``impl="subpixel"`` computes the same function and states every gradient with
``jax.custom_vjp`` (so ``jax.grad``/``jax.vjp`` work, ``jax.jvp`` does not), tied by
identities that tests/test_layers.py checks (``flip_t(k)`` flips a kernel spatially and
swaps its in/out axes)::

    d down(x, k)/dx . g = up(g, flip_t(k))      d up(x, k)/dx . g = down(g, flip_t(k))
    d down(x, k)/dk . g = dkernel(x, g)         d up(x, k)/dk . g = flip_t(dkernel(g, x))

NHWC float32, HWIO kernels, one model; a grid vmaps outside. Speed: docs/performance.md.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from lbvae import grid_layout

IMPLS = ("reference", "subpixel")
_DN = ("NHWC", "HWIO", "NHWC")


def flip_t(kernel):
  """float32[4, 4, I, O] -> float32[4, 4, O, I]: spatial flip and in/out swap."""
  return jnp.swapaxes(kernel[::-1, ::-1], -1, -2)


def _pad1(x):
  return jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))


def space_to_depth(x):
  """float32[B, 2h, 2w, C] -> float32[B, h, w, 4C], channels ordered (row, col, c)."""
  b, h, w, c = x.shape
  x = x.reshape(b, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, h // 2, w // 2, 4 * c)


def depth_to_space(x):
  """float32[B, h, w, 4C] -> float32[B, 2h, 2w, C]; inverse of :func:`space_to_depth`."""
  b, h, w, c4 = x.shape
  x = x.reshape(b, h, w, 2, 2, c4 // 4).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, 2 * h, 2 * w, c4 // 4)


def _grid_batched(fn, fold: bool = True):
  """``fn(x, k)`` with a vmap rule for a grid of models.

  ``fold`` (convolutions only): a shared k folds members into the batch, a shared x
  into the output channels. Otherwise one call per member in a program compiled for
  CPU, else JAX's default batching: ``lax.platform_dependent`` picks when the program
  is lowered for its devices, so an accelerator's program traced on a CPU host
  batches as it would on the accelerator.
  """
  wrapped = jax.custom_batching.custom_vmap(fn)

  @wrapped.def_vmap
  def _rule(axis_size, in_batched, x, k):
    x_batched, k_batched = in_batched
    if fold and not k_batched:
      y = wrapped(x.reshape((-1,) + x.shape[2:]), k)
      return y.reshape((axis_size, x.shape[1]) + y.shape[1:]), True
    if fold and not x_batched:
      y = wrapped(x, jnp.moveaxis(k, 0, -2).reshape(k.shape[1:-1] + (-1,)))
      return jnp.moveaxis(y.reshape(y.shape[:-1] + (axis_size, -1)), -2, 0), True

    def per_member(x, k):
      return jnp.stack(
        [
          wrapped(x[g] if x_batched else x, k[g] if k_batched else k)
          for g in range(axis_size)
        ]
      )

    def batched(x, k):
      return jax.vmap(fn, (0 if x_batched else None, 0 if k_batched else None))(x, k)

    return lax.platform_dependent(x, k, cpu=per_member, default=batched), True

  return wrapped


# Reference formulations (exactly what flax.linen.Conv / ConvTranspose compute).


def down_reference(x, kernel):
  """Strided conv: float32[B, H, W, I], float32[4, 4, I, O] -> float32[B, H/2, W/2, O]."""
  return lax.conv_general_dilated(
    x, kernel, (2, 2), ((1, 1), (1, 1)), dimension_numbers=_DN
  )


def up_reference(x, kernel):
  """Transposed conv: float32[B, H, W, I], float32[4, 4, I, O] -> float32[B, 2H, 2W, O]."""
  return lax.conv_transpose(x, kernel, (2, 2), ((2, 2), (2, 2)), dimension_numbers=_DN)


# The sub-pixel formulation.

_down_conv = _grid_batched(down_reference)
_conv2x2 = _grid_batched(
  functools.partial(
    lax.conv_general_dilated,
    window_strides=(1, 1),
    padding="VALID",
    dimension_numbers=_DN,
  )
)


def _subpixel_kernel(kernel):
  """float32[4, 4, I, O] -> float32[2, 2, I, 4O]; tap q of phase r' = kernel[2q + 1 - r']."""
  i, o = kernel.shape[-2:]
  k = kernel.reshape(2, 2, 2, 2, i, o)[:, ::-1, :, ::-1]  # (qh, r'h, qw, r'w, i, o)
  return k.transpose(0, 2, 4, 1, 3, 5).reshape(2, 2, i, 4 * o)


def _up_subpixel(x, kernel):
  """``up_reference`` as a 2x2 stride-1 convolution + depth-to-space + crop.

  Output pixel o = 2m + r of the transposed convolution reads input pixels m - 1 + r + q,
  q in {0, 1}, through kernel taps 2q + r. On the grid shifted by one output pixel,
  o + 1 = 2m' + r', every phase r' reads x_pad[m' + q] through tap 2q + 1 - r', so all
  four phases are one 2x2 convolution z of the 1-padded input to 4 * O channels.
  """
  z = _conv2x2(_pad1(x), _subpixel_kernel(kernel))
  return depth_to_space(z)[:, 1:-1, 1:-1, :]


def _up_col2im(x, kernel):
  """``up_reference`` for few output channels: per-pixel products, then overlap-add.

  The same z as :func:`_up_subpixel`, z[m'] = sum_q x[m' + q - 1] k'[q], computed as one
  matrix product y_q = x k'[q] (N = 16 O columns instead of a 4 O-channel convolution,
  which XLA:CPU runs slowly) followed by four shifted additions.
  """
  b, h, w, i = x.shape
  k = _subpixel_kernel(kernel)
  o4 = k.shape[-1]
  y = jnp.dot(x.reshape(-1, i), k.transpose(2, 0, 1, 3).reshape(i, 4 * o4))
  y = y.reshape(b, h, w, 2, 2, o4)
  z = sum(
    jnp.pad(y[:, :, :, qh, qw], ((0, 0), (1 - qh, qh), (1 - qw, qw), (0, 0)))
    for qh in range(2)
    for qw in range(2)
  )
  return depth_to_space(z)[:, 1:-1, 1:-1, :]


def _up_host(x, kernel):
  # Measured on XLA:CPU (docs/performance.md): the convolution wins from 8 output
  # channels up, the overlap-add below (the decoder's last layer, 1 or 3 channels).
  if kernel.shape[-1] < 8:
    return _up_col2im(x, kernel)
  return _up_subpixel(x, kernel)


_conv2x2_padded = _grid_batched(
  functools.partial(
    lax.conv_general_dilated,
    window_strides=(1, 1),
    padding=((1, 1), (1, 1)),
    dimension_numbers=_DN,
  )
)


def up_accelerator(x, kernel):
  """:func:`_up_subpixel` with the input's zero border in the convolution's padding.

  What an accelerator runs for every width: one stride-1 convolution of the input
  as it is (no zero-dilated copy, no padded copy), then depth-to-space and the crop,
  which XLA fuses with the bias and the ReLU that follow.
  """
  z = _conv2x2_padded(x, _subpixel_kernel(kernel))
  return depth_to_space(z)[:, 1:-1, 1:-1, :]


def _up_forward(x, kernel):
  return lax.platform_dependent(x, kernel, cpu=_up_host, default=up_accelerator)


def _dkernel_gemm(x, g):
  """The kernel gradient of ``down`` as one matrix product over space-to-depth slices.

  With xs = space_to_depth(pad(x)) (channels (rh, rw, i)), kernel tap 2q + r pairs
  xs[m + q] with g[m], q, r in {0, 1}^2. Stacking the four copies of g placed at
  offset q in a zero border, gq[m + q] = g[m], every tap comes out of one product
  xs^T gq over batch x space: [4I, 4O] with rows (rh, rw, i) and columns (qh, qw, o).
  The zero border adds a factor (h + 1)(w + 1) / (h w) of work.
  """
  i, o = x.shape[-1], g.shape[-1]
  xs = space_to_depth(_pad1(x)).reshape(-1, 4 * i)  # [B (h+1) (w+1), 4I]
  gq = jnp.concatenate(
    [
      jnp.pad(g, ((0, 0), (qh, 1 - qh), (qw, 1 - qw), (0, 0)))
      for qh in range(2)
      for qw in range(2)
    ],
    axis=-1,
  )
  k = jnp.dot(xs.T, gq.reshape(-1, 4 * o)).reshape(2, 2, i, 2, 2, o)
  return k.transpose(3, 0, 4, 1, 2, 5).reshape(4, 4, i, o)  # (qh, rh, qw, rw, i, o)


def _dkernel_taps(x, g):
  """The kernel gradient of ``down`` as four matrix products (inputs with few channels).

  The same taps as :func:`_dkernel_gemm`, one product per q between the slice
  xs[q : q + h] and g: with 4I much smaller than O the stacked form would quadruple
  the large operand for a narrow product.
  """
  i, o = x.shape[-1], g.shape[-1]
  h, w = g.shape[1:3]
  xs = space_to_depth(_pad1(x))  # [B, h + 1, w + 1, 4I], channels (rh, rw, i)
  taps = [
    jnp.dot(xs[:, qh : qh + h, qw : qw + w, :].reshape(-1, 4 * i).T, g.reshape(-1, o))
    for qh in range(2)
    for qw in range(2)
  ]
  k = jnp.stack(taps).reshape(2, 2, 2, 2, i, o)  # (qh, qw, rh, rw, i, o)
  return k.transpose(0, 2, 1, 3, 4, 5).reshape(4, 4, i, o)


_dkernel_gemm_grid = _grid_batched(_dkernel_gemm, fold=False)
_dkernel_taps_grid = _grid_batched(_dkernel_taps, fold=False)


def _dkernel(x, g):
  """Kernel gradient of ``down``: dL/dk for input x and output cotangent g.

  Args:
    x: float32[B, H, W, I], the input of the strided convolution.
    g: float32[B, H/2, W/2, O], the cotangent of its output.

  Returns:
    float32[4, 4, I, O], sum over b, m, n of x_pad[b, 2m + kh, 2n + kw] g[b, m, n].
  """
  return lax.platform_dependent(
    x, g, cpu=_dkernel_host, default=grid_layout.dkernel_grid
  )


def _dkernel_host(x, g):
  # Measured on XLA:CPU (docs/performance.md): one stacked product wins except for
  # inputs with very few channels (the images, the decoder's output), where four
  # separate ones do.
  if 4 * x.shape[-1] < g.shape[-1]:
    return _dkernel_taps_grid(x, g)
  return _dkernel_gemm_grid(x, g)


@jax.custom_vjp
def _down_vjp(x, kernel):
  return _down_conv(x, kernel)


def _down_fwd(x, kernel):
  return _down_conv(x, kernel), (x, kernel)


def _down_bwd(res, g):
  x, kernel = res
  return _up_vjp(g, flip_t(kernel)), _dkernel(x, g)


_down_vjp.defvjp(_down_fwd, _down_bwd)


@jax.custom_vjp
def _up_vjp(x, kernel):
  return _up_forward(x, kernel)


def _up_fwd(x, kernel):
  return _up_forward(x, kernel), (x, kernel)


def _up_bwd(res, g):
  x, kernel = res
  return _down_vjp(g, flip_t(kernel)), flip_t(_dkernel(g, x))


_up_vjp.defvjp(_up_fwd, _up_bwd)


# The layers with their bias and ReLU, as an accelerator runs them.


def _relu_mask(res, g):
  """The cotangent of a layer's pre-activation from its ReLU's output y (y > 0
  exactly where the pre-activation is), and that of its bias.

  The mask is applied to g in float32, which the bias's float32 sum reads and the
  cotangent is rounded back from (exact: bf16 -> float32 -> bf16): at bf16, XLA then
  fuses the sum with the mask's pass even where the mask reads g through
  depth-to-space (the encoder's), which it does not for a sum of the bf16 cotangent
  (docs/performance.md, "The grid step's layout"). A no-op at float32.
  """
  x, kernel, y = res
  g32 = jnp.where(y > 0, g.astype(jnp.float32), 0.0)
  return x, kernel, g32.astype(g.dtype), jnp.sum(g32, axis=(0, 1, 2)).astype(g.dtype)


def _with_mask_from_output(layer, conv_grads):
  """``layer(x, kernel, bias)`` = relu(convolution + bias), whose backward pass takes
  its ReLU mask and bias gradient from the layer's output (:func:`_relu_mask`), not
  from the convolution's: the encoder's fused call never writes that, the decoder's is
  a sub-pixel output read through depth-to-space. ``conv_grads(x, kernel, g)``: the
  convolution's input and kernel cotangents for its output cotangent g."""
  wrapped = jax.custom_vjp(layer)

  def forward(x, kernel, bias):
    y = layer(x, kernel, bias)
    # The barrier keeps XLA from rewriting the mask y > 0 as a test of the
    # convolution's output, which would then have to be written for the backward pass.
    return y, (x, kernel, lax.optimization_barrier(y))

  def backward(res, g):
    x, kernel, g, dbias = _relu_mask(res, g)
    return (*conv_grads(x, kernel, g), dbias)

  wrapped.defvjp(forward, backward)
  return wrapped


def _down_grads(x, kernel, g):
  return _up_vjp(g, flip_t(kernel)), _dkernel(x, g)


def _up_grads(x, kernel, g):
  return _down_vjp(g, flip_t(kernel)), flip_t(_dkernel(g, x))


def _up_bias_relu(x, kernel, bias):
  return jax.nn.relu(up_accelerator(x, kernel) + bias)


_down_bias_relu_vjp = _with_mask_from_output(
  grid_layout.down_bias_relu_grid, _down_grads
)
_up_bias_relu_vjp = _with_mask_from_output(_up_bias_relu, _up_grads)


def _down_bias_relu_host(x, kernel, bias):
  return jax.nn.relu(_down_vjp(x, kernel) + bias)


def _up_bias_relu_host(x, kernel, bias):
  return jax.nn.relu(_up_vjp(x, kernel) + bias)


def _check_impl(impl):
  if impl not in IMPLS:
    raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")


def conv_down(x, kernel, impl: str = "reference"):
  """4x4 stride-2 convolution with padding 1 (PyTorch sense), no bias.

  Args:
    x: float32[B, H, W, I] with H, W even.
    kernel: float32[4, 4, I, O] (HWIO, as ``nn.Conv``).
    impl: "reference" (``lax.conv_general_dilated``) or "subpixel" (same function).

  Returns:
    float32[B, H/2, W/2, O].
  """
  _check_impl(impl)
  return down_reference(x, kernel) if impl == "reference" else _down_vjp(x, kernel)


def conv_down_relu(x, kernel, bias, impl: str = "reference"):
  """``relu(conv_down(x, kernel, impl) + bias)``, the same function.

  The sub-pixel impl on an accelerator computes it as one convolution with its bias
  and ReLU (:mod:`lbvae.grid_layout`), its gradient from the ReLU's output; on
  XLA:CPU it is the composition, as JAX differentiates it.

  Args:
    x: float32[B, H, W, I] with H, W even.
    kernel: float32[4, 4, I, O].
    bias: float32[O].
    impl: "reference" or "subpixel".

  Returns:
    float32[B, H/2, W/2, O], non-negative.
  """
  _check_impl(impl)
  if impl == "reference":
    return jax.nn.relu(down_reference(x, kernel) + bias)
  return lax.platform_dependent(
    x, kernel, bias, cpu=_down_bias_relu_host, default=_down_bias_relu_vjp
  )


def conv_up(x, kernel, impl: str = "reference"):
  """4x4 stride-2 transposed convolution, H -> 2H (PyTorch padding 1), no bias.

  Args:
    x: float32[B, H, W, I].
    kernel: float32[4, 4, I, O] (HWIO, as ``nn.ConvTranspose``, not flipped).
    impl: "reference" (``lax.conv_transpose``) or "subpixel" (same function).

  Returns:
    float32[B, 2H, 2W, O].
  """
  _check_impl(impl)
  return up_reference(x, kernel) if impl == "reference" else _up_vjp(x, kernel)


def conv_up_relu(x, kernel, bias, impl: str = "reference"):
  """``relu(conv_up(x, kernel, impl) + bias)``, the same function (the decoder's
  layers; on an accelerator its gradient reads the ReLU's output,
  :func:`_with_mask_from_output`).

  Args:
    x: float32[B, H, W, I].
    kernel: float32[4, 4, I, O] (as ``nn.ConvTranspose``).
    bias: float32[O].
    impl: "reference" or "subpixel".

  Returns:
    float32[B, 2H, 2W, O], non-negative.
  """
  _check_impl(impl)
  if impl == "reference":
    return jax.nn.relu(up_reference(x, kernel) + bias)
  return lax.platform_dependent(
    x, kernel, bias, cpu=_up_bias_relu_host, default=_up_bias_relu_vjp
  )


class _Conv4x4Base(nn.Module):
  """Parameters kernel float32[4, 4, I, O] and bias float32[O], named and initialised
  as nn.Conv / nn.ConvTranspose given the same ``kernel_init`` and ``bias_init``
  (Flax's defaults unless given), so the pytree and its initial values are theirs
  and checkpoints are interchangeable between impls. ``dtype`` (None: float32), as
  Flax's ``dtype``: the input, kernel and bias are cast to it, and so is the output."""

  features: int
  impl: str = "reference"
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros_init()
  dtype: Any = None

  def _params(self, x):
    kernel = self.param(
      "kernel", self.kernel_init, (4, 4, x.shape[-1], self.features), jnp.float32
    )
    bias = self.param("bias", self.bias_init, (self.features,), jnp.float32)
    return nn.dtypes.promote_dtype(x, kernel, bias, dtype=self.dtype)


class Conv4x4(_Conv4x4Base):
  """``nn.Conv(features, (4, 4), (2, 2), padding=((1, 1), (1, 1)))``, any impl;
  ``relu``: followed by ``nn.relu`` (:func:`conv_down_relu`)."""

  relu: bool = False

  @nn.compact
  def __call__(self, x):
    """float32[B, H, W, I] -> float32[B, H/2, W/2, features]."""
    x, kernel, bias = self._params(x)
    if self.relu:
      return conv_down_relu(x, kernel, bias, self.impl)
    return conv_down(x, kernel, self.impl) + bias


class ConvTranspose4x4(_Conv4x4Base):
  """``nn.ConvTranspose(features, (4, 4), (2, 2), padding=((2, 2), (2, 2)))``;
  ``relu``: followed by ``nn.relu`` (:func:`conv_up_relu`)."""

  relu: bool = False

  @nn.compact
  def __call__(self, x):
    """float32[B, H, W, I] -> float32[B, 2H, 2W, features]."""
    x, kernel, bias = self._params(x)
    if self.relu:
      return conv_up_relu(x, kernel, bias, self.impl)
    return conv_up(x, kernel, self.impl) + bias

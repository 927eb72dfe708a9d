"""A grid of models in the grouped convolutions' layout, as an accelerator runs it.

Synopsis::

    dk = grid_layout.dkernel_grid(x, g)                    # one model's kernel gradient
    dk = jax.vmap(grid_layout.dkernel_grid)(xs, gs)        # a grid's, in one convolution
    y = jax.vmap(grid_layout.down_bias_relu_grid)(xs, ks, bs)   # relu(conv + bias), one call

A vmapped grid of G models runs each convolution of :mod:`lbvae.layers` as one grouped
convolution whose activations hold the members in their channels, [B, H, W, G C]
(member-major). The functions here keep every operand of a grid's convolutions in that
layout, so XLA reads the activations as the previous convolution wrote them: JAX's
batching of the one-model forms puts the grid elsewhere for the kernel gradient and
leaves the bias and ReLU outside the convolution. What each saves on an H100:
docs/performance.md ("The grid step's layout"). Every function is the same function
as its one-model form (tests/test_layers.py); the vmap rules only pick the layout.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

_DN = ("NHWC", "HWIO", "NHWC")
_DKERNEL_DN = ("CHWN", "IHWO", "HWNC")


def fold(x):
  """[G, B, H, W, C] -> [B, H, W, G C], member-major channels (a grid's kernels
  [G, 4, 4, I, O] -> [4, 4, I, G O] alike)."""
  return jnp.moveaxis(x, 0, 3).reshape(x.shape[1:4] + (-1,))


def unfold(y, grid: int):
  """[B, H, W, G C] -> [G, B, H, W, C]; inverse of :func:`fold` (kernels alike)."""
  return jnp.moveaxis(y.reshape(y.shape[:3] + (grid, -1)), 3, 0)


def dkernel(x, g):
  """The kernel gradient of the strided 4x4 convolution as one convolution.

  dk[kh, kw, i, o] = sum over b, m, n of x_pad[b, 2m + kh, 2n + kw, i] g[b, m, n, o]:
  x convolved with g as the kernel (batch and feature axes of x swapped, g's taps
  spaced by the stride), as autodiff states it. XLA maps it onto the device's
  convolution kernels (cuDNN, the TPU's convolution unit).

  Args:
    x: float32[B, H, W, I], the convolution's input.
    g: float32[B, H/2, W/2, O], the cotangent of its output.

  Returns:
    float32[4, 4, I, O].
  """
  return lax.conv_general_dilated(
    x, g, (1, 1), ((1, 1), (1, 1)), rhs_dilation=(2, 2), dimension_numbers=_DKERNEL_DN
  )


def dkernel_grouped(x, g):
  """:func:`dkernel` of a grid of G models in one convolution.

  x float32[G, B, H, W, I] and g float32[G, B, H/2, W/2, O] enter folded,
  [B, H, W, G I] and [B, H/2, W/2, G O], and ``batch_group_count=G`` pairs member j's
  I input channels with its O output channels: cuDNN's backward-filter kernel reads
  the activations as they are. JAX's batching of :func:`dkernel` instead puts the
  grid next to the batch axis, the contracted one, and XLA transposes both operands
  of every layer into that layout.
  Returns float32[G, 4, 4, I, O].
  """
  grid = x.shape[0]
  k = lax.conv_general_dilated(
    fold(x),
    fold(g),
    (1, 1),
    ((1, 1), (1, 1)),
    rhs_dilation=(2, 2),
    batch_group_count=grid,
    dimension_numbers=_DKERNEL_DN,
  )
  return unfold(k, grid)


def _with_grid_form(one, grouped):
  """``one`` (a one-model function) whose vmap over a grid whose every argument is
  per member is ``grouped``, the same function of the whole grid; JAX's batching of
  ``one`` where an argument is shared."""
  wrapped = jax.custom_batching.custom_vmap(one)

  @wrapped.def_vmap
  def _rule(axis_size, in_batched, *args):
    del axis_size
    if all(in_batched):
      return grouped(*args), True
    axes = tuple(0 if b else None for b in in_batched)
    return jax.vmap(one, axes)(*args), True

  return wrapped


dkernel_grid = _with_grid_form(dkernel, dkernel_grouped)


def _down(x, kernel, groups=1):
  return lax.conv_general_dilated(
    x,
    kernel,
    (2, 2),
    ((1, 1), (1, 1)),
    dimension_numbers=_DN,
    feature_group_count=groups,
  )


def down_bias_relu(x, kernel, bias):
  """relu(strided 4x4 convolution (padding 1) + bias), one model: float32[B, H, W, I],
  float32[4, 4, I, O], float32[O] -> float32[B, H/2, W/2, O]."""
  return jax.nn.relu(_down(x, kernel) + bias)


def down_bias_relu_grouped(x, kernel, bias):
  """:func:`down_bias_relu` of a grid of G models: [G, B, H, W, I], [G, 4, 4, I, O],
  [G, O] -> [G, B, H/2, W/2, O].

  Folded, XLA makes convolution, bias and ReLU one cuDNN call that writes only the
  activation (``__cudnn$convBiasActivationForward``), where JAX's batching of the
  one-model form leaves the convolution's output to a separate kernel. XLA declines
  that call for one input channel per member (the dSprites images), so a single
  channel gets a zero companion, with zero weights.
  """
  grid = x.shape[0]
  if x.shape[-1] == 1:
    x = jnp.pad(x, ((0, 0),) * 4 + ((0, 1),))
    kernel = jnp.pad(kernel, ((0, 0),) * 3 + ((0, 1), (0, 0)))
  kernel = fold(kernel)
  y = _down(fold(x), kernel, grid)
  return unfold(jax.nn.relu(y + bias.reshape(-1)), grid)


down_bias_relu_grid = _with_grid_form(down_bias_relu, down_bias_relu_grouped)

"""Datasets rendered on demand by a pure, jit-able function of the factors.

A :class:`ProceduralDataset` wraps a renderer ``render(factors: int32[N, F]) ->
uint8[N, 64, 64, C]`` written in ``jax.numpy``. The same renderer serves two paths:

* inside a compiled train step, :meth:`ProceduralDataset.render_index` turns a
  traced batch of grid indices into images, so no image ever exists on the host;
* on the host, :meth:`ProceduralDataset.images` renders in fixed-size jit-ed chunks
  (one compilation, whatever N; the last chunk is padded) for evaluation and
  figures.

The two built-in renderers are :mod:`lbvae.data.dsprites` and :mod:`lbvae.data.scenes`.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lbvae.data import factor_grid

Renderer = Callable[[jnp.ndarray], jnp.ndarray]


class ProceduralDataset(factor_grid.FactorGrid):
  """A factor grid whose images come from a pure jnp renderer.

  Args:
    name: registry name, e.g. ``"dsprites"``.
    factor_names: one name per factor, in grid order.
    factor_sizes: values per factor, in grid order.
    num_channels: channels of the rendered images.
    render: pure function int32[N, F] -> uint8[N, 64, 64, C].
    chunk_size: images per jit-ed call in :meth:`images`.
  """

  def __init__(
    self,
    name: str,
    factor_names: Sequence[str],
    factor_sizes: Sequence[int],
    num_channels: int,
    render: Renderer,
    chunk_size: int = 1024,
  ):
    super().__init__(name, factor_names, factor_sizes, num_channels, "procedural")
    self.render = render
    self.chunk_size = int(chunk_size)
    self._render_jit = jax.jit(render)

  def render_index(self, index: jnp.ndarray) -> jnp.ndarray:
    """Traceable: grid indices int32[...] -> images uint8[..., 64, 64, C]."""
    index = jnp.asarray(index, jnp.int32)
    factors = self.index_to_factors_jnp(index.reshape(-1))
    return self.render(factors).reshape(index.shape + self.image_shape)

  def images(self, factors) -> np.ndarray:
    """Renders grid points on the default device in jit-ed chunks.

    Args:
      factors: int[N, F] factor classes.

    Returns:
      uint8[N, 64, 64, C] host array.
    """
    factors = self._check_factors(factors).astype(np.int32)
    num = factors.shape[0]
    chunk = self.chunk_size  # one fixed shape: one compilation, whatever N
    out = np.empty((num,) + self.image_shape, np.uint8)
    for start in range(0, num, chunk):
      part = factors[start : start + chunk]
      pad = chunk - part.shape[0]
      if pad:
        part = np.concatenate([part, np.zeros((pad, part.shape[1]), np.int32)])
      rendered = np.asarray(self._render_jit(part))
      out[start : start + chunk] = rendered[: chunk - pad]
    return out


@functools.lru_cache(maxsize=None)
def pixel_grid(supersample: int) -> tuple[np.ndarray, np.ndarray]:
  """Sample-point coordinates of a 64x64 frame, in frame units [0, 1].

  Args:
    supersample: samples per pixel along each axis.

  Returns:
    (cols, rows): float32[64 * s, 64 * s] each; ``cols`` grows to the right and
    ``rows`` grows downwards, both at sample centres.
  """
  n = factor_grid.IMAGE_SIZE * supersample
  axis = (np.arange(n, dtype=np.float32) + 0.5) / n
  rows, cols = np.meshgrid(axis, axis, indexing="ij")
  return cols, rows


def downsample_mean(samples: jnp.ndarray, supersample: int) -> jnp.ndarray:
  """Box-filters supersampled images: float[N, 64 s, 64 s, C] -> float[N, 64, 64, C]."""
  if supersample == 1:
    return samples
  n, h, w, c = samples.shape
  s = supersample
  return samples.reshape(n, h // s, s, w // s, s, c).mean(axis=(2, 4))

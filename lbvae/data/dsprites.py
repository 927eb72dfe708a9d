"""Procedural dSprites: the published factor grid, rasterised on demand in JAX.

dSprites (Matthey, Higgins, Hassabis, Lerchner, 2017; github.com/deepmind/dsprites-dataset)
is 737 280 binary 64x64 images of a white sprite on black, one per point of the grid
shape 3 (square, ellipse, heart) x scale 6 (0.5 ... 1.0) x orientation 40 over
[0, 2 pi) x position_x 32 x position_y 32 (0 ... 1), row-major in that order (as in the
published ``.npz``). Rendered here so the pipeline runs with no download; images are
uint8 0/255. Geometry (the 64-pixel frame is [0, 1]^2, x right, y down;
docs/datasets.md):

* centre ``c = 0.2 + 0.6 * position`` per axis (pixel centres 12.8 to 51.2);
* sprite frame ``p = R(-theta) (u - c) / (scale * h)``, ``h = 0.11``: scaled and rotated
  (clockwise on screen) about its centre;
* square ``max(|px|, |py|) <= 1``; ellipse ``px^2 + (py / 0.5)^2 <= 1`` (long axis
  along x at theta = 0); heart ``(a^2 + b^2 - 1)^3 <= a^2 b^3`` with
  ``(a, b) = 1.15 (px, 0.11 - py)`` (point down at theta = 0);
* a pixel is lit when its centre is inside (crisp edges, like the original); the
  largest sprite always fits. The square repeats every 10 orientation steps, the
  ellipse every 20; the heart has no rotational symmetry.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lbvae.data import procedural

FACTOR_NAMES = ("shape", "scale", "orientation", "position_x", "position_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPES = ("square", "ellipse", "heart")

SCALES = np.linspace(0.5, 1.0, 6, dtype=np.float32)
ORIENTATIONS = np.linspace(0.0, 2 * np.pi, 40, endpoint=False).astype(np.float32)
POSITIONS = np.linspace(0.0, 1.0, 32, dtype=np.float32)

CENTRE_MIN = 0.2
CENTRE_SPAN = 0.6
HALF_SIZE = 0.11
ELLIPSE_ASPECT = 0.5
SUPERSAMPLE = 1


def _inside(shape: jnp.ndarray, px: jnp.ndarray, py: jnp.ndarray) -> jnp.ndarray:
  """Inside test of the three sprites in their own frame.

  Args:
    shape: int32[N, 1, 1] shape class.
    px, py: float32[N, H, W] sample coordinates in the sprite's frame.

  Returns:
    bool[N, H, W].
  """
  square = jnp.maximum(jnp.abs(px), jnp.abs(py)) <= 1.0
  ellipse = px * px + (py / ELLIPSE_ASPECT) ** 2 <= 1.0
  a = 1.15 * px
  b = 1.15 * (0.11 - py)
  r = a * a + b * b - 1.0
  heart = r * r * r <= a * a * b * b * b
  return jnp.where(shape == 0, square, jnp.where(shape == 1, ellipse, heart))


def render(factors: jnp.ndarray) -> jnp.ndarray:
  """Rasterises dSprites images from factor classes (pure, jit- and vmap-able).

  Args:
    factors: int32[N, 5] classes of (shape, scale, orientation, position_x,
      position_y).

  Returns:
    uint8[N, 64, 64, 1] with values 0 (background) and 255 (sprite).
  """
  factors = jnp.asarray(factors, jnp.int32)
  shape = factors[:, 0, None, None]
  scale = jnp.asarray(SCALES)[factors[:, 1]][:, None, None]
  theta = jnp.asarray(ORIENTATIONS)[factors[:, 2]][:, None, None]
  cx = CENTRE_MIN + CENTRE_SPAN * jnp.asarray(POSITIONS)[factors[:, 3]]
  cy = CENTRE_MIN + CENTRE_SPAN * jnp.asarray(POSITIONS)[factors[:, 4]]
  cols, rows = procedural.pixel_grid(SUPERSAMPLE)
  dx = jnp.asarray(cols)[None] - cx[:, None, None]
  dy = jnp.asarray(rows)[None] - cy[:, None, None]
  cos, sin = jnp.cos(theta), jnp.sin(theta)
  size = scale * HALF_SIZE
  px = (cos * dx + sin * dy) / size
  py = (-sin * dx + cos * dy) / size
  inside = _inside(shape, px, py).astype(jnp.float32)[..., None]
  coverage = procedural.downsample_mean(inside, SUPERSAMPLE)
  return jnp.where(coverage >= 0.5, 255, 0).astype(jnp.uint8)


def load() -> procedural.ProceduralDataset:
  """The procedural dSprites dataset (737 280 images, rendered on demand)."""
  return procedural.ProceduralDataset(
    "dsprites", FACTOR_NAMES, FACTOR_SIZES, num_channels=1, render=render
  )

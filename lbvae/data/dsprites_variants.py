"""color-, noisy- and scream-dSprites, as disentanglement_lib builds them from dSprites.

Locatello et al. (2019) report on three variants of dSprites whose observations are
random given the factors (disentanglement_lib, ``data/ground_truth/dsprites.py``);
the factors are dSprites' five (shape 3, scale 6, orientation 40, position x 32,
position y 32), the images 64x64x3:

* ``color_dsprites``: the white sprite painted in a colour drawn uniformly from
  [0.5, 1] per channel, on black;
* ``noisy_dsprites``: the sprite white, every background pixel and channel uniform
  noise in [0, 1];
* ``scream_dsprites``: a random 64x64 patch of "The Scream" (the image fitted into
  350x274 with PIL's ``thumbnail``), averaged with a colour uniform in [0, 1]^3, and
  its colours inverted (1 - v) where the sprite is. The painting comes from the
  file ``config.dataset.background``; without one the patches come from
  :func:`procedural_background`, a smooth texture of ours -- not the literature's
  variant, and the run log and the report say so.

A fresh draw every time an image is drawn, as there: the colour, noise or patch of
each image in a batch of indices ``int[..., B]`` comes from a key folded from a hash of
that row of B indices, so a training batch gets new ones at every step, the same on
the device and on the host, and the evaluation's samples the same on every run. The
pixels are made in integers (uint8 levels: the colour 128 + a 7-bit draw, the noise an
8-bit draw, the average rounded up), so every backend makes the same bytes.

Synopsis::

  ds = dsprites_variants.load("color_dsprites", base)         # base: any dSprites
  images = ds.images_at(np.arange(16))                          # uint8[16, 64, 64, 3]
"""

from __future__ import annotations

import functools
import logging

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from lbvae import errors
from lbvae.data import factor_grid

KINDS = {
  "color_dsprites": "color",
  "noisy_dsprites": "noisy",
  "scream_dsprites": "scream",
}
SCREAM_BOX = (350, 274)  # (width, height) the painting is fitted into
PATCH = factor_grid.IMAGE_SIZE
_STREAM = 0x766172  # "var": the variants' draws
_CHUNK = 1024  # images per host call of the transform
NOT_LITERATURE = (
  "scream_dsprites without a Scream image (config.dataset.background): "
  "the background patches come from lbvae's procedural texture, so "
  "this is not the literature's scream-dSprites"
)


def procedural_background(seed: int = 0) -> np.ndarray:
  """A smooth colour texture of the painting's size: uint8[274, 350, 3]."""
  rng = np.random.default_rng(seed)
  rows, cols = np.mgrid[0 : SCREAM_BOX[1], 0 : SCREAM_BOX[0]].astype(np.float64)
  out = np.zeros(rows.shape + (3,))
  for c in range(3):
    for _ in range(4):
      fy, fx = rng.uniform(0.005, 0.05, 2)
      out[..., c] += np.sin(
        fy * rows * 2 * np.pi + fx * cols * 2 * np.pi + rng.uniform(0, 2 * np.pi)
      )
  out = (out - out.min()) / (out.max() - out.min())
  return np.round(255 * out).astype(np.uint8)


def read_background(path: str) -> np.ndarray:
  """The painting, fitted into 350x274 as disentanglement_lib does: uint8[H, W, 3]."""
  try:
    with Image.open(path) as image:
      image = image.convert("RGB")
      image.thumbnail(SCREAM_BOX)
      pixels = np.asarray(image)
  except (OSError, SyntaxError, ValueError) as e:
    raise errors.DataError(
      f"{path}: not a readable image for the scream-dSprites background ({e})"
    ) from e
  errors.require(
    min(pixels.shape[:2]) > PATCH,
    f"{path}: the background fitted into "
    f"350x274 is {pixels.shape[1]}x{pixels.shape[0]}; a {PATCH}x{PATCH} "
    "patch needs more than that",
    errors.DataError,
  )
  return pixels


def _row_keys(index: jnp.ndarray) -> jnp.ndarray:
  """One key per row of ``index`` int[..., B] (the shape without B)."""
  b = index.shape[-1]
  weights = (2 * jnp.arange(b, dtype=jnp.uint32) + 1) * jnp.uint32(0x9E3779B1)
  h = jnp.sum(index.astype(jnp.uint32) * weights, axis=-1, dtype=jnp.uint32)
  base = jax.random.key(_STREAM)
  flat = jax.vmap(lambda x: jax.random.fold_in(base, x))(h.reshape(-1))
  return flat.reshape(h.shape)


def _bits(index: jnp.ndarray, per_image: tuple[int, ...]) -> jnp.ndarray:
  """uint32[..., B, *per_image] draws for the images of ``index`` int[..., B]."""
  keys = _row_keys(index).reshape(-1)
  b = index.shape[-1]
  bits = jax.vmap(lambda k: jax.random.bits(k, (b,) + per_image, jnp.uint32))(keys)
  return bits.reshape(index.shape + per_image)


def transform(
  sprites: jnp.ndarray, index: jnp.ndarray, background, *, kind: str
) -> jnp.ndarray:
  """A variant's images from dSprites images (pure, jit-able).

  Args:
    sprites: uint8[..., B, 64, 64, 1], 0 or 255.
    index: int[..., B], the images' dataset indices (they key the draws).
    background: uint8[H, W, 3] (``scream`` only; else ignored).
    kind: ``"color"``, ``"noisy"`` or ``"scream"``.

  Returns:
    uint8[..., B, 64, 64, 3].
  """
  on = sprites > 127  # [..., 64, 64, 1]
  if kind == "color":
    colour = 128 + (_bits(index, (3,)) >> 25)  # 128..255
    return jnp.where(on, colour[..., None, None, :], 0).astype(jnp.uint8)
  if kind == "noisy":
    noise = _bits(index, (PATCH, PATCH, 3)) >> 24  # 0..255
    return jnp.where(on, 255, noise).astype(jnp.uint8)
  draws = _bits(index, (5,))
  background = jnp.asarray(background)
  rows, cols = background.shape[0] - PATCH, background.shape[1] - PATCH
  top, left = draws[..., 0] % rows, draws[..., 1] % cols
  colour = (draws[..., 2:] >> 24).astype(jnp.int32)  # 0..255

  def patch(t, l):
    return jax.lax.dynamic_slice(background, (t, l, 0), (PATCH, PATCH, 3))

  flat = jax.vmap(patch)(
    top.reshape(-1).astype(jnp.int32), left.reshape(-1).astype(jnp.int32)
  )
  patches = flat.reshape(index.shape + (PATCH, PATCH, 3)).astype(jnp.int32)
  mixed = (patches + colour[..., None, None, :] + 1) // 2
  return jnp.where(on, 255 - mixed, mixed).astype(jnp.uint8)


class DspritesVariant(factor_grid.FactorGrid):
  """A dSprites variant over any dSprites (procedural, file or TFDS).

  Args:
    name: a key of :data:`KINDS`.
    base: the dSprites dataset whose sprites are transformed.
    background: uint8[H, W, 3] for ``scream_dsprites`` (None: the procedural
      texture, with a note).
  """

  def __init__(
    self, name: str, base: factor_grid.FactorGrid, background: np.ndarray | None = None
  ):
    super().__init__(name, base.factor_names, base.factor_sizes, 3, base.source)
    self.base = base
    self.kind = KINDS[name]
    self.notes = tuple(base.notes)
    if base.source == "procedural":
      self.notes += (
        f"{name} over lbvae's procedural rendering of dSprites, not the "
        "published dSprites file (dataset.source=file)",
      )
    if self.kind == "scream" and background is None:
      background = procedural_background()
      self.notes += (NOT_LITERATURE,)
      logging.warning("lbvae: %s", NOT_LITERATURE)
    self.background = (
      None if self.kind != "scream" else np.asarray(background, np.uint8)
    )
    self._transform = jax.jit(functools.partial(transform, kind=self.kind))

  def apply(self, sprites, index) -> np.ndarray:
    """The host path of :func:`transform` (the same compiled function)."""
    return np.asarray(
      self._transform(sprites, np.asarray(index, np.int32), self.background)
    )

  def images_at(self, index) -> np.ndarray:
    """Images of dataset indices int[N]: uint8[N, 64, 64, 3] (the draws keyed by
    rows of up to 1024 consecutive indices)."""
    index = np.asarray(index, np.int64).reshape(-1)
    out = np.empty((index.size,) + self.image_shape, np.uint8)
    for start in range(0, index.size, _CHUNK):
      part = index[start : start + _CHUNK]
      out[start : start + part.size] = self.apply(
        self.base.images_at(part)[None], part[None]
      )[0]
    return out

  def images(self, factors) -> np.ndarray:
    """Images of grid points int[N, F]: uint8[N, 64, 64, 3]."""
    return self.images_at(self.factors_to_index(factors))


def load(
  name: str, base: factor_grid.FactorGrid, background_path: str | None = None
) -> DspritesVariant:
  """The variant ``name`` over ``base``; ``background_path``: the Scream image."""
  background = read_background(background_path) if background_path else None
  return DspritesVariant(name, base, background)

"""Images of another size or channel count, brought once to the model's 64x64xC.

The convolutional VAE of arXiv 2602.09277 (§4) reads 64x64 images with 1 or 3
channels. Data of another size is resized once, on load, into the uint8 cache of
:mod:`lbvae.data.cache`, as disentanglement_lib does for SmallNORB (96x96) and
Cars3D (128x128): PIL's Lanczos filter (its former ``ANTIALIAS``) on the uint8
image. A non-square image is resized to 64x64 (its aspect ratio is not kept).

Synopsis::

  small = to_64(images)              # uint8[N, H, W, C] -> uint8[N, 64, 64, C]
  note = resize_note(4000, [(32, 32)])  # the run log's line
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from lbvae.data import factor_grid

SIZE = factor_grid.IMAGE_SIZE


def to_64(images: np.ndarray) -> np.ndarray:
  """Resizes uint8[N, H, W, C] (C = 1 or 3) to uint8[N, 64, 64, C] with Lanczos.

  Images already 64x64 are returned as they are.
  """
  images = np.asarray(images)
  if images.shape[1:3] == (SIZE, SIZE):
    return images
  out = np.empty((images.shape[0], SIZE, SIZE, images.shape[3]), np.uint8)
  for k, image in enumerate(images):
    pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    out[k] = np.asarray(pil.resize((SIZE, SIZE), Image.Resampling.LANCZOS)).reshape(
      out.shape[1:]
    )
  return out


def resize_note(num: int, sizes) -> str:
  """The line saying that ``num`` images of ``sizes`` ((H, W) pairs) were resized."""
  sizes = sorted(set(tuple(int(v) for v in hw) for hw in sizes))
  what = (
    f"{sizes[0][0]}x{sizes[0][1]}"
    if len(sizes) == 1
    else f"{len(sizes)} sizes ({sizes[0][0]}x{sizes[0][1]} ...)"
  )
  return f"{num} images of {what} resized once, on load, to {SIZE}x{SIZE} (Lanczos)"

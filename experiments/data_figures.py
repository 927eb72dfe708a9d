r"""Sample grids of the procedural datasets, for the README.

Usage::

  python -m experiments.data_figures [--out_dir=docs/figures] [--seed=0]

Writes ``dsprites_procedural.png`` and ``shapes3d_procedural.png``: 8 x 8 random
grid points of each dataset (seeded), each image upscaled 2x, separated by grey
lines. Takes a few seconds on a CPU.
"""

from __future__ import annotations

import os

from absl import flags
import numpy as np

from lbvae import cli
import lbvae.data as data

_OUT = flags.DEFINE_string("out_dir", "docs/figures", "where to write the PNGs")
_SEED = flags.DEFINE_integer("seed", 0, "seed of the sampled grid points")
_SIDE = 8
_ZOOM = 2
_GAP = 2


def sample_grid(ds: data.FactorGrid, rng: np.random.Generator) -> np.ndarray:
  """Tiles 8 x 8 random images of ``ds``: uint8[H, W, 3]."""
  images = ds.images(ds.sample_factors(_SIDE * _SIDE, rng))
  images = np.repeat(np.repeat(images, _ZOOM, axis=1), _ZOOM, axis=2)
  if images.shape[-1] == 1:
    images = np.repeat(images, 3, axis=-1)
  size = images.shape[1]
  step = size + _GAP
  canvas = np.full((_SIDE * step + _GAP,) * 2 + (3,), 128, np.uint8)
  for k, image in enumerate(images):
    r, c = divmod(k, _SIDE)
    canvas[
      _GAP + r * step : _GAP + r * step + size, _GAP + c * step : _GAP + c * step + size
    ] = image
  return canvas


def main(argv) -> None:
  del argv
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  os.makedirs(_OUT.value, exist_ok=True)
  for name, file in (
    ("dsprites", "dsprites_procedural.png"),
    ("shapes3d_procedural", "shapes3d_procedural.png"),
  ):
    path = os.path.join(_OUT.value, file)
    plt.imsave(path, sample_grid(data.load(name), np.random.default_rng(_SEED.value)))
    print(f"wrote {path}")


if __name__ == "__main__":
  cli.run(main)

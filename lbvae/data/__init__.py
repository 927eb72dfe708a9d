"""Ground-truth-factor image datasets for the lambda-beta-VAE experiments.

The image experiments of arXiv 2602.09277 (§4; docs/method.md) train on dSprites,
Shapes3D and MPI3D. Every dataset here is a full grid of discrete factors with one
64x64 uint8 image per grid point, behind one interface
(:class:`lbvae.data.factor_grid.FactorGrid`): ``dsprites`` (procedural, file, tfds;
737 280 x 64x64x1), ``shapes3d`` (file, tfds; 480 000 x 64x64x3),
``mpi3d_{real,toy,realistic}`` (file; 1 036 800 x 64x64x3) and ``shapes3d_procedural``
(procedural; 480 000 x 64x64x3). Binary images (dSprites) are 0/255 in every source,
so ``x.astype(float32) / 255`` is the Bernoulli target in [0, 1] for all datasets.
docs/datasets.md says where to get each file. Synopsis::

  import lbvae.data as data
  ds = data.load("dsprites")                          # procedural: no download
  ds = data.load("shapes3d", source="file", path="3dshapes.h5")
  src = data.batch_source(ds)                         # device gather or host stream
  images = src.gather(src.operand, index)             # inside jit: uint8[B, 64, 64, C]
"""

from __future__ import annotations

from lbvae import errors
from lbvae.data import dsprites
from lbvae.data import scenes
from lbvae.data.arrays import ArrayDataset
from lbvae.data.factor_grid import FactorGrid
from lbvae.data.batching import BatchSource
from lbvae.data.batching import batch_source
from lbvae.data.procedural import ProceduralDataset

SOURCES = ("procedural", "file", "tfds")

# Which sources serve which dataset.
DATASETS = {
    "dsprites": ("procedural", "file", "tfds"),
    "shapes3d": ("file", "tfds"),
    "mpi3d_real": ("file",),
    "mpi3d_toy": ("file",),
    "mpi3d_realistic": ("file",),
    "shapes3d_procedural": ("procedural",),
}


def load(name: str, source: str = "procedural", path: str | None = None) -> FactorGrid:
  """Opens a dataset.

  Args:
    name: one of :data:`DATASETS`.
    source: ``"procedural"`` (rendered on demand), ``"file"`` (``path`` = the
      original distribution file) or ``"tfds"`` (``path`` = a TFDS data_dir holding
      a prepared ``dsprites`` / ``shapes3d``).
    path: the file or data_dir; none (empty) for a procedural source.

  Returns:
    The dataset (a :class:`ProceduralDataset` or an :class:`ArrayDataset`).

  Raises:
    lbvae.errors.Error: unknown name or source, a source the dataset does not
      have, a missing path (or a path given to a procedural source, which would be
      ignored), or a file that is missing or not what was expected.
  """
  errors.require(name in DATASETS,
              f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
  errors.require(source in SOURCES,
              f"unknown dataset source {source!r}; choose one of {', '.join(SOURCES)}")
  errors.require(source in DATASETS[name],
              f"dataset {name!r} has no {source!r} source; it has: "
              f"{', '.join(DATASETS[name])}")
  if source == "procedural":
    others = [s for s in DATASETS[name] if s != "procedural"]
    use = (f"set dataset.source={' or '.join(others)} to read it" if others else
           f"{name!r} has no source that reads one")
    errors.require(not path, f"dataset.path={path} is given, but dataset.source "
                   f"'procedural' reads no file (it renders the images): {use}, or "
                   "leave dataset.path empty")
    return dsprites.load() if name == "dsprites" else scenes.load()
  errors.require(bool(path), f"dataset.path is required for {name!r} from source "
              f"{source!r} ({'the original file' if source == 'file' else 'the TFDS data_dir'})")
  if source == "file":
    from lbvae.data import originals  # pylint: disable=g-import-not-at-top
    return originals.load(name, str(path))
  from lbvae.data import tfds_source  # pylint: disable=g-import-not-at-top
  return tfds_source.load(name, str(path))


__all__ = [
    "ArrayDataset", "BatchSource", "DATASETS", "FactorGrid", "ProceduralDataset",
    "SOURCES", "batch_source", "load",
]

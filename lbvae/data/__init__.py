"""Image datasets for the lambda-beta-VAE experiments, with or without factors.

The image experiments of arXiv 2602.09277 (§4; docs/method.md) train on dSprites,
Shapes3D and MPI3D: each a full grid of discrete factors with one 64x64 uint8 image
per grid point, behind one interface (:class:`lbvae.data.factor_grid.FactorGrid`):
``dsprites`` (procedural, file, tfds; 737 280 x 64x64x1), ``shapes3d`` (file, tfds;
480 000 x 64x64x3), ``mpi3d_{real,toy,realistic}`` (file; 1 036 800 x 64x64x3) and
``shapes3d_procedural`` (procedural; 480 000 x 64x64x3). The rest of the
literature's family (Locatello et al., 2019): ``color_dsprites``, ``noisy_dsprites``,
``scream_dsprites`` over any dSprites source (:mod:`~lbvae.data.dsprites_variants`),
``smallnorb`` and ``cars3d`` from their files (:mod:`~lbvae.data.smallnorb`,
:mod:`~lbvae.data.cars3d`). A user's own images, with or without factors, not
necessarily a grid (:class:`~lbvae.data.image_set.ImageSet`): ``arrays`` (an .npz /
.h5 file or a folder of PNG / JPEG; :mod:`~lbvae.data.user_data`) and ``tfds:NAME``
(:mod:`~lbvae.data.tfds_by_name`). Binary images (dSprites) are 0/255 in every
source, so ``x.astype(float32) / 255`` is the Bernoulli target in [0, 1] for all
datasets. docs/datasets.md says where to get each file. Synopsis::

  import lbvae.data as data
  ds = data.load("dsprites")                          # procedural: no download
  ds = data.load("shapes3d", source="file", path="3dshapes.h5")
  ds = data.load("arrays", path="mine.npz")           # your own images
  src = data.batch_source(ds)                         # device gather or host stream
  images = src.gather(src.operand, index)             # inside jit: uint8[B, 64, 64, C]
"""

from __future__ import annotations

import importlib
from typing import Sequence

from lbvae import errors
from lbvae.data import dsprites
from lbvae.data import dsprites_variants
from lbvae.data import scenes
from lbvae.data.arrays import ArrayDataset
from lbvae.data.factor_grid import FactorGrid
from lbvae.data.batching import BatchSource
from lbvae.data.batching import batch_source
from lbvae.data.image_set import ImageSet
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
  "color_dsprites": ("procedural", "file", "tfds"),
  "noisy_dsprites": ("procedural", "file", "tfds"),
  "scream_dsprites": ("procedural", "file", "tfds"),
  "smallnorb": ("file",),
  "cars3d": ("file",),
  "arrays": ("file",),
}
# Only files exist for these: the default source (procedural) reads as "file".
FILES_ONLY = ("arrays", "smallnorb", "cars3d")
TFDS_PREFIX = "tfds:"  # dataset.name=tfds:NAME, any prepared TFDS image dataset


def load(
  name: str,
  source: str = "procedural",
  path: str | None = None,
  *,
  factors: Sequence[str] = (),
  background: str | None = None,
) -> FactorGrid:
  """Opens a dataset.

  Args:
    name: one of :data:`DATASETS`, or ``tfds:NAME`` (source ``tfds``).
    source: ``"procedural"`` (rendered on demand), ``"file"`` (``path`` = the
      original distribution file or folder, or your own file or folder for
      ``arrays``) or ``"tfds"`` (``path`` = a TFDS data_dir). For the datasets of
      :data:`FILES_ONLY` the default ``"procedural"`` reads as ``"file"``, and for
      ``tfds:NAME`` as ``"tfds"``.
    path: the file, folder or data_dir; ignored for procedural datasets.
    factors: for ``tfds:NAME``, the features that are factors.
    background: for ``scream_dsprites``, the image of "The Scream" (None: a
      procedural texture; not the literature's variant).

  Returns:
    The dataset (a :class:`FactorGrid`: a :class:`ProceduralDataset`, an
    :class:`ArrayDataset` or :class:`ImageSet`, or a dSprites variant).

  Raises:
    lbvae.errors.Error: unknown name or source, a source the dataset does not
      have, a missing path (or a path given to a procedural source, which would be
      ignored), or a file that is missing or not what was expected.
  """
  tfds_name = name.startswith(TFDS_PREFIX)
  if source == "procedural" and (name in FILES_ONLY or tfds_name):
    source = "tfds" if tfds_name else "file"
  errors.require(
    name in DATASETS or tfds_name,
    f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}, "
    f"{TFDS_PREFIX}NAME",
  )
  errors.require(
    source in SOURCES,
    f"unknown dataset source {source!r}; choose one of {', '.join(SOURCES)}",
  )
  sources = ("tfds",) if tfds_name else DATASETS[name]
  errors.require(
    source in sources,
    f"dataset {name!r} has no {source!r} source; it has: {', '.join(sources)}",
  )
  if name in dsprites_variants.KINDS:
    return dsprites_variants.load(name, load("dsprites", source, path), background)
  if source == "procedural":
    others = [s for s in DATASETS[name] if s != "procedural"]
    use = (
      f"set dataset.source={' or '.join(others)} to read it"
      if others
      else f"{name!r} has no source that reads one"
    )
    errors.require(
      not path,
      f"dataset.path={path} is given, but dataset.source "
      f"'procedural' reads no file (it renders the images): {use}, or "
      "leave dataset.path empty",
    )
    return dsprites.load() if name == "dsprites" else scenes.load()
  errors.require(
    bool(path),
    f"dataset.path is required for {name!r} from source "
    f"{source!r} ({'the original file' if source == 'file' else 'the TFDS data_dir'})",
  )
  path = str(path)
  if tfds_name:
    from lbvae.data import tfds_by_name  # pylint: disable=g-import-not-at-top

    return tfds_by_name.load(name, path, tuple(factors))
  if source == "tfds":
    from lbvae.data import tfds_source  # pylint: disable=g-import-not-at-top

    return tfds_source.load(name, path)
  if name == "arrays":
    from lbvae.data import user_data  # pylint: disable=g-import-not-at-top

    return user_data.load(path)
  if name in ("smallnorb", "cars3d"):
    module = importlib.import_module(f"lbvae.data.{name}")
    return module.load(path)
  from lbvae.data import originals  # pylint: disable=g-import-not-at-top

  return originals.load(name, path)


def factor_list(text: str) -> tuple[str, ...]:
  """``config.dataset.factors`` ("a, b" or "") as a tuple of names."""
  return tuple(n.strip() for n in str(text or "").split(",") if n.strip())


def from_config(dataset) -> FactorGrid:
  """:func:`load` with the fields of a config's ``dataset`` group (``name``,
  ``source``, ``path``, and ``factors`` / ``background`` where present)."""
  return load(
    dataset.name,
    dataset.source,
    dataset.path or None,
    factors=factor_list(dataset.get("factors", "")),
    background=dataset.get("background", "") or None,
  )


__all__ = [
  "ArrayDataset",
  "BatchSource",
  "DATASETS",
  "FactorGrid",
  "ImageSet",
  "ProceduralDataset",
  "SOURCES",
  "batch_source",
  "from_config",
  "load",
]

"""dSprites and Shapes3D prepared by tensorflow-datasets, read without TensorFlow.

TFDS (``tfds build dsprites`` / ``tfds build shapes3d``; builders ``dsprites`` 2.0.0 /
2.1.0 and ``shapes3d`` 2.0.0, data from Matthey et al., 2017 and Burgess & Kim, 2018)
stores each example as a serialised record with a PNG-encoded ``image`` and the
factor classes ``label_*``, shuffled at write time. We open the prepared directory
with ``tfds.builder_from_directory`` and read it through ``as_data_source`` (random
access on ArrayRecord files, decoding PNGs with PIL): no TensorFlow is imported.

The records are then converted once, in one sequential pass, into a grid-ordered
uint8 .npy cache (:mod:`lbvae.data.cache`) that is memory-mapped from then on. We
convert rather than decode per batch because (a) placing the dataset on the device
needs the whole array anyway, (b) decoding 64 PNGs per step on the host would be
the slowest part of a CPU step, and (c) the records are shuffled, so grid order
needs their labels. dSprites' 0/1 images are stored as 0/255, as in every source.

A dataset prepared in the default TFRecord format has no random access; it is
converted with ``tfds convert_format ... --out_file_format=array_record`` or
rebuilt with ``--file_format=array_record`` (see docs/datasets.md).
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from lbvae import errors
from lbvae.data import arrays
from lbvae.data import cache
from lbvae.data import dsprites
from lbvae.data import scenes

# name -> (label features in grid order, factor names, factor sizes, channels, scale)
SPECS = {
  "dsprites": (
    (
      "label_shape",
      "label_scale",
      "label_orientation",
      "label_x_position",
      "label_y_position",
    ),
    dsprites.FACTOR_NAMES,
    dsprites.FACTOR_SIZES,
    1,
    255,
  ),
  "shapes3d": (
    tuple("label_" + n for n in scenes.FACTOR_NAMES),
    scenes.FACTOR_NAMES,
    scenes.FACTOR_SIZES,
    3,
    1,
  ),
}
_READ_BATCH = 1024


def _prepare_hint(name: str) -> str:
  return (
    f"prepare it on a connected host with `tfds build {name} "
    f"--file_format=array_record` and copy ~/tensorflow_datasets/{name} "
    "into the data_dir (docs/datasets.md)"
  )


def _version_dir(name: str, data_dir: str) -> pathlib.Path:
  """The newest prepared version directory of ``name`` under ``data_dir``."""
  from tensorflow_datasets.core import utils  # pylint: disable=g-import-not-at-top

  root = pathlib.Path(data_dir).expanduser() / name
  found = sorted(
    (
      p.parent
      for p in root.glob("*/dataset_info.json")
      if utils.Version.is_valid(p.parent.name)
    ),
    key=lambda p: utils.Version(p.name),
  )
  errors.require(
    bool(found),
    f"{data_dir}: no prepared TFDS dataset {name!r} "
    f"(expected {root}/<version>/dataset_info.json); {_prepare_hint(name)}",
  )
  return found[-1]


def open_split(name: str, data_dir: str, split: str | None = "train", decoders=None):
  """A prepared TFDS dataset's split as a random-access source, without TensorFlow.

  Args:
    name: the TFDS name.
    data_dir: the TFDS data_dir.
    split: the split (None: ``train`` if the dataset has one, else its first).
    decoders: TFDS decoders (e.g. ``{"image": tfds.decode.SkipDecoding()}``).

  Returns:
    (the version directory, the builder, the split's data source).

  Raises:
    lbvae.errors.DataError: not prepared there, or not in ArrayRecord files.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  version_dir = _version_dir(name, data_dir)
  try:
    builder = tfds.builder_from_directory(os.fspath(version_dir))
    if split is None:
      splits = list(builder.info.splits)
      split = "train" if "train" in splits else splits[0]
    source = builder.as_data_source(split=split, decoders=decoders)
  # A format without random access (TFRecord) raises a RuntimeError subclass.
  except (RuntimeError, ValueError, KeyError, IndexError) as e:
    raise errors.DataError(
      f"{version_dir}: cannot read TFDS {name!r} without TensorFlow: it needs "
      "ArrayRecord files (convert once with `tfds convert_format "
      f"--dataset_dir={version_dir.parent} --out_file_format=array_record`, or "
      f"rebuild with --file_format=array_record); {e}"
    ) from e
  return version_dir, builder, source


def open_tfds(name: str, data_dir: str, factor_sizes=None) -> arrays.ArrayDataset:
  """Opens a prepared TFDS ``dsprites`` or ``shapes3d`` (converted once).

  Args:
    name: ``"dsprites"`` or ``"shapes3d"``.
    data_dir: the TFDS data_dir (the folder holding ``<name>/<version>/``).
    factor_sizes: the grid to expect; default the published one (tests pass a
      smaller grid).

  Returns:
    An :class:`ArrayDataset` over the memory-mapped cache, in grid order.
  """
  labels, factor_names, published_sizes, channels, scale = SPECS[name]
  sizes = tuple(factor_sizes or published_sizes)
  version_dir, builder, source = open_split(name, data_dir)
  features = builder.info.features
  missing = [k for k in ("image",) + labels if k not in features]
  errors.require(
    not missing, f"{version_dir}: TFDS {name!r} lacks features {', '.join(missing)}"
  )
  image_shape = tuple(features["image"].shape)
  num = int(np.prod(sizes))
  errors.require(
    image_shape == (64, 64, channels) and len(source) == num,
    f"{version_dir}: TFDS {name!r} has {len(source)} images of shape "
    f"{list(image_shape)}; expected {num} of shape [64, 64, {channels}]",
  )
  strides = np.cumprod((sizes + (1,))[:0:-1])[::-1]

  def fill(out):
    seen = np.zeros(num, bool)
    for start in range(0, num, _READ_BATCH):
      records = source.__getitems__(list(range(start, min(start + _READ_BATCH, num))))
      classes = np.array([[r[k] for k in labels] for r in records], np.int64)
      errors.require(
        np.all((classes >= 0) & (classes < np.array(sizes))),
        f"{version_dir}: labels outside the grid {sizes}",
      )
      index = classes @ strides
      images = np.stack([r["image"] for r in records])
      if scale != 1:
        errors.require(
          images.max(initial=0) <= 1,
          f"{version_dir}: images hold values above 1; expected binary 0/1 dSprites",
        )
        images = images * np.uint8(scale)
      out[index] = images
      seen[index] = True
    errors.require(
      seen.all(),
      f"{version_dir}: labels repeat some factor combinations; "
      f"expected each of the {num} grid points once",
    )

  path = cache.cache_path(
    f"tfds-{name}", [os.fspath(version_dir)], f"tfds-{name}-{sizes}-x{scale}"
  )
  images = cache.cached_uint8(
    path, (num, 64, 64, channels), fill, f"TFDS {name} from {version_dir}"
  )
  return arrays.ArrayDataset(
    name, factor_names, sizes, images, "tfds", os.fspath(version_dir)
  )


def load(name: str, data_dir: str) -> arrays.ArrayDataset:
  """Opens TFDS ``name`` (``"dsprites"`` or ``"shapes3d"``) from ``data_dir``."""
  return open_tfds(name, data_dir)

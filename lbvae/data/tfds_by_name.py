"""Any TFDS image dataset by name: ``dataset.name=tfds:NAME``, ``dataset.source=tfds``.

The prepared dataset ``<data_dir>/NAME/<version>/`` (ArrayRecord files, as for
dSprites and Shapes3D: :mod:`lbvae.data.tfds_source`) is read without TensorFlow: its
image feature (``image``, else the first Image feature) from the ``train`` split (or
its only one) is decoded and resized to 64x64 once, into the uint8 cache of
:mod:`lbvae.data.cache`; greyscale stays 1 channel, colour is 3 (an alpha channel is
dropped). The features named in ``config.dataset.factors`` (comma-separated) become the
factors: each must be a ``ClassLabel`` (its ``num_classes`` values) or an integer
scalar (values 0 .. max), read on every load with the images left undecoded. Without
names the dataset has no factors.

Synopsis::

  ds = tfds_by_name.load("tfds:mnist", "/data/tensorflow_datasets", ("label",))
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from lbvae import errors
from lbvae.data import cache
from lbvae.data import image_set
from lbvae.data import resize
from lbvae.data import tfds_source

PREFIX = "tfds:"
_READ_BATCH = 512


def _image_feature(features, where: str) -> str:
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  images = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
  errors.require(
    bool(images),
    f"{where}: no Image feature (features: {', '.join(features)})",
    errors.DataError,
  )
  return "image" if "image" in images else images[0]


def _factor_sizes(features, names: Sequence[str], where: str) -> list[int | None]:
  """Each named feature's class count (None: an integer, sized from its values)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  sizes = []
  for n in names:
    errors.require(
      n in features,
      f"{where}: no feature {n!r} for a factor (features: {', '.join(features)})",
      errors.DataError,
    )
    f = features[n]
    if isinstance(f, tfds.features.ClassLabel):
      sizes.append(int(f.num_classes))
      continue
    ok = (
      isinstance(f, tfds.features.Tensor)
      and tuple(f.shape) == ()
      and np.dtype(f.np_dtype).kind in "iu"
    )
    errors.require(
      ok,
      f"{where}: feature {n!r} is not a class label or an integer "
      "scalar; a factor needs one",
      errors.DataError,
    )
    sizes.append(None)
  return sizes


def _labels(name, data_dir, image_key, names, declared, where) -> dict:
  """The ImageSet keyword arguments of the named factors (images undecoded)."""
  if not names:
    return {}
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  _, _, source = tfds_source.open_split(
    name, data_dir, None, decoders={image_key: tfds.decode.SkipDecoding()}
  )
  rows = []
  for start in range(0, len(source), _READ_BATCH):
    records = source.__getitems__(
      list(range(start, min(start + _READ_BATCH, len(source))))
    )
    rows += [[int(r[n]) for n in names] for r in records]
  factors = np.asarray(rows, np.int64).reshape(len(source), len(names))
  sizes = image_set.check_factors(factors, len(source), None, where)
  sizes = [d if d is not None else s for d, s in zip(declared, sizes)]
  image_set.check_factors(factors, len(source), sizes, where)
  return {"factors": factors, "factor_names": tuple(names), "factor_sizes": sizes}


def load(name: str, data_dir: str, factors: Sequence[str] = ()) -> image_set.ImageSet:
  """``tfds:NAME`` from ``data_dir``, with the features ``factors`` as factors."""
  tfds_name = name[len(PREFIX) :]
  errors.require(
    bool(tfds_name), f"dataset.name {name!r} names no TFDS dataset (write tfds:NAME)"
  )
  version_dir, builder, source = tfds_source.open_split(tfds_name, data_dir, None)
  where = f"{version_dir} (TFDS {tfds_name!r})"
  features = builder.info.features
  image_key = _image_feature(features, where)
  declared = _factor_sizes(features, factors, where)
  num = len(source)
  errors.require(num > 0, f"{where}: the split has no examples", errors.DataError)
  shape = tuple(features[image_key].shape)
  channels = 1 if shape[-1] == 1 else 3
  labels = _labels(tfds_name, data_dir, image_key, list(factors), declared, where)

  def fill(out):
    for start in range(0, num, _READ_BATCH):
      records = source.__getitems__(list(range(start, min(start + _READ_BATCH, num))))
      for k, r in enumerate(records):
        image = np.asarray(r[image_key])
        image = image.reshape(image.shape[:2] + (-1,))[..., :channels]
        out[start + k] = resize.to_64(image[None])[0]

  path = cache.cache_path(
    f"tfds-{tfds_name}",
    [os.fspath(version_dir)],
    f"tfds-by-name-{image_key}-{channels}-to-64",
  )
  images = cache.cached_uint8(
    path,
    (num, resize.SIZE, resize.SIZE, channels),
    fill,
    f"TFDS {tfds_name} from {version_dir}",
  )
  ds = image_set.ImageSet(name, images, "tfds", os.fspath(version_dir), **labels)
  if shape[:2] != (resize.SIZE, resize.SIZE):
    ds.notes = (
      resize.resize_note(num, [shape[:2]])
      if None not in shape[:2]
      else f"{num} images of varying sizes resized once, on load, to 64x64",
    )
  return ds

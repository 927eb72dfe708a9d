"""Test helper: prepares a tiny TFDS dataset with TFDS's own builder, without TensorFlow.

``prepare(name, data_dir, images, labels)`` writes ``<data_dir>/<name>/<version>/`` as
``tfds build`` would (ArrayRecord files by default), from uint8 images and integer
label columns given as class counts (``ClassLabel`` features) or as ``None`` (plain
int64 scalars).
"""

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image


def prepare(
  name: str,
  data_dir,
  images: np.ndarray,
  labels: dict | None = None,
  *,
  num_classes: dict | None = None,
  version: str = "2.0.0",
  file_format: str = "array_record",
) -> None:
  """Prepares ``name`` in ``data_dir``.

  Args:
    name: the TFDS name.
    data_dir: the TFDS data_dir.
    images: uint8[N, H, W, C], C = 1 or 3.
    labels: feature name -> int[N] values.
    num_classes: feature name -> class count (a ClassLabel), or None (int64 scalar).
    version: the builder's version.
    file_format: ``array_record`` or ``tfrecord``.
  """
  labels = labels or {}
  num_classes = num_classes or {}
  channels = images.shape[-1]
  features = {"image": tfds.features.Image(shape=images.shape[1:])}
  for key in labels:
    k = num_classes.get(key)
    features[key] = (
      tfds.features.ClassLabel(num_classes=k)
      if k is not None
      else tfds.features.Tensor(shape=(), dtype=np.int64)
    )

  class Tiny(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    # TFDS looks for a builder's code next to its module; for a module inside a
    # package that needs importlib_resources (not a TFDS dependency). A one-word
    # module name makes it skip the look-up, as for a builder defined in a script.
    __module__ = "tiny_builder"
    VERSION = tfds.core.Version(version)

    def _info(self):
      return tfds.core.DatasetInfo(
        builder=self, features=tfds.features.FeaturesDict(features)
      )

    def _split_generators(self, dl_manager):
      del dl_manager
      return {"train": self._generate_examples()}

    def _generate_examples(self):
      # PIL images: TFDS encodes them to PNG itself, without TensorFlow.
      for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if channels == 1 else image)
        yield i, dict({k: int(v[i]) for k, v in labels.items()}, image=pil)

  Tiny.name = name
  Tiny(data_dir=str(data_dir), file_format=file_format).download_and_prepare()

"""TFDS dsprites/shapes3d: built by TFDS's own builder, read without TensorFlow."""

import itertools
import sys

import numpy as np
import pytest

import lbvae.data as data
from lbvae import errors
from lbvae.data import tfds_source
from tests.helpers import tiny_tfds

SIZES = {"dsprites": (3, 2, 2, 1, 2), "shapes3d": (2, 1, 2, 2, 2, 1)}


def _examples(name, seed):
  """(grid-ordered images uint8[N, 64, 64, C], label dicts in grid order)."""
  labels, _, _, channels, _ = tfds_source.SPECS[name]
  grid = list(itertools.product(*map(range, SIZES[name])))
  rng = np.random.default_rng(seed)
  high = 2 if name == "dsprites" else 256
  images = rng.integers(0, high, (len(grid), 64, 64, channels), dtype=np.uint8)
  return images, [dict(zip(labels, map(int, g))) for g in grid]


def _build(name, data_dir, file_format="array_record", seed=0):
  """Prepares a tiny `name` in data_dir with a GeneratorBasedBuilder (no TF)."""
  labels = tfds_source.SPECS[name][0]
  images, records = _examples(name, seed)
  tiny_tfds.prepare(
    name,
    data_dir,
    images,
    {k: [r[k] for r in records] for k in labels},
    num_classes=dict(zip(labels, SIZES[name])),
    file_format=file_format,
  )
  return images


@pytest.mark.parametrize("name", ["dsprites", "shapes3d"])
def test_prepared_tfds_reads_in_grid_order(tmp_path, cache_dir, name):
  images = _build(name, tmp_path / "tfds")
  ds = tfds_source.open_tfds(name, str(tmp_path / "tfds"), SIZES[name])
  assert ds.name == name and ds.source == "tfds"
  assert ds.factor_sizes == SIZES[name]
  assert ds.factor_names == tfds_source.SPECS[name][1]
  scale = 255 if name == "dsprites" else 1
  factors = ds.index_to_factors(np.arange(len(ds)))
  np.testing.assert_array_equal(ds.images(factors), images * np.uint8(scale))
  assert [p.suffix for p in cache_dir.iterdir()] == [".npy"]
  assert "tensorflow" not in sys.modules  # not even lazily, on the read path
  # A second open reuses the conversion.
  again = tfds_source.open_tfds(name, str(tmp_path / "tfds"), SIZES[name])
  assert again.array.filename == ds.array.filename


def test_missing_dataset_says_how_to_prepare_it(tmp_path):
  with pytest.raises(
    errors.Error,
    match="no prepared TFDS dataset 'shapes3d'.*"
    "tfds build shapes3d --file_format=array_record",
  ):
    tfds_source.load("shapes3d", str(tmp_path))


def test_wrong_size_is_reported(tmp_path):
  _build("dsprites", tmp_path)
  with pytest.raises(
    errors.Error,
    match=r"has 24 images of shape \[64, 64, 1\]; "
    r"expected 737280",
  ):
    data.load("dsprites", source="tfds", path=str(tmp_path))


def test_tfrecord_preparation_says_how_to_convert(tmp_path):
  # Writing TFRecords needs TensorFlow, so relabel a prepared ArrayRecord dataset
  # as the TFRecord one `tfds build` makes by default.
  _build("dsprites", tmp_path)
  info = next(tmp_path.glob("dsprites/2.0.0/dataset_info.json"))
  info.write_text(info.read_text().replace('"array_record"', '"tfrecord"'))
  with pytest.raises(
    errors.Error,
    match="needs ArrayRecord files.*tfds "
    "convert_format --dataset_dir=.*--out_file_format=array_record",
  ):
    tfds_source.open_tfds("dsprites", str(tmp_path), SIZES["dsprites"])

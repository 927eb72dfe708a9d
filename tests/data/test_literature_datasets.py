"""The literature's dataset family from the fixtures in its original formats
(tests/fixtures/make_dataset_fixtures.py), the dSprites variants, and tfds:NAME."""

import os
import shutil

import numpy as np
import pytest

import lbvae.data as data
from lbvae import errors
from lbvae.data import dsprites_variants
from tests.fixtures import make_dataset_fixtures as fixtures
from tests.helpers import tiny_tfds

FIXTURES = fixtures.ROOT


def test_smallnorb_reads_labels_first_camera_and_draws_the_instance():
  ds = data.load("smallnorb", path=os.path.join(FIXTURES, "smallnorb"))
  assert ds.factor_names == ("category", "elevation", "azimuth", "lighting")
  assert ds.factor_sizes == (2, 2, 3, 2) and len(ds) == 48 and ds.covers_grid
  images = ds.images_at(np.arange(48))
  factors = ds.index_to_factors(np.arange(48))
  instance = np.r_[np.ones(24, int), np.zeros(24, int)]  # training, then testing
  want = [
    fixtures.norb_value(c, i, e, a, lighting)
    for (c, e, a, lighting), i in zip(factors, instance)
  ]
  np.testing.assert_array_equal(images[:, 0, 0, 0], want)  # constant images
  assert images.shape == (48, 64, 64, 1) and (images == images[:, :1, :1]).all()
  # images(factors) draws either instance of the tuple.
  tuples = np.repeat(factors[:1], 40, axis=0)
  drawn = {int(v) for v in ds.images(tuples)[:, 0, 0, 0]}
  assert drawn == {
    fixtures.norb_value(*[factors[0][0], i, *factors[0][1:]]) for i in (0, 1)
  }


def test_smallnorb_problems_are_data_errors(tmp_path):
  folder = tmp_path / "norb"
  shutil.copytree(os.path.join(FIXTURES, "smallnorb"), folder)
  info = next(folder.glob("*testing-info.mat"))
  blob = bytearray(info.read_bytes())
  blob[:4] = b"\0\0\0\0"
  info.write_bytes(bytes(blob))
  with pytest.raises(errors.DataError, match="not a SmallNORB binary matrix"):
    data.load("smallnorb", path=str(folder))
  info.unlink()
  with pytest.raises(errors.DataError, match="testing-info.mat: no such file"):
    data.load("smallnorb", path=str(folder))


def test_cars3d_is_the_grid_of_elevation_azimuth_and_car():
  ds = data.load("cars3d", path=os.path.join(FIXTURES, "cars3d"))
  assert ds.factor_names == ("elevation", "azimuth", "object")
  assert ds.factor_sizes == (4, 24, 3) and ds.image_shape == (64, 64, 3)
  factors = ds.index_to_factors(np.arange(len(ds)))
  images = ds.images(factors)
  for k in (0, 1, 95, 131, 287):
    e, a, car = factors[k]
    np.testing.assert_array_equal(images[k, 5, 7], fixtures.car_pixel(a, e, car))
  assert any("not the published 183" in n for n in ds.notes)


@pytest.fixture(scope="module")
def sprites():
  """A small dSprites-like grid (3 x 2 x 2 x 2 x 2) of random 0/255 sprites."""
  rng = np.random.default_rng(0)
  images = np.where(rng.random((48, 64, 64, 1)) < 0.2, 255, 0).astype(np.uint8)
  return data.ArrayDataset(
    "dsprites",
    ("shape", "scale", "orientation", "x", "y"),
    (3, 2, 2, 2, 2),
    images,
    "file",
    "sprites",
  )


@pytest.mark.parametrize("name", list(dsprites_variants.KINDS))
def test_variants_transform_the_sprite_as_disentanglement_lib(name, sprites):
  background = dsprites_variants.read_background(os.path.join(FIXTURES, "scream.jpg"))
  ds = dsprites_variants.DspritesVariant(name, sprites, background)
  index = np.arange(48)
  on = sprites.images_at(index)[..., 0] > 0
  images = ds.images_at(index).astype(int)
  assert images.shape == (48, 64, 64, 3) and ds.factor_sizes == sprites.factor_sizes
  on, off = images[on], images[~on]
  if name == "color_dsprites":
    assert (off == 0).all() and on.min() >= 128 and on.max() > 240
    colours = images.reshape(48, -1, 3).max(axis=1)
    assert len({tuple(c) for c in colours}) == 48  # one colour per image
  elif name == "noisy_dsprites":
    assert (on == 255).all() and abs(off.mean() - 127.5) < 2 and off.min() == 0
  else:
    assert not ds.notes and background.shape == (274, 349, 3)  # 420x330, fitted
    # Background (patch + colour) / 2; the sprite the inverse of what it covers.
    assert abs(on.mean() - (255 - off.mean())) < 10
    assert off.std() > 20  # patches differ


def test_variant_draws_are_fresh_per_batch_and_the_same_on_device_and_host(sprites):
  ds = dsprites_variants.DspritesVariant("color_dsprites", sprites)
  index = np.array([[5, 5, 9], [9, 5, 5], [5, 5, 9]])
  device = data.batch_source(ds, "device")
  host = data.batch_source(ds, "host")
  got = np.asarray(device.gather(device.operand, index))
  np.testing.assert_array_equal(got, host.host_gather(index))
  colour = got.reshape(3, 3, -1, 3).max(axis=2)  # each image's colour
  assert not np.array_equal(colour[0, 0], colour[0, 1])  # same image, other draw
  np.testing.assert_array_equal(colour[0], colour[2])  # same row, same draws
  assert not np.array_equal(colour[0], colour[1])


def test_scream_without_a_painting_says_it_is_not_the_literature_variant():
  ds = data.load("scream_dsprites")
  assert dsprites_variants.NOT_LITERATURE in ds.notes
  assert (
    "not the literature's scream-dSprites" in data.batch_source(ds, "host").describe()
  )


def test_tfds_by_name_with_named_factors(tmp_path):
  k = np.arange(20)
  images = np.broadcast_to((10 * k)[:, None, None, None], (20, 32, 32, 1)).astype(
    np.uint8
  )  # image k is constant, 10 k
  tiny_tfds.prepare(
    "digits",
    tmp_path,
    images,
    {"digit": k % 10, "size": k % 3},
    num_classes={"digit": 10, "size": None},
  )
  ds = data.load("tfds:digits", "tfds", str(tmp_path), factors=("digit", "size"))
  assert ds.factor_names == ("digit", "size") and ds.factor_sizes == (10, 3)
  assert ds.image_shape == (64, 64, 1) and "resized once" in ds.notes[0]
  # TFDS shuffles the records: each image keeps its own labels.
  row = ds.images_at(np.arange(20))[:, 7, 9, 0].astype(int) // 10
  np.testing.assert_array_equal(
    ds.index_to_factors(np.arange(20)), np.stack([row % 10, row % 3], axis=1)
  )
  assert sorted(row) == list(range(20))
  assert data.load("tfds:digits", path=str(tmp_path)).num_factors == 0
  with pytest.raises(errors.DataError, match="no feature 'colour' for a factor"):
    data.load("tfds:digits", "tfds", str(tmp_path), factors=("colour",))

"""Procedural dSprites: the published grid and the geometry of its renderer."""

import jax
import numpy as np
import pytest

from lbvae.data import dsprites as dsprites_lib


def _render(ds, rows):
  return ds.images(np.asarray(rows))[..., 0] > 0


def _centroid(mask):
  rr, cc = np.nonzero(mask)
  return rr.mean(), cc.mean()


def test_grid_is_the_published_one(dsprites):
  assert dsprites.name == "dsprites"
  assert dsprites.factor_names == (
    "shape",
    "scale",
    "orientation",
    "position_x",
    "position_y",
  )
  assert dsprites.factor_sizes == (3, 6, 40, 32, 32)
  assert len(dsprites) == 737_280
  assert dsprites.image_shape == (64, 64, 1)
  np.testing.assert_allclose(dsprites_lib.SCALES[[0, -1]], [0.5, 1.0])
  assert dsprites_lib.ORIENTATIONS[-1] < 2 * np.pi


def test_images_are_binary_uint8(dsprites):
  images = dsprites.images(dsprites.sample_factors(64, np.random.default_rng(0)))
  assert images.dtype == np.uint8 and images.shape == (64, 64, 64, 1)
  assert set(np.unique(images)) == {0, 255}
  assert (images > 0).any(axis=(1, 2, 3)).all()  # every sprite is visible


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_area_grows_four_times_from_scale_half_to_one(dsprites, shape):
  factors = dsprites.sample_factors(400, np.random.default_rng(shape))
  factors[:, 0] = shape
  areas = []
  for scale in range(6):
    factors[:, 1] = scale
    areas.append(_render(dsprites, factors).sum(axis=(1, 2)).mean())
  assert np.all(np.diff(areas) > 0)
  assert areas[-1] / areas[0] == pytest.approx(4.0, rel=0.05)


@pytest.mark.parametrize("axis", [3, 4])
def test_position_moves_the_centroid_monotonically(dsprites, axis):
  rows = np.tile([2, 3, 17, 16, 16], (32, 1))
  rows[:, axis] = np.arange(32)
  centroids = np.array([_centroid(m) for m in _render(dsprites, rows)])
  moving = centroids[:, 1 if axis == 3 else 0]  # x -> columns, y -> rows
  still = centroids[:, 0 if axis == 3 else 1]
  assert np.all(np.diff(moving) > 0)
  assert moving[-1] - moving[0] == pytest.approx(0.6 * 64, abs=2.0)
  assert np.ptp(still) < 1.0


def test_largest_sprites_stay_inside_the_frame(dsprites):
  rows = [
    [s, 5, o, x, y]
    for s in range(3)
    for o in range(40)
    for x in (0, 31)
    for y in (0, 31)
  ]
  masks = _render(dsprites, rows)
  border = np.zeros((64, 64), bool)
  border[[0, -1], :] = border[:, [0, -1]] = True
  assert not (masks & border).any()


def test_orientation_changes_the_silhouette(dsprites):
  square = _render(dsprites, [[0, 5, o, 16, 16] for o in (0, 5, 10)])
  heart = _render(dsprites, [[2, 5, o, 16, 16] for o in (0, 10, 20)])
  assert (square[0] != square[1]).sum() > 20  # 45 degrees differs
  np.testing.assert_array_equal(square[0], square[2])  # 90-degree symmetry
  assert (heart[0] != heart[1]).sum() > 20
  assert (heart[0] != heart[2]).sum() > 20
  # Upside down at 180 degrees: the heart's mass moves to the other side.
  assert _centroid(heart[0])[0] < _centroid(heart[2])[0]


def test_the_three_shapes_differ(dsprites):
  masks = _render(dsprites, [[s, 5, 0, 16, 16] for s in range(3)])
  for i in range(3):
    for j in range(i):
      assert (masks[i] != masks[j]).sum() > 20


def test_gather_under_jit_equals_images(dsprites):
  import lbvae.data as data

  src = data.batch_source(dsprites)
  assert src.on_device and src.operand == ()
  index = np.random.default_rng(1).integers(0, len(dsprites), size=(3, 8))
  gathered = jax.jit(src.gather)(src.operand, index.astype(np.int32))
  assert gathered.dtype == np.uint8 and gathered.shape == (3, 8, 64, 64, 1)
  expected = dsprites.images(dsprites.index_to_factors(index.reshape(-1)))
  np.testing.assert_array_equal(np.asarray(gathered).reshape(24, 64, 64, 1), expected)
  np.testing.assert_array_equal(src.host_gather(index), np.asarray(gathered))

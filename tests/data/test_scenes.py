"""shapes3d_procedural: every factor changes the rendered scene as documented."""

import jax
import numpy as np
import pytest
from matplotlib import colors

import lbvae.data as data
from lbvae.data import scenes

BASE = np.array([0, 3, 6, 4, 0, 3])  # floor, wall, object hue, scale, shape, yaw


@pytest.fixture(scope="module")
def ds():
  return data.load("shapes3d_procedural")


def _vary(axis, values, base=BASE):
  rows = np.tile(base, (len(values), 1))
  rows[:, axis] = values
  return rows


_RENDER = jax.jit(scenes.render_with_regions)


def _render(rows):
  """(images int[N, 64, 64, 3], regions int[N, 64, 64]); one compilation (N <= 16)."""
  rows = np.asarray(rows, np.int32)
  padded = np.zeros((16, 6), np.int32)
  padded[: len(rows)] = rows
  images, regions = _RENDER(padded)
  return np.asarray(images)[: len(rows)].astype(int), np.asarray(regions)[: len(rows)]


def _regions(rows):
  return _render(rows)[1]


def test_grid_matches_shapes3d(ds):
  assert ds.name == "shapes3d_procedural"
  assert ds.factor_names == (
    "floor_hue",
    "wall_hue",
    "object_hue",
    "scale",
    "shape",
    "orientation",
  )
  assert ds.factor_sizes == (10, 10, 10, 8, 4, 15)
  assert len(ds) == 480_000 and ds.image_shape == (64, 64, 3)


def test_scene_layout(ds):
  region = _regions(_vary(4, range(4)))
  for r in region:
    assert (r[0] == 1).all() and (r[-1] == 0).all()  # wall on top, floor below
    rows, cols = np.nonzero(r == 2)
    assert 20 < cols.mean() < 44 and 20 < rows.mean() < 50  # object near the centre
    assert rows.min() > 0 and cols.min() > 0 and cols.max() < 63


@pytest.mark.parametrize("axis,region", [(0, 0), (1, 1), (2, 2)])
def test_hue_changes_colour_only_in_its_region(ds, axis, region):
  rows = _vary(axis, [2, 7])
  images, regions = _render(rows)
  mask = regions[0] == region
  changed = (images[0] != images[1]).any(-1)
  assert not changed[~mask].any()
  assert changed[mask].mean() > 0.95
  for image, k in zip(images, rows[:, axis]):
    mean_rgb = image[mask & (image.max(-1) > 60)].mean(0) / 255
    hue = colors.rgb_to_hsv(mean_rgb)[0]
    assert abs(hue - scenes.HUES[k]) < 0.03


@pytest.mark.parametrize("shape", range(4))
def test_scale_grows_the_object_monotonically(ds, shape):
  base = BASE.copy()
  base[4] = shape
  counts = (_regions(_vary(3, range(8), base)) == 2).sum(axis=(1, 2))
  assert np.all(np.diff(counts) > 0)
  assert counts[-1] / counts[0] > 2.0  # about (1.25 / 0.75)^2 in area


def test_shapes_have_different_silhouettes(ds):
  masks = _regions(_vary(4, range(4))) == 2
  for i in range(4):
    for j in range(i):
      assert (masks[i] != masks[j]).sum() > 15, (i, j)


@pytest.mark.parametrize("shape", [0, 1, 3])
def test_orientation_turns_non_symmetric_objects(ds, shape):
  base = BASE.copy()
  base[4] = shape
  masks = _regions(_vary(5, [0, 7, 14], base)) == 2
  assert (masks[0] != masks[1]).sum() > 10
  assert (masks[1] != masks[2]).sum() > 10
  assert (masks[0] != masks[2]).sum() > 10  # -30 and +30 degrees are mirror images


def test_the_sphere_looks_the_same_at_every_yaw(ds):
  base = BASE.copy()
  base[4] = 2
  images = _render(_vary(5, [0, 7, 14], base))[0]
  assert np.abs(images[0] - images[2]).max() <= 1


def test_gather_under_jit_equals_images(ds):
  """The training path (jit-ed gather) and the host path (chunked images) agree."""
  src = data.batch_source(ds)
  assert src.on_device and src.operand == ()
  index = np.random.default_rng(0).integers(0, len(ds), size=(2, 6))
  gathered = np.asarray(jax.jit(src.gather)(src.operand, index.astype(np.int32)))
  assert gathered.dtype == np.uint8 and gathered.shape == (2, 6, 64, 64, 3)
  expected = ds.images(ds.index_to_factors(index.ravel()))
  np.testing.assert_array_equal(gathered.reshape(12, 64, 64, 3), expected)
  np.testing.assert_array_equal(
    expected, _render(ds.index_to_factors(index.ravel()))[0]
  )

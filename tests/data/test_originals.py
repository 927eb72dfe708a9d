"""Small files in each original format: order, names, sizes, images and errors."""

import dataclasses
import itertools

import h5py
import numpy as np
import pytest

import lbvae.data as data
from lbvae import errors
from lbvae.data import originals

DSPRITES = dataclasses.replace(
  originals.LAYOUTS["dsprites"], factor_sizes=(3, 2, 2, 2, 2)
)
SHAPES3D = dataclasses.replace(
  originals.LAYOUTS["shapes3d"],
  factor_sizes=(2, 2, 2, 2, 2, 2),
  values=tuple(v[[0, -1]] for v in originals.LAYOUTS["shapes3d"].values),
)
MPI3D = dataclasses.replace(
  originals.LAYOUTS["mpi3d_real"], factor_sizes=(2, 2, 1, 1, 1, 3, 2)
)


class _Unpickled(Exception):
  pass


def _explode():
  raise _Unpickled("metadata was unpickled")


class _Bomb:
  def __reduce__(self):
    return (_explode, ())


def _grid(sizes):
  return np.array(list(itertools.product(*map(range, sizes))))


def _binary_images(n, seed=0):
  return np.random.default_rng(seed).integers(0, 2, (n, 64, 64), dtype=np.uint8)


def _rgb_images(n, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)


def _write_dsprites_npz(path, imgs, classes, compressed=True):
  latents = np.concatenate([np.zeros((len(classes), 1), np.int64), classes], 1)
  save = np.savez_compressed if compressed else np.savez
  save(
    path,
    imgs=imgs,
    latents_classes=latents,
    latents_values=latents.astype(np.float64),
    metadata=np.array([_Bomb()], dtype=object),
  )


@pytest.mark.parametrize("shuffled", [False, True])
def test_dsprites_npz(tmp_path, shuffled):
  classes = _grid(DSPRITES.factor_sizes)
  imgs = _binary_images(len(classes))
  order = (
    np.random.default_rng(1).permutation(len(classes))
    if shuffled
    else (np.arange(len(classes)))
  )
  path = str(tmp_path / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")
  _write_dsprites_npz(path, imgs[order], classes[order])
  ds = originals.open_dsprites(path, DSPRITES)  # never touches the pickled metadata
  assert ds.name == "dsprites" and ds.source == "file"
  assert ds.factor_names == (
    "shape",
    "scale",
    "orientation",
    "position_x",
    "position_y",
  )
  assert ds.factor_sizes == DSPRITES.factor_sizes and len(ds) == 48
  assert ds.image_shape == (64, 64, 1)
  got = ds.images(classes[[5, 0, 47]])
  assert got.dtype == np.uint8 and set(np.unique(got)) <= {0, 255}
  np.testing.assert_array_equal(got[..., 0], imgs[[5, 0, 47]] * 255)
  # The converted cache is reused, not rebuilt.
  again = originals.open_dsprites(path, DSPRITES)
  assert again.array.filename == ds.array.filename


def test_dsprites_hdf5_twin(tmp_path):
  classes = _grid(DSPRITES.factor_sizes)
  imgs = _binary_images(len(classes), seed=2)
  path = str(tmp_path / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5")
  with h5py.File(path, "w") as f:
    f.create_dataset("imgs", data=imgs, chunks=(8, 64, 64), compression="gzip")
    latents = np.concatenate([np.zeros((len(classes), 1), np.int64), classes], 1)
    f.create_dataset("latents/classes", data=latents)
    f.create_dataset("latents/values", data=latents.astype(np.float64))
  ds = originals.open_dsprites(path, DSPRITES)
  np.testing.assert_array_equal(ds.images(classes)[..., 0], imgs * 255)


def test_dsprites_rejects_non_binary_images_and_leaves_no_cache(tmp_path, cache_dir):
  classes = _grid(DSPRITES.factor_sizes)
  path = str(tmp_path / "d.npz")
  _write_dsprites_npz(path, _binary_images(len(classes)) * 255, classes)
  with pytest.raises(errors.Error, match="values above 1; expected binary 0/1"):
    originals.open_dsprites(path, DSPRITES)
  assert not list(cache_dir.iterdir())


def test_dsprites_rejects_repeated_labels(tmp_path):
  classes = _grid(DSPRITES.factor_sizes)
  classes[1] = classes[0]
  path = str(tmp_path / "d.npz")
  _write_dsprites_npz(path, _binary_images(len(classes)), classes)
  with pytest.raises(errors.Error, match="labels repeat some factor combinations"):
    originals.open_dsprites(path, DSPRITES)


def _write_3dshapes(path, images, classes, layout=SHAPES3D, compressed=False):
  values = np.stack([layout.values[f][classes[:, f]] for f in range(6)], 1)
  with h5py.File(path, "w") as f:
    kwargs = dict(chunks=(4, 64, 64, 3), compression="gzip") if compressed else {}
    f.create_dataset("images", data=images, **kwargs)
    f.create_dataset("labels", data=values.astype(np.float64))


@pytest.mark.parametrize("compressed", [False, True])
def test_3dshapes_h5(tmp_path, compressed):
  classes = _grid(SHAPES3D.factor_sizes)
  images = _rgb_images(len(classes))
  order = np.random.default_rng(3).permutation(len(classes))
  path = str(tmp_path / "3dshapes.h5")
  _write_3dshapes(path, images[order], classes[order], compressed=compressed)
  ds = originals.open_shapes3d(path, SHAPES3D)
  assert ds.factor_names == (
    "floor_hue",
    "wall_hue",
    "object_hue",
    "scale",
    "shape",
    "orientation",
  )
  assert len(ds) == 64 and ds.image_shape == (64, 64, 3)
  assert isinstance(ds.array, np.memmap)
  assert (ds.rows is not None) == (not compressed)  # in place: through a permutation
  np.testing.assert_array_equal(ds.images(classes), images)
  src = data.batch_source(ds, "device")
  np.testing.assert_array_equal(
    np.asarray(src.gather(src.operand, np.arange(64))), images
  )


def test_3dshapes_rejects_values_off_the_grid(tmp_path):
  classes = _grid(SHAPES3D.factor_sizes)
  path = str(tmp_path / "3dshapes.h5")
  _write_3dshapes(path, _rgb_images(len(classes)), classes)
  with h5py.File(path, "r+") as f:
    f["labels"][3, 3] = 0.8
  with pytest.raises(errors.Error, match="label 'scale' has value"):
    originals.open_shapes3d(path, SHAPES3D)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_3dshapes_rejects_non_finite_labels(tmp_path, value):
  classes = _grid(SHAPES3D.factor_sizes)
  path = str(tmp_path / "3dshapes.h5")
  _write_3dshapes(path, _rgb_images(len(classes)), classes)
  with h5py.File(path, "r+") as f:
    f["labels"][5, 1] = value
  with pytest.raises(
    errors.DataError, match=r"3dshapes.h5: labels: factor 'wall_hue' has 1 non-finite"
  ):
    originals.open_shapes3d(path, SHAPES3D)


@pytest.mark.parametrize("compressed", [False, True])
def test_mpi3d_npz(tmp_path, cache_dir, compressed):
  images = _rgb_images(24, seed=4)
  path = str(tmp_path / "mpi3d_real.npz")
  (np.savez_compressed if compressed else np.savez)(path, images=images)
  ds = originals.open_mpi3d(path, MPI3D)
  assert ds.name == "mpi3d_real" and len(ds) == 24
  assert ds.factor_names == (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "horizontal_axis",
    "vertical_axis",
  )
  # Stored members are mapped in place; compressed ones are converted once.
  if compressed:
    assert str(ds.array.filename).startswith(str(cache_dir))
  else:
    assert str(ds.array.filename) == path
  factors = _grid(MPI3D.factor_sizes)
  np.testing.assert_array_equal(ds.factors_to_index(factors), np.arange(24))
  np.testing.assert_array_equal(ds.images(factors[::-1]), images[::-1])


@pytest.mark.parametrize(
  "name,where",
  [
    ("dsprites", "github.com/deepmind/dsprites-dataset"),
    ("shapes3d", "storage.googleapis.com/3d-shapes"),
    ("mpi3d_toy", "github.com/rr-learning/disentanglement_dataset (file mpi3d_toy"),
  ],
)
def test_missing_file_says_where_it_is_published(tmp_path, name, where):
  with pytest.raises(
    errors.Error, match="no such file; .*" + where.replace("(", r"\(")
  ):
    data.load(name, source="file", path=str(tmp_path / "missing"))


def test_published_sizes_are_enforced(tmp_path):
  path = str(tmp_path / "mpi3d_real.npz")
  np.savez(path, images=_rgb_images(24))
  with pytest.raises(
    errors.Error,
    match=r"mpi3d_real.npz: 'images' is uint8\[24, "
    r"64, 64, 3\]; expected uint8\[1036800, 64, 64, 3\]",
  ):
    data.load("mpi3d_real", source="file", path=path)
  np.savez(path, images=np.zeros((24, 64, 64, 3), np.float32))
  with pytest.raises(errors.Error, match=r"'images' is float32\[24, 64, 64, 3\]"):
    data.load("mpi3d_real", source="file", path=path)
  classes = _grid(DSPRITES.factor_sizes)
  path = str(tmp_path / "d.npz")
  _write_dsprites_npz(path, _binary_images(len(classes)), classes)
  with pytest.raises(errors.Error, match=r"expected uint8\[737280, 64, 64\]"):
    data.load("dsprites", source="file", path=path)


def test_truncated_file_through_load(tmp_path):
  path = tmp_path / "mpi3d_real.npz"
  np.savez(path, images=_rgb_images(24))
  path.write_bytes(path.read_bytes()[:100000])
  with pytest.raises(errors.Error, match="truncated or corrupt"):
    data.load("mpi3d_real", source="file", path=str(path))
  # A truncated dSprites .npz (its zip directory gone) is named as an .npz.
  path = tmp_path / "dsprites.npz"
  np.savez(
    path,
    imgs=np.zeros((10, 64, 64), np.uint8),
    latents_classes=np.zeros((10, 6), np.int64),
  )
  path.write_bytes(path.read_bytes()[:20000])
  with pytest.raises(errors.Error, match="not a readable .npz archive"):
    data.load("dsprites", source="file", path=str(path))

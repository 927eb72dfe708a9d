"""dataset.name=arrays: .npz / .h5 files and folders of images, with or without
factors; every kind of bad data is one DataError line."""

import h5py
import numpy as np
import pytest
from PIL import Image

import lbvae.data as data
from lbvae import errors


def labelled_images(n=60, side=64, channels=1, seed=0):
  """Images whose first pixel is the row number; factors (row % 3, row % 4)."""
  rng = np.random.default_rng(seed)
  images = rng.integers(0, 256, (n, side, side, channels), dtype=np.uint8)
  images[:, 0, 0, 0] = np.arange(n)
  return images, np.stack([np.arange(n) % 3, np.arange(n) % 4], axis=1)


def test_uncompressed_npz_without_factors_is_memory_mapped(tmp_path):
  images, _ = labelled_images()
  np.savez(tmp_path / "mine.npz", images=images)
  ds = data.load("arrays", path=str(tmp_path / "mine.npz"))  # source defaults to file
  assert isinstance(ds.array, np.memmap) and ds.notes == ()
  assert len(ds) == 60 and ds.num_factors == 0 and not ds.covers_grid
  np.testing.assert_array_equal(ds.images_at(np.array([5, 1])), images[[5, 1]])
  assert ds.index_to_factors(np.arange(3)).shape == (3, 0)
  src = data.batch_source(ds, "device")
  np.testing.assert_array_equal(
    src.gather(src.operand, np.array([[7, 2]])), images[[7, 2]][None]
  )


def test_compressed_npz_is_resized_once_and_keeps_its_factors(tmp_path, cache_dir):
  images, factors = labelled_images(side=32, channels=3)
  np.savez_compressed(
    tmp_path / "mine.npz",
    images=images,
    factors=factors,
    factor_names=np.array(["three", "four"]),
  )
  ds = data.load("arrays", "file", str(tmp_path / "mine.npz"))
  assert ds.image_shape == (64, 64, 3) and ds.factor_names == ("three", "four")
  assert ds.factor_sizes == (3, 4) and ds.covers_grid
  assert ds.notes == ("60 images of 32x32 resized once, on load, to 64x64 (Lanczos)",)
  want = np.asarray(
    Image.fromarray(images[9]).resize((64, 64), Image.Resampling.LANCZOS)
  )
  np.testing.assert_array_equal(ds.images_at(np.array([9]))[0], want)
  np.testing.assert_array_equal(ds.index_to_factors(np.array([9])), [[0, 1]])
  # images(factors) serves an image carrying the asked tuple, the same every time.
  chosen = ds.factors_to_index(np.array([[2, 3], [2, 3], [0, 0]]))
  np.testing.assert_array_equal(factors[chosen], [[2, 3], [2, 3], [0, 0]])
  np.testing.assert_array_equal(
    chosen, ds.factors_to_index(np.array([[2, 3], [2, 3], [0, 0]]))
  )
  assert len(list(cache_dir.glob("*.npy"))) == 1


def test_h5_with_declared_sizes_that_leave_combinations_empty(tmp_path):
  images, factors = labelled_images()
  with h5py.File(tmp_path / "mine.h5", "w") as f:
    f["images"] = images
    f["factors"] = factors
    f["factor_names"] = ["three", "four"]
    f["factor_sizes"] = [5, 4]  # classes 3 and 4 of the first have no image
  ds = data.load("arrays", path=str(tmp_path / "mine.h5"))
  assert isinstance(ds.array, np.memmap)
  assert ds.factor_sizes == (5, 4) and not ds.covers_grid
  with pytest.raises(errors.DataError, match=r"no image has factors \[\[4, 0\]\]"):
    ds.images(np.array([[4, 0]]))


def test_a_folder_of_pngs_and_jpegs_at_any_depth(tmp_path):
  rng = np.random.default_rng(0)
  grey = rng.integers(0, 256, (3, 64, 64), dtype=np.uint8)
  (tmp_path / "a" / "b").mkdir(parents=True)
  Image.fromarray(grey[0]).save(tmp_path / "z.png")
  Image.fromarray(grey[1]).save(tmp_path / "a" / "first.PNG")
  Image.fromarray(grey[2][:40, :50]).save(tmp_path / "a" / "b" / "deep.jpg")
  (tmp_path / "a" / "notes.txt").write_text("not an image")
  ds = data.load("arrays", path=str(tmp_path))
  assert len(ds) == 3 and ds.num_channels == 1 and ds.num_factors == 0
  # Sorted by path: a/b/deep.jpg, a/first.PNG, z.png.
  np.testing.assert_array_equal(ds.images_at(np.array([1, 2]))[..., 0], grey[[1, 0]])
  assert ds.notes == ("1 images of 40x50 resized once, on load, to 64x64 (Lanczos)",)
  Image.fromarray(np.stack([grey[0]] * 3, -1)).save(tmp_path / "colour.png")
  assert data.load("arrays", path=str(tmp_path)).num_channels == 3


def _npz(tmp_path, **arrays):
  np.savez(tmp_path / "bad.npz", **arrays)
  return str(tmp_path / "bad.npz")


IMAGES = np.zeros((6, 64, 64, 1), np.uint8)


@pytest.mark.parametrize(
  "arrays,message",
  [
    ({"imgs": IMAGES}, r"bad.npz: no array 'images' \(it has: imgs\)"),
    (
      {"images": IMAGES.astype(np.float32)},
      r"'images' is float32\[6, 64, 64, 1\]; "
      r"expected uint8\[N, H, W, C\]",
    ),
    ({"images": IMAGES[..., 0]}, r"'images' is uint8\[6, 64, 64\]; expected uint8"),
    (
      {"images": IMAGES, "factors": np.zeros((5, 2), int)},
      "'factors' has 5 rows for 6 images",
    ),
    (
      {"images": IMAGES, "factors": -np.ones((6, 2), int)},
      "'factors' column 0 has negative values",
    ),
    (
      {
        "images": IMAGES,
        "factors": np.zeros((6, 2), int),
        "factor_names": np.array(["a"]),
      },
      "'factor_names' has 1 entries for 2",
    ),
    (
      {"images": IMAGES, "factors": np.full((6, 1), 3), "factor_sizes": np.array([3])},
      "'factors' column 0 has class 3, not below its factor_sizes entry 3",
    ),
  ],
)
def test_bad_array_file_is_one_data_error_line(tmp_path, arrays, message):
  with pytest.raises(errors.DataError, match=message) as e:
    data.load("arrays", path=_npz(tmp_path, **arrays))
  assert "\n" not in str(e.value)


def test_bad_folders_and_paths_are_data_errors(tmp_path):
  with pytest.raises(errors.DataError, match="no such file or folder"):
    data.load("arrays", path=str(tmp_path / "missing.npz"))
  (tmp_path / "empty" / "sub").mkdir(parents=True)
  (tmp_path / "empty" / "sub" / "readme.txt").write_text("x")
  with pytest.raises(errors.DataError, match="empty: no PNG or JPEG images"):
    data.load("arrays", path=str(tmp_path / "empty"))
  (tmp_path / "broken").mkdir()
  Image.fromarray(IMAGES[0, ..., 0]).save(tmp_path / "broken" / "ok.png")
  (tmp_path / "broken" / "bad.png").write_bytes(b"\x89PNG not really")
  with pytest.raises(errors.DataError, match=r"broken/bad.png: not a readable image"):
    data.load("arrays", path=str(tmp_path / "broken"))
  (tmp_path / "text.h5").write_text("not hdf5")
  with pytest.raises(errors.DataError, match="text.h5: not a readable"):
    data.load("arrays", path=str(tmp_path / "text.h5"))

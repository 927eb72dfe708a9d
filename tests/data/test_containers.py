"""Arrays inside .npz and HDF5 files: memory-mapped in place or read in chunks."""

import zipfile

import h5py
import numpy as np
import pytest

from lbvae import errors
from lbvae.data import containers


@pytest.fixture
def images():
  return np.random.default_rng(0).integers(0, 256, (5000, 4, 3), dtype=np.uint8)


def test_stored_npz_member_is_memory_mapped_at_its_offset(tmp_path, images):
  path = str(tmp_path / "a.npz")
  np.savez(path, labels=np.arange(7), images=images)
  member = containers.npz_member(path, "images")
  assert member.offset is not None and member.describe() == "uint8[5000, 4, 3]"
  mapped = member.memmap()
  assert isinstance(mapped, np.memmap)
  np.testing.assert_array_equal(mapped, images)
  np.testing.assert_array_equal(np.concatenate(list(member.chunks())), images)


def test_compressed_npz_member_streams_in_chunks(tmp_path, images):
  path = str(tmp_path / "a.npz")
  np.savez_compressed(path, images=images)
  member = containers.npz_member(path, "images")
  assert member.offset is None
  chunks = list(member.chunks())
  assert len(chunks) == 2  # 4096 rows per chunk
  np.testing.assert_array_equal(np.concatenate(chunks), images)
  np.testing.assert_array_equal(
    containers.read_small(containers.npz_member(path, "images")), images
  )


def test_h5_contiguous_is_mapped_and_chunked_is_streamed(tmp_path, images):
  path = str(tmp_path / "a.h5")
  with h5py.File(path, "w") as f:
    f.create_dataset("flat", data=images)
    f.create_dataset(
      "group/zipped", data=images, chunks=(100, 4, 3), compression="gzip"
    )
  flat = containers.h5_member(path, "flat")
  zipped = containers.h5_member(path, "group/zipped")
  assert flat.offset is not None and zipped.offset is None
  np.testing.assert_array_equal(flat.memmap(), images)
  np.testing.assert_array_equal(np.concatenate(list(zipped.chunks())), images)


def test_missing_array_and_not_an_archive(tmp_path, images):
  path = str(tmp_path / "a.npz")
  np.savez(path, images=images)
  with pytest.raises(errors.Error, match=r"no array 'imgs' \(it has: images\)"):
    containers.npz_member(path, "imgs")
  (tmp_path / "b.npz").write_bytes(b"not a zip at all")
  with pytest.raises(errors.Error, match="b.npz: not a readable .npz archive"):
    containers.npz_member(str(tmp_path / "b.npz"), "imgs")
  with pytest.raises(errors.Error, match="b.npz: not a readable HDF5 file"):
    containers.h5_member(str(tmp_path / "b.npz"), "imgs")


def test_truncated_files_are_reported(tmp_path, images):
  npz = tmp_path / "a.npz"
  np.savez(npz, images=images)
  npz.write_bytes(npz.read_bytes()[:30000])
  with pytest.raises(
    errors.Error,
    match="a.npz: not a readable .npz archive "
    r"\(truncated or corrupt\?\)",
  ):
    containers.npz_member(str(npz), "images")
  h5 = tmp_path / "a.h5"
  with h5py.File(h5, "w") as f:
    f.create_dataset("images", data=images)
  h5.write_bytes(h5.read_bytes()[:30000])
  with pytest.raises(errors.Error, match="a.h5: not a readable HDF5 file"):
    containers.h5_member(str(h5), "images")


def test_member_whose_bytes_are_cut_short(tmp_path, images):
  path = str(tmp_path / "a.npz")
  np.savez(path, images=images)
  member = containers.npz_member(path, "images")
  with zipfile.ZipFile(path) as zf:
    assert zf.testzip() is None
  short = containers.ArrayMember(
    path, "npz", "images", (50000, 4, 3), member.dtype, member.offset
  )
  with pytest.raises(
    errors.Error,
    match=r"truncated: 'images' \(uint8\[50000, 4, "
    r"3\]\) needs \d+ bytes, the file has \d+",
  ):
    short.memmap()


def test_require_file_says_where_to_get_it(tmp_path):
  with pytest.raises(errors.Error, match="nope.npz: no such file; get it at X"):
    containers.require_file(str(tmp_path / "nope.npz"), "get it at X")

"""lbvae.files: a workdir that cannot be written is refused in one line, up front."""

import errno
import os

import numpy as np
import pytest

from lbvae import errors
from lbvae import files
import small_disk


def test_a_file_where_the_workdir_should_be(tmp_path):
  path = tmp_path / "run"
  path.write_text("x")
  with pytest.raises(errors.DiskError, match="--workdir .*run is a file, not a dir"):
    files.check_writable_dir(str(path), what="--workdir")
  with pytest.raises(errors.DiskError, match="is a file, not a directory"):
    files.check_writable_dir(str(path / "below"), what="--workdir")


def test_a_missing_workdir_is_checked_through_its_parent_and_not_created(tmp_path):
  path = tmp_path / "a" / "b"
  files.check_writable_dir(str(path), what="--workdir")
  assert not (tmp_path / "a").exists()
  with pytest.raises(errors.DataError, match="does not exist"):
    files.check_writable_dir(str(path), what="--workdir", must_exist=True)


def test_a_read_only_workdir(tmp_path):
  (tmp_path / "src").mkdir()
  with small_disk.read_only(tmp_path / "src", tmp_path / "ro") as ro:
    with pytest.raises(errors.DiskError, match="cannot write in --workdir .*: "
                       "Read-only file system .*MiB free"):
      files.check_writable_dir(ro, what="--workdir")
    with pytest.raises(errors.DiskError, match="cannot create --workdir .*new: "
                       "Read-only file system"):
      files.check_writable_dir(os.path.join(ro, "new"), what="--workdir")


def test_a_full_workdir(tmp_path):
  with small_disk.tmpfs(tmp_path / "disk", "4k") as disk:
    fd = os.open(os.path.join(disk, "filler"), os.O_WRONLY | os.O_CREAT)
    try:
      os.write(fd, b"x" * 8192)      # fills the one page, or fails having done so
    except OSError:
      pass
    os.close(fd)
    with pytest.raises(errors.DiskError, match="No space left on device .*0.0 MiB "
                       "free"):
      files.check_writable_dir(disk, what="--workdir")


def test_os_error_of_reads_tensorstore_errnos():
  text = ('RESOURCE_EXHAUSTED: Error writing "beta/0": Failed writing: "/w/d/ab": '
          "Failed to write 1342303 bytes to file 12: No space left on device "
          "[os_error_code='28']")
  found = files.os_error_of(ValueError(text))
  assert found.errno == errno.ENOSPC and found.filename == "/w/d/ab"
  wrapped = RuntimeError("outer")
  wrapped.__cause__ = PermissionError(errno.EACCES, "Permission denied", "/w/x")
  assert files.os_error_of(wrapped).filename == "/w/x"
  assert files.os_error_of(ValueError("shapes differ")) is None


def test_a_write_on_a_full_disk_is_one_line_and_keeps_the_old_file(tmp_path):
  with small_disk.tmpfs(tmp_path / "disk", "64k") as disk:
    path = os.path.join(disk, "log.csv")
    files.write_csv(path, ["step"], [{"step": 1}])
    with open(path) as f:
      before = f.read()
    rows = [{"step": "x" * 1000}] * 200          # 200 kB: more than the disk holds
    with pytest.raises(errors.DiskError, match=r"cannot write .*log.csv: No space "
                       r"left on device \([0-9.]+ MiB free"):
      files.write_csv(path, ["step"], rows)
    with pytest.raises(errors.DiskError, match="No space left on device"):
      files.write_npz(os.path.join(disk, "big.npz"), x=np.zeros(100_000))
    assert sorted(os.listdir(disk)) == ["log.csv"]
    with open(path) as f:
      assert f.read() == before

"""lbvae.files: a workdir that cannot be written is refused in one line, up front."""

import errno
import os

import numpy as np
import pytest

from lbvae import errors
from lbvae import files
from lbvae.train import workdir as workdir_lib
from tests.helpers import small_disk


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
    with pytest.raises(
      errors.DiskError,
      match="cannot write in --workdir .*: Read-only file system .*MiB free",
    ):
      files.check_writable_dir(ro, what="--workdir")
    with pytest.raises(
      errors.DiskError, match="cannot create --workdir .*new: Read-only file system"
    ):
      files.check_writable_dir(os.path.join(ro, "new"), what="--workdir")


def test_a_full_workdir(tmp_path):
  with small_disk.tmpfs(tmp_path / "disk", "4k") as disk:
    fd = os.open(os.path.join(disk, "filler"), os.O_WRONLY | os.O_CREAT)
    try:
      os.write(fd, b"x" * 8192)  # fills the one page, or fails having done so
    except OSError:
      pass
    os.close(fd)
    with pytest.raises(
      errors.DiskError, match="No space left on device .*0.0 MiB free"
    ):
      files.check_writable_dir(disk, what="--workdir")


def test_os_error_of_reads_tensorstore_errnos():
  text = (
    'RESOURCE_EXHAUSTED: Error writing "beta/0": Failed writing: "/w/d/ab": '
    "Failed to write 1342303 bytes to file 12: No space left on device "
    "[os_error_code='28']"
  )
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
    rows = [{"step": "x" * 1000}] * 200  # 200 kB: more than the disk holds
    with pytest.raises(
      errors.DiskError,
      match=r"cannot write .*log.csv: No space "
      r"left on device \([0-9.]+ MiB free",
    ):
      files.write_csv(path, ["step"], rows)
    with pytest.raises(errors.DiskError, match="No space left on device"):
      files.write_npz(os.path.join(disk, "big.npz"), x=np.zeros(100_000))
    assert sorted(os.listdir(disk)) == ["log.csv"]
    with open(path) as f:
      assert f.read() == before


def _write_all(root: str) -> None:
  files.write_json(f"{root}/a.json", {"step": 3})
  files.write_csv(f"{root}/sub/log.csv", ["step", "loss"], [{"step": 1, "loss": 0.5}])
  files.append_csv(f"{root}/sub/log.csv", ["step", "loss"], [{"step": 2}])
  files.append_text(f"{root}/run.log", "λβ one\n")
  files.append_text(f"{root}/run.log", "two\n")
  files.write_npz(f"{root}/m.npz", step=np.arange(3))
  files.write_bytes(f"{root}/f.png", b"\x89PNG")


def test_a_url_workdir_is_written_and_read_back_through_epath(bucket, tmp_path):
  _write_all(bucket)
  _write_all(str(tmp_path))
  names = {"a.json", "sub/log.csv", "run.log", "m.npz", "f.png"}
  listed = {name for name, _ in _listing(bucket)}
  assert listed == names  # no temporary left behind, nothing written locally
  assert not os.path.exists("gs:")
  for name in names - {"m.npz"}:  # the same bytes as on a local disk
    assert files.as_path(bucket, name).read_bytes() == (tmp_path / name).read_bytes(), (
      name
    )
  assert files.read_json(f"{bucket}/a.json") == {"step": 3}
  assert files.read_csv(f"{bucket}/sub/log.csv") == (
    ["step", "loss"],
    [{"step": "1", "loss": "0.5"}, {"step": "2", "loss": ""}],
  )
  assert (tmp_path / "sub" / "log.csv").read_bytes() == b"step,loss\r\n1,0.5\r\n2,\r\n"
  assert files.read_text(f"{bucket}/run.log") == "λβ one\ntwo\n"
  np.testing.assert_array_equal(files.read_npz(f"{bucket}/m.npz")["step"], np.arange(3))


def _listing(root):
  top = files.as_path(root)
  out = []
  for child in top.iterdir():
    if child.is_dir():
      out += [(f"{child.name}/{n}", p) for n, p in _listing(str(child))]
    else:
      out.append((child.name, child))
  return out


def test_a_url_workdir_is_checked_up_front(bucket):
  files.check_writable_dir(bucket, what="--workdir")  # a probe, then removed
  assert not files.as_path(bucket).exists()
  with pytest.raises(errors.DataError, match=f"--workdir {bucket} does not exist"):
    files.check_writable_dir(bucket, what="--workdir", must_exist=True)
  files.write_text(bucket, "x")
  with pytest.raises(errors.DiskError, match="is a file, not a directory"):
    files.check_writable_dir(bucket, what="--workdir")
  with pytest.raises(errors.ConfigError, match="epath opens no memory:// URL"):
    files.check_writable_dir("memory://run", what="--workdir")
  with pytest.raises(
    errors.ConfigError, match="az://c/run: TensorStore .* opens no az:// URL"
  ):
    files.check_writable_dir("az://c/run", what="--workdir")


def test_a_url_without_its_file_system_package_is_one_line():
  try:
    import s3fs  # noqa: F401

    pytest.skip("s3fs is installed: its absence cannot be shown")
  except ImportError:
    pass
  with pytest.raises(errors.ConfigError, match=r"--workdir s3://b/run: .*s3fs"):
    files.check_writable_dir("s3://b/run", what="--workdir")


def test_bools_are_written_as_numbers_or_as_words(tmp_path):
  rows = [{"run": 1, "converged": True}, {"run": 2, "converged": np.bool_(False)}]
  files.write_csv(str(tmp_path / "n.csv"), ["run", "converged"], rows)
  files.write_csv(str(tmp_path / "w.csv"), ["run", "converged"], rows, bools="text")
  assert (tmp_path / "n.csv").read_bytes() == b"run,converged\r\n1,1\r\n2,0\r\n"
  assert (tmp_path / "w.csv").read_bytes() == b"run,converged\r\n1,True\r\n2,False\r\n"
  with pytest.raises(ValueError, match="bools='yes'"):
    files.write_csv(str(tmp_path / "x.csv"), ["run"], rows, bools="yes")


def test_a_csv_read_back_is_checked_cell_by_cell(tmp_path):
  path = tmp_path / "train_log.csv"
  path.write_text("step,member,nll\n1,0,2.5\n2,0,abc\n")
  with pytest.raises(
    errors.DataError,
    match=r"train_log.csv line 3, column nll: "
    r"'abc' is not a number",
  ):
    files.read_csv(str(path), integers=("step",), numbers=("nll",))
  path.write_text("step,member,nll\n1,0,2.5\nabc,0,3.5\n")  # the sweep's resume
  with pytest.raises(
    errors.DataError, match="line 3, column step: 'abc' is not an integer"
  ):
    workdir_lib.CsvLog(str(path), ("step", "member", "nll"), resume_step=2)
  path.write_text("step,member,nll\n1,0\n")
  with pytest.raises(
    errors.DataError, match="line 2 has 2 cells where the header has 3"
  ):
    files.read_csv(str(path), integers=("step",))
  path.write_text("step,member,nll\n1,0,\n2,x,3.5\n3,0,4")  # the last row cut short
  columns, rows = files.read_csv(
    str(path), integers=("step",), numbers=("nll",), drop_unfinished=True
  )
  assert columns == ["step", "member", "nll"] and [r["step"] for r in rows] == [1, 2]
  assert np.isnan(rows[0]["nll"]) and rows[1]["member"] == "x"


def test_files_of_a_workdir_are_never_written_through_a_link(tmp_path):
  precious = tmp_path / "precious"
  precious.write_text("keep me")
  for name in ("run.log", "grid.json.tmp%d" % os.getpid()):
    link = tmp_path / "w" / name
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(precious)
  with pytest.raises(
    errors.DiskError,
    match=r"run.log is a symbolic link \(to "
    r".*precious\); lbvae writes its own files in place",
  ):
    files.append_text(str(tmp_path / "w" / "run.log"), "a line\n")
  with pytest.raises(errors.DiskError, match="is a symbolic link"):
    files.write_json(str(tmp_path / "w" / "grid.json"), {"members": []})
  assert precious.read_text() == "keep me"

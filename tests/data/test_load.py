"""lbvae.data.load: names, sources and the user-facing errors."""

import pytest

import lbvae.data as data
from lbvae import errors


def test_unknown_name_lists_the_known_ones():
  with pytest.raises(errors.Error) as e:
    data.load("dsprite")
  for name in data.DATASETS:
    assert name in str(e.value)


@pytest.mark.parametrize(
  "name,source,match",
  [
    ("dsprites", "web", "unknown dataset source 'web'"),
    ("shapes3d", "procedural", "has no 'procedural' source; it has: file, tfds"),
    ("mpi3d_real", "tfds", "has no 'tfds' source"),
    ("dsprites", "file", "dataset.path is required"),
    ("shapes3d", "tfds", "dataset.path is required"),
  ],
)
def test_bad_source_or_missing_path(name, source, match):
  with pytest.raises(errors.Error, match=match):
    data.load(name, source=source)


@pytest.mark.parametrize(
  "name,use",
  [
    ("dsprites", "set dataset.source=file or tfds to read it"),
    ("shapes3d_procedural", "'shapes3d_procedural' has no source that reads one"),
  ],
)
def test_a_path_given_to_a_procedural_source_is_refused_not_ignored(name, use):
  with pytest.raises(
    errors.ConfigError,
    match=r"dataset.path=/data/dsprites.npz is "
    r"given, but dataset.source 'procedural' reads no file .*: " + use,
  ):
    data.load(name, source="procedural", path="/data/dsprites.npz")

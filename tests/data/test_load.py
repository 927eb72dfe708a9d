"""lbvae.data.load: names, sources and the user-facing errors."""

import pytest

import lbvae.data as data
from lbvae import errors


def test_unknown_name_lists_the_known_ones():
  with pytest.raises(errors.Error) as e:
    data.load("dsprite")
  for name in data.DATASETS:
    assert name in str(e.value)


@pytest.mark.parametrize("name,source,match", [
    ("dsprites", "web", "unknown dataset source 'web'"),
    ("shapes3d", "procedural", "has no 'procedural' source; it has: file, tfds"),
    ("mpi3d_real", "tfds", "has no 'tfds' source"),
    ("dsprites", "file", "dataset.path is required"),
    ("shapes3d", "tfds", "dataset.path is required"),
])
def test_bad_source_or_missing_path(name, source, match):
  with pytest.raises(errors.Error, match=match):
    data.load(name, source=source)

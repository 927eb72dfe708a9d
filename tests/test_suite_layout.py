"""The test suite's own layout: a package whose modules import by one name each,
under ``python -m pytest``, a plain ``pytest`` and in subprocesses alike."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT
from tests.helpers import fake_devices

TESTS = pathlib.Path(ROOT, "tests")


def test_every_folder_of_tests_is_a_package():
  """So each test module imports as tests.<folder>.<name>: two folders may hold a
  test module of one name (tests/linear/test_bench.py, tests/experiments/...)."""
  folders = {p.parent for p in TESTS.rglob("*.py")}
  assert sorted(
    str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists()
  ) == ["tests/fixtures"]


def print_path() -> None:
  """Runs in a subprocess: prints its ``sys.path`` as JSON."""
  print(json.dumps(sys.path))


@pytest.mark.slow
def test_a_subprocess_has_only_the_repository_root_on_its_path(tmp_path):
  result = fake_devices.run(
    "tests.test_suite_layout", "print_path", count=1, cache_dir=tmp_path, timeout=60
  )
  assert result.returncode == 0, result.stderr[-2000:]
  path = json.loads(result.stdout.splitlines()[-1])
  assert path[0] == ROOT
  assert str(TESTS) not in path


@pytest.mark.slow
def test_a_plain_pytest_collects_the_suite():
  """The console script ``pytest`` (no working directory on ``sys.path``, unlike
  ``python -m pytest``) collects every test without an error."""
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  done = subprocess.run(
    [
      os.path.join(os.path.dirname(sys.executable), "pytest"),
      "--collect-only",
      "-q",
      "-p",
      "no:cacheprovider",
      "tests",
    ],
    cwd=ROOT,
    env=env,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert done.returncode == 0, done.stdout[-2000:]
  assert re.fullmatch(r"\d+ tests collected in [\d.]+s", done.stdout.splitlines()[-1])

"""The Makefile: the accelerator switch (`make install ACCEL=...` and its one-line
refusal), and what `make test`, `make test-quick` and `make format` run."""

import shutil
import subprocess

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _make(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run(
    ["make", "--no-print-directory", *args],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=60,
  )


@pytest.mark.parametrize("accel", ["rocm", "cuda 12", "CPU"])
def test_a_wrong_accel_is_one_line_and_exit_2(accel):
  done = _make("-n", "install", f"ACCEL={accel}")
  assert done.returncode == 2
  assert done.stdout == ""
  lines = done.stderr.strip().splitlines()
  assert len(lines) == 1
  assert f"ACCEL must be one of: cpu cuda12 cuda13 tpu; got '{accel}'" in lines[0]


@pytest.mark.parametrize(
  "accel,extra",
  [("cuda12", "jax[cuda12]=="), ("cuda13", "jax[cuda13]=="), ("tpu", "jax[tpu]==")],
)
def test_each_accel_installs_jax_for_it_at_the_installed_version(accel, extra):
  """(A dry run: the commands make would run.)"""
  done = _make("-n", "install", f"ACCEL={accel}")
  assert done.returncode == 0, done.stderr
  pip = [line for line in done.stdout.splitlines() if extra in line]
  assert len(pip) == 1
  assert "import jax; print(jax.__version__)" in pip[0]


def test_the_default_installs_no_accelerator_package():
  for args in (("-n", "install"), ("-n", "install", "ACCEL=cpu")):
    done = _make(*args)
    assert done.returncode == 0, done.stderr
    assert "jax[" not in done.stdout


def test_test_lints_first_and_prints_its_slowest_tests():
  """`make test` runs ruff's checks and the formatter's check before the suite (a
  finding stops it) and lists the 25 slowest tests; `make test-quick` leaves out the
  slow ones."""
  full = _make("-n", "test").stdout.splitlines()
  lint = [i for i, line in enumerate(full) if "-m ruff check ." in line]
  formatted = [i for i, line in enumerate(full) if "-m ruff format --check ." in line]
  suite = [i for i, line in enumerate(full) if "-m pytest" in line]
  assert len(lint) == len(formatted) == len(suite) == 1
  assert lint[0] < suite[0] and formatted[0] < suite[0]
  assert "--durations=25" in " ".join(full[suite[0] :])
  quick = _make("-n", "test-quick").stdout
  assert '-m "not slow and not accel"' in quick and "ruff" not in quick
  # the edit loop compiles without LLVM's optimisations; the whole suite as a run does
  assert "--xla_backend_optimization_level=0" in quick
  assert "optimization_level" not in " ".join(full)
  assert "-m ruff format ." in _make("-n", "format").stdout

"""The public names a user reaches from `import lbvae` are there, and only real ones."""

import importlib
import inspect
import pathlib
import subprocess
import sys

import pytest

import lbvae
from lbvae import evaluation
from lbvae import linear


def test_every_subpackage_is_an_attribute():
  root = pathlib.Path(lbvae.__file__).parent
  on_disk = {p.parent.name for p in root.glob("*/__init__.py")}
  # cli and supervisor are the command line's, not the library's.
  on_disk |= {
    p.stem for p in root.glob("*.py") if p.stem not in ("__init__", "cli", "supervisor")
  }
  # layers and grid_layout (the models' building blocks and a grid's layout of
  # them), pytrees (grid helpers) and log_filters (the log notes lbvae drops) are
  # internal: a new top-level module must be listed in SUBPACKAGES or here,
  # deliberately.
  assert on_disk - set(lbvae.SUBPACKAGES) == {
    "layers",
    "grid_layout",
    "pytrees",
    "log_filters",
  }
  assert set(lbvae.SUBPACKAGES) <= on_disk
  for name in lbvae.SUBPACKAGES:
    assert getattr(lbvae, name).__name__ == f"lbvae.{name}"
  assert issubclass(lbvae.ConfigError, lbvae.Error)
  with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
    getattr(lbvae, "nonexistent")


def test_a_module_name_says_one_thing():
  root = pathlib.Path(lbvae.__file__).parent
  stems = [p.stem for p in root.rglob("*.py") if p.stem != "__init__"]
  shared = {s for s in stems if stems.count(s) > 1}
  # linear.published keeps its name (docs/library.md imports it).
  assert shared <= {"published"}, shared


def _classes(package: str) -> set[str]:
  """The names of the classes the modules of ``package`` define."""
  folder = pathlib.Path(lbvae.__file__).parent / package.split(".")[-1]
  names = set()
  for path in folder.glob("*.py"):
    if path.stem == "__init__":
      continue
    module = importlib.import_module(f"{package}.{path.stem}")
    names |= {
      n
      for n, c in inspect.getmembers(module, inspect.isclass)
      if c.__module__ == module.__name__
    }
  return names


def test_linear_and_train_define_different_classes():
  assert not _classes("lbvae.linear") & _classes("lbvae.train")


def test_linear_exports_its_modules():
  root = pathlib.Path(linear.__file__).parent
  assert {p.stem for p in root.glob("*.py")} - {"__init__"} == set(linear.MODULES)
  for name in linear.MODULES:
    assert getattr(linear, name).__name__ == f"lbvae.linear.{name}"
  assert callable(linear.fixed_point.solve) and callable(linear.gradient.run)
  with pytest.raises(AttributeError):
    getattr(linear, "metrics")


def test_evaluation_exports_its_modules_and_entry_points():
  root = pathlib.Path(evaluation.__file__).parent
  assert {p.stem for p in root.glob("*.py")} - {"__init__"} == set(evaluation.MODULES)
  for name in evaluation.MODULES:
    assert getattr(evaluation, name).__name__ == f"lbvae.evaluation.{name}"
  for name, module in evaluation.EXPORTS.items():
    assert getattr(evaluation, name) is getattr(getattr(evaluation, module), name)
  assert set(evaluation.__all__) == set(evaluation.EXPORTS) <= set(dir(evaluation))
  with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
    getattr(evaluation, "nonexistent")


@pytest.mark.slow
def test_training_and_the_evaluation_package_load_no_figures():
  """``import lbvae.train`` (whose config reads lbvae.eval_settings) and
  ``import lbvae.evaluation`` load neither the pass nor its plotting libraries."""
  code = (
    "import sys, lbvae.train, lbvae.evaluation\n"
    "print(sorted(m for m in ('matplotlib', 'plotly', 'lbvae.evaluation.runner',"
    " 'lbvae.evaluation.figures') if m in sys.modules))"
  )
  root = pathlib.Path(lbvae.__file__).parent.parent
  out = subprocess.run(
    [sys.executable, "-c", code],
    cwd=root,
    capture_output=True,
    text=True,
    timeout=120,
    check=True,
  )
  assert out.stdout.strip() == "[]", out.stdout


def test_metrics_one_calling_convention():
  for name in ("mig", "sap", "im", "dci", "all_metrics", "posterior_scores"):
    assert callable(getattr(lbvae.metrics, name)), name

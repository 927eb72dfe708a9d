"""The repository's config files (configs/NAME.py) loaded as modules, for tests."""

import importlib.util
import os

from tests.helpers import ROOT

CONFIGS = os.path.join(ROOT, "configs")


def load(name: str):
  """configs/NAME.py as a module (call its ``get_config``)."""
  spec = importlib.util.spec_from_file_location(
    f"{name}_config", os.path.join(CONFIGS, f"{name}.py")
  )
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module

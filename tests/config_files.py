"""The repository's config files (configs/NAME.py) loaded as modules, for tests."""

import importlib.util
import os

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "configs")


def load(name: str):
  """configs/NAME.py as a module (call its ``get_config``)."""
  spec = importlib.util.spec_from_file_location(f"{name}_config",
                                                os.path.join(CONFIGS, f"{name}.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module

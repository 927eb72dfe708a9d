"""Every shipped sweep config loads, validates and builds its model."""

import glob
import importlib.util
import os

import pytest

from lbvae.train import config as config_lib
from lbvae.train import state as state_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_SWEEPS = ("bench.py", "linear.py")
SWEEPS = sorted(p for p in glob.glob(os.path.join(ROOT, "configs", "*.py"))
                if os.path.basename(p) not in NOT_SWEEPS)


def load(path):
  spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


@pytest.mark.parametrize("path", SWEEPS, ids=[os.path.basename(p) for p in SWEEPS])
def test_sweep_config_is_valid_and_documented(path):
  config = load(path)
  config_lib.validate(config)
  model = state_lib.make_model(config, 3)
  assert model.latent_dim == config.latent_dim
  doc = open(path).read()
  assert "python -m experiments.sweep" in doc     # the docstring says how to run it


def test_paper_grids():
  main = load(os.path.join(ROOT, "configs", "paper_dsprites.py"))
  assert tuple(main.betas) == (1, 4, 8, 16, 32)
  assert tuple(main.lambdas) == (0, 2, 4, 6, 8) and main.num_seeds == 10
  assert (main.phase1_steps, main.phase2_steps, main.window) == (150_000, 50_000, 5_000)
  ext = load(os.path.join(ROOT, "configs", "paper_extended.py"))
  assert tuple(ext.betas) == (1, 2, 4, 8, 16, 32, 64, 128, 256)
  assert tuple(ext.lambdas) == (0, 4, 8, 16, 32) and ext.latent_dim == 15
  for name, dataset in (("paper_shapes3d.py", "shapes3d"),
                        ("paper_mpi3d.py", "mpi3d_real")):
    c = load(os.path.join(ROOT, "configs", name))
    assert c.dataset.name == dataset and c.dataset.source == "file"
    assert tuple(c.betas) == tuple(main.betas)

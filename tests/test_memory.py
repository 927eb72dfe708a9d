"""lbvae.memory: every size a config chooses is checked against the free memory, in
one line naming the field, before anything is written."""

import importlib.util
import os

import pytest

from lbvae import errors
from lbvae import eval_settings as settings
from lbvae import memory
from lbvae import objectives
from lbvae import train
from lbvae.data import batching
from lbvae.linear import protocol
from lbvae.train import sizes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FREE = "more than the 8 GiB of free host RAM memory"


def _config(name: str):
  spec = importlib.util.spec_from_file_location(
    name, os.path.join(ROOT, "configs", f"{name}.py")
  )
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


@pytest.fixture(autouse=True)
def eight_gib_free(monkeypatch):
  monkeypatch.setattr(
    batching, "free_memory_bytes", lambda device=None: (8 * 2**30, "host RAM")
  )
  monkeypatch.setattr(batching, "host_free_bytes", lambda: 8 * 2**30)


def _sweep_needs(config):
  objective = objectives.from_config(config, dataset_size=737_280)
  return sizes.needs(config, num_channels=1, objective=objective)


@pytest.mark.parametrize(
  "field,value,named",
  [
    (
      "window",
      10**9,
      r"the grid of 4 models .* with config.window=1000000000 needs "
      r"at least 59.6 GiB for its train states \(15\d\d\d.\d MiB per "
      r"model",
    ),
    (
      "num_seeds",
      5_000,
      r"the grid of 20000 models \(config.betas x lambdas x "
      r"num_seeds=5000\)",
    ),
    (
      "batch_size",
      10**5,
      r"config.batch_size=100000 needs at least .* GiB for one "
      r"model's step",
    ),
    (
      "collapse.num_samples",
      10**8,
      r"config.collapse.num_samples=100000000 needs "
      r"at least",
    ),
    (
      "eval.factor_vae_batch",
      10**8,
      r"config.eval.factor_vae_votes x "
      r"factor_vae_batch=12 x 100000000",
    ),
    ("eval.posterior_samples", 10**8, r"config.eval.posterior_samples=100000000"),
  ],
)
def test_a_size_past_free_memory_is_one_line_before_anything_is_written(
  tmp_path, field, value, named
):
  config = _config("smoke")
  memory.require(_sweep_needs(config))  # the smoke sweep fits
  memory.require(settings.memory_needs(config, num_channels=1, encoder_batch=100))
  group, _, name = field.rpartition(".")
  (config[group] if group else config)[name] = value
  with pytest.raises(errors.ConfigError, match=named + ".*" + FREE):
    memory.require(
      _sweep_needs(config)
      + settings.memory_needs(config, num_channels=1, encoder_batch=100)
    )
  if not group:  # the sweep refuses before it writes a file
    workdir = tmp_path / "run"
    with pytest.raises(errors.ConfigError, match=named):
      train.train(config, str(workdir), show_progress=False)
    assert not workdir.exists()


def test_a_linear_instance_past_free_memory_is_one_line():
  config = _config("linear")
  memory.require(protocol.memory_needs(config))
  config.instance, config.n_values = "generated", (200_000,)
  with pytest.raises(
    errors.ConfigError,
    match=r"config.n_values=\(200000,\) needs at "
    r"least 299 GiB for the instance of n = 200000 .*" + FREE,
  ):
    memory.require(protocol.memory_needs(config))

"""lbvae.devices: the one test of CPU or accelerator, read when called."""

import pathlib
import re

import jax
import ml_collections
import pytest

import lbvae
from lbvae import devices
from lbvae.evaluation import encode
from lbvae.evaluation import runner
from lbvae.train import grid_runner
from lbvae.train import state


def test_no_other_module_tests_the_backend():
  root = pathlib.Path(lbvae.__file__).parent
  tests = re.compile(r"default_backend\(\)\)?\s*[=!]=")
  where = sorted(
    str(p.relative_to(root))
    for p in root.rglob("*.py")
    if tests.search(p.read_text(encoding="utf-8"))
  )
  assert where == ["devices.py"]


@pytest.mark.parametrize("backend", ["cpu", "gpu", "tpu"])
def test_every_choice_follows_the_backend_of_the_moment(monkeypatch, backend):
  monkeypatch.setattr(jax, "default_backend", lambda: backend)
  cpu = backend == "cpu"
  assert devices.on_cpu() == cpu
  assert devices.on_cpu("gpu") is False and devices.on_cpu("cpu") is True
  assert devices.on_tpu() == (backend == "tpu")
  assert state.resolve_impl("auto") == ("reference" if backend == "tpu" else "subpixel")
  assert grid_runner.resolve_strategy("auto") == ("map" if cpu else "vmap")
  assert encode.default_models_per_call() == (1 if cpu else None)
  config = ml_collections.ConfigDict({"eval": {"batch_size": 4 * runner.CPU_MAX_BATCH}})
  expected = runner.CPU_MAX_BATCH if cpu else 4 * runner.CPU_MAX_BATCH
  assert runner.encoder_batch(config) == expected


def test_device_name_says_the_platform():
  name = devices.device_name()
  assert name.startswith(jax.devices()[0].platform + " (")


def test_an_explicit_backend_wins_over_the_backend_of_the_moment(monkeypatch):
  """What a program is traced for can be said (a CPU host compiling for a GPU)."""
  monkeypatch.setattr(jax, "default_backend", lambda: "cpu")
  assert state.resolve_impl("auto", "gpu") == "subpixel"
  assert state.resolve_impl("auto", "tpu") == "reference"
  assert state.resolve_impl("subpixel", "tpu") == "subpixel"
  assert grid_runner.resolve_strategy("auto", "tpu") == "vmap"
  assert encode.default_models_per_call("gpu") is None
  config = ml_collections.ConfigDict({"eval": {"batch_size": 500}})
  assert runner.encoder_batch(config, "tpu") == 500
  assert devices.backend_of(jax.devices()) == "cpu"

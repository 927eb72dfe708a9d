"""A stopped linear run continues from workdir/progress/ to the same numbers."""

import os

import numpy as np
import pytest

from lbvae import errors
from lbvae.linear import experiment
from lbvae.linear import gradient
from lbvae.linear import protocol
from lbvae.linear import resume
from tests.helpers import config_files

linear_config = config_files.load("linear")


class Stop(Exception):
  """Stands for the end of a session part way through the gradient solver."""


@pytest.fixture(scope="module")
def small_config(tmp_path_factory):
  rng = np.random.default_rng(1)
  path = tmp_path_factory.mktemp("problem") / "P.npz"
  np.savez(path, Gamma=rng.normal(size=(10, 3)), Sigma_V=rng.uniform(0.1, 1.0, 3))
  config = linear_config.get_config()
  config.problem, config.num_inits, config.m = str(path), 3, 3
  config.betas, config.lambdas = (4.0,), (0.0, 2.0)
  config.gradient.steps = (60, 60)
  config.gradient.chunk = 20
  config.gradient.runs_per_chunk = (2, 2)
  config.gradient.save_minutes = 0.0  # save after every call
  config.contraction.iterations = 3
  return config


def _counting(monkeypatch, *, stop_at=None):
  """Counts gradient.advance calls; raises Stop at call number ``stop_at``."""
  calls = []
  real = gradient.advance

  def counted(*args, **kwargs):
    calls.append(args[3])
    if stop_at is not None and len(calls) == stop_at:
      raise Stop
    return real(*args, **kwargs)

  monkeypatch.setattr(gradient, "advance", counted)
  return calls


@pytest.mark.slow
def test_resumed_run_equals_uninterrupted_run(tmp_path, small_config, monkeypatch):
  experiment.reproduce(small_config, str(tmp_path / "whole"), progress=False)
  assert not os.path.exists(tmp_path / "whole" / experiment.PROGRESS_FOLDER)

  stopped = str(tmp_path / "stopped")
  calls = _counting(monkeypatch, stop_at=3)
  with pytest.raises(Stop):
    experiment.reproduce(small_config, stopped, progress=False)
  kept = sorted(os.listdir(os.path.join(stopped, experiment.PROGRESS_FOLDER)))
  # The fixed point finished; the gradient solver saved after 2 calls of 20 steps.
  assert kept == ["config.json", "fixed_point_n10.npz", "gradient_n10.state.npz"]
  assert not os.path.exists(os.path.join(stopped, "summary.csv"))

  calls = _counting(monkeypatch)
  solved = []
  real_fixed_point = protocol.solve_fixed_point
  monkeypatch.setattr(
    protocol, "solve_fixed_point", lambda *a: solved.append(1) or real_fixed_point(*a)
  )
  experiment.reproduce(small_config, stopped, progress=False)
  assert calls == [20] and not solved  # only the last 20 steps are run
  for name in ("per_init.csv", "summary.csv", "contraction.csv"):
    whole = (tmp_path / "whole" / name).read_text()
    assert (tmp_path / "stopped" / name).read_text() == whole, name
  assert not os.path.exists(os.path.join(stopped, experiment.PROGRESS_FOLDER))


@pytest.mark.slow
def test_layout_may_change_on_resume_but_not_the_science(
  tmp_path, small_config, monkeypatch
):
  workdir = str(tmp_path / "run")
  _counting(monkeypatch, stop_at=2)
  with pytest.raises(Stop):
    experiment.reproduce(small_config, workdir, progress=False)
  folder = os.path.join(workdir, experiment.PROGRESS_FOLDER)
  before = {n: os.path.getmtime(os.path.join(folder, n)) for n in os.listdir(folder)}

  other = small_config.copy_and_resolve_references()
  other.lambdas = (0.0, 4.0)
  with pytest.raises(errors.ConfigError, match="another config.*lambdas"):
    experiment.reproduce(other, workdir, progress=False)
  assert {
    n: os.path.getmtime(os.path.join(folder, n)) for n in os.listdir(folder)
  } == before

  _counting(monkeypatch)
  relaid = small_config.copy_and_resolve_references()
  relaid.gradient.num_threads, relaid.gradient.runs_per_chunk = 1, (3, 3)
  experiment.reproduce(relaid, workdir, progress=False)
  assert os.path.exists(os.path.join(workdir, "summary.csv"))


@pytest.mark.slow
@pytest.mark.parametrize("content", [b"not an npz", b""])
def test_unreadable_state_is_named(tmp_path, small_config, monkeypatch, content):
  workdir = str(tmp_path / "run")
  _counting(monkeypatch, stop_at=2)
  with pytest.raises(Stop):
    experiment.reproduce(small_config, workdir, progress=False)
  state = os.path.join(workdir, experiment.PROGRESS_FOLDER, "gradient_n10.state.npz")
  with open(state, "wb") as f:
    f.write(content)
  with pytest.raises(errors.CheckpointError, match="gradient_n10.state.npz"):
    experiment.reproduce(small_config, workdir, progress=False)


def test_state_of_another_shape_is_refused(tmp_path, small_config):
  store = resume.Store(str(tmp_path / "p"), small_config)
  store.save_state(10, {"a": np.zeros(3)}, 5, 1.0)
  with pytest.raises(errors.CheckpointError, match=r"float64\[4\]"):
    store.load_state(10, like={"a": np.zeros(4)})
  assert store.load_state(11, like={"a": np.zeros(3)}) is None
  state, done, seconds = store.load_state(10, like={"a": np.ones(3)})
  assert done == 5 and seconds == 1.0 and np.array_equal(state["a"], np.zeros(3))


def test_bad_save_interval_is_one_clear_error(small_config):
  config = small_config.copy_and_resolve_references()
  config.gradient.save_minutes = -1.0
  with pytest.raises(errors.ConfigError, match="config.gradient.save_minutes"):
    protocol.validate(config)

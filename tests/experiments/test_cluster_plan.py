"""experiments.cluster_plan: the planning table's model-step counts and a measured
per-member memory."""

import json

import pytest

from experiments import cluster_plan
from tests.helpers import config_files


def test_the_paper_protocol_is_20_million_model_steps_per_dataset():
  plans = cluster_plan.grids(config_files.load("paper_dsprites").get_config())
  steps, members = plans["one dataset (the paper's grid)"]
  assert steps == 5 * 10 * 150_000 + 5 * 5 * 10 * 50_000 == 20_000_000
  assert members == 250
  assert plans["three datasets"] == (60_000_000, 250)
  extended, members = plans["extended grid, six objectives, three datasets"]
  assert extended == 18 * (9 * 10 * 150_000 + 9 * 5 * 10 * 50_000)
  assert members == 450


@pytest.mark.slow
def test_memory_per_member_is_measured_and_grows_with_the_batch():
  config = config_files.load("smoke").get_config()
  small = cluster_plan.per_member_bytes(config)
  config.batch_size = 4 * config.batch_size
  large = cluster_plan.per_member_bytes(config)
  assert 0 < small < large


def test_plan_from_a_compiled_step(tmp_path):
  """--compiled: memory per member and rate from compile_for's phase-2 step."""
  line = {
    "target": "h100",
    "devices": 1,
    "device_memory_bytes": 8.0e10,
    "projected_protocol_seconds": 1.0,
    "programs": [
      {
        "name": "phase 1 step (50 models, chunks of 50)",
        "compiled": True,
        "peak_bytes": 5.0e9,
        "members": 50,
        "roofline_seconds": 0.01,
      },
      {
        "name": "phase 2 step (250 models, chunks of 250)",
        "compiled": True,
        "peak_bytes": 2.5e10,
        "members": 250,
        "roofline_seconds": 0.05,
      },
    ],
  }
  path = tmp_path / "h100.json"
  path.write_text("compiling ...\n" + json.dumps(line) + "\n")
  member, rate, source = cluster_plan.from_compiled(str(path))
  assert member == 1.0e8 and rate == pytest.approx(5000.0)
  assert source == "compiled for h100, at the roofline bound"


@pytest.mark.parametrize(
  "text",
  [
    "",
    "compiling ...\nreal 4m25s\n",
    "[1, 2]\n",
    '{"programs": [{"name": "phase 1 step"}]}\n',
  ],
)
def test_a_file_that_is_not_compile_for_output_is_one_line(tmp_path, text):
  from lbvae import errors

  path = tmp_path / "h100.json"
  path.write_text(text)
  with pytest.raises(errors.ConfigError, match=f"--compiled {path}|{path} has no"):
    cluster_plan.from_compiled(str(path))

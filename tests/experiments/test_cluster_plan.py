"""experiments.cluster_plan: the planning table's model-step counts and a measured
per-member memory."""

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

"""The linear benchmark's timing of the gradient solver (figures, not speed targets)."""

import pytest

from lbvae.linear import bench
from tests.helpers import config_files

linear_config = config_files.load("linear")


def test_gradient_timing_reports_its_figures():
  config = linear_config.get_config()
  config.instance, config.n_values, config.m, config.num_inits = "generated", (8,), 2, 2
  config.betas, config.lambdas = (4.0,), (0.0, 2.0)
  out = bench.gradient(config, n=8, steps=3, repeats=1)
  assert out["runs"] == 4 and out["timed_steps"] == 3
  assert out["protocol_steps"] == config.gradient.steps[0]
  assert out["seconds_per_step"] > 0 and out["gflops"] > 0
  assert out["seconds_per_run_step"] == pytest.approx(out["seconds_per_step"] / 4)
  assert out["extrapolated_s"] == pytest.approx(
    out["seconds_per_step"] * out["protocol_steps"]
  )


def test_flop_count_follows_the_blocked_products():
  # n >= 64: L L^T at n^3 / 2 and G L at 3 n^3 / 4 multiply-adds instead of n^3.
  dense = bench.gradient_flops(63, 10, 5)
  blocked = bench.gradient_flops(64, 10, 5)
  assert blocked < dense * (64 / 63) ** 3
  assert bench.gradient_flops(100, 10, 5) > 4 * 100**3

"""The benchmark's bookkeeping: FLOP count, device peaks, config checks (no timing)."""

import types

import pytest

from experiments import bench
from experiments import bench_profile
from lbvae import cli


def test_flops_per_model_step_by_hand():
  # Multiply-adds per 64x64x1 example, layer by layer (SPEC §4).
  encoder = 32**2 * 32 * 16 * 1 + 16**2 * 32 * 16 * 32 + 8**2 * 64 * 16 * 32 \
      + 4**2 * 64 * 16 * 64
  decoder = 8**2 * 64 * 4 * 64 + 16**2 * 32 * 4 * 64 + 32**2 * 32 * 4 * 32 \
      + 64**2 * 1 * 4 * 32
  dense = 1024 * 256 + 2 * 256 * 10 + 10 * 256 + 256 * 1024
  assert encoder + decoder + dense == 16_260_608
  assert bench_profile.model_step_flops(64) == 6 * 64 * 16_260_608  # ~6.24 GFLOP
  assert bench_profile.model_step_flops(32) == bench_profile.model_step_flops(64) / 2


def test_device_peaks():
  h200 = types.SimpleNamespace(device_kind="NVIDIA H200")
  assert bench_profile.device_peak(h200, "default") == 494e12      # TF32
  assert bench_profile.device_peak(h200, "bfloat16") == 989e12
  assert bench_profile.device_peak(h200, "float32") == 67e12
  assert bench_profile.device_peak(types.SimpleNamespace(device_kind="cpu"),
                                   "default") is None


def _config(**changes):
  from configs import bench as bench_config  # pylint: disable=import-outside-toplevel
  c = bench_config.get_config()
  c.update(changes)
  return c


def test_config_validation_names_the_field():
  bench.validate(_config())
  for field, value in [("grid_size", 0), ("steps", 0), ("impls", "reference,torch"),
                       ("strategies", "pmap"), ("matmul_precision", "fp8"),
                       ("clock", "sundial"),
                       ("impls", "")]:
    with pytest.raises(cli.UsageError, match=field):
      bench.validate(_config(**{field: value}))

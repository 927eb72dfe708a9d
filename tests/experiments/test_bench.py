"""The benchmark's bookkeeping: FLOP count, device peaks, config checks (no timing)."""

import json
import subprocess
import sys
import types

import pytest

from experiments import bench
from experiments import bench_profile
from experiments import bench_torch
from lbvae import errors
from tests.helpers import ROOT


def test_flops_per_model_step_by_hand():
  # Multiply-adds per 64x64x1 example, layer by layer (docs/method.md §4).
  encoder = (
    32**2 * 32 * 16 * 1
    + 16**2 * 32 * 16 * 32
    + 8**2 * 64 * 16 * 32
    + 4**2 * 64 * 16 * 64
  )
  decoder = (
    8**2 * 64 * 4 * 64 + 16**2 * 32 * 4 * 64 + 32**2 * 32 * 4 * 32 + 64**2 * 1 * 4 * 32
  )
  dense = 1024 * 256 + 2 * 256 * 10 + 10 * 256 + 256 * 1024
  assert encoder + decoder + dense == 16_260_608
  assert bench_profile.model_step_flops(64) == 6 * 64 * 16_260_608  # ~6.24 GFLOP
  assert bench_profile.model_step_flops(32) == bench_profile.model_step_flops(64) / 2


def test_device_peaks():
  h200 = types.SimpleNamespace(device_kind="NVIDIA H200")
  assert bench_profile.device_peak(h200, "default") == 494e12  # TF32
  assert bench_profile.device_peak(h200, "bfloat16") == 989e12
  assert bench_profile.device_peak(h200, "float32") == 67e12
  assert (
    bench_profile.device_peak(types.SimpleNamespace(device_kind="cpu"), "default")
    is None
  )


def _config(**changes):
  from configs import bench as bench_config  # pylint: disable=import-outside-toplevel

  c = bench_config.get_config()
  c.update(changes)
  return c


def test_config_validation_names_the_field():
  bench.validate(_config())
  for field, value in [
    ("grid_size", 0),
    ("steps", 0),
    ("impls", "reference,torch"),
    ("strategies", "pmap"),
    ("matmul_precision", "fp8"),
    ("clock", "sundial"),
    ("impls", ""),
  ]:
    with pytest.raises(errors.Error, match=field):
      bench.validate(_config(**{field: value}))


@pytest.mark.slow
def test_bench_runs_and_ends_with_its_json_line():
  """A tiny end-to-end run: the alternatives are compared, the fastest is timed, and
  the last line is the JSON object the issue names (grid_size, steps, backend,
  model_steps_per_second, peak_memory_bytes), with the environment it ran under."""
  proc = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.bench",
      "--config=configs/bench.py",
      "--config.grid_size=2",
      "--config.steps=2",
      "--config.batch_size=4",
      "--config.impls=subpixel",
      "--config.strategies=loop,map",
      "--config.compare_rounds=1",
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert proc.returncode == 0, proc.stderr[-2000:]
  lines = proc.stdout.strip().splitlines()
  result = json.loads(lines[-1])
  assert result["grid_size"] == 2 and result["steps"] == 2
  assert result["backend"] == "cpu" and result["batch_size"] == 4
  assert result["model_steps_per_second"] > 0 and result["peak_memory_bytes"] > 0
  assert result["flops_per_second"] == pytest.approx(
    result["model_steps_per_second"] * bench_profile.model_step_flops(4)
  )
  assert {a["strategy"] for a in result["alternatives"]} == {"loop", "map"}
  assert all(
    a["model_steps_per_second"] > 0 and a["timed_steps"] == 1
    for a in result["alternatives"]
  )
  fastest = max(result["alternatives"], key=lambda a: a["model_steps_per_second"])
  assert result["strategy"] == fastest["strategy"]
  assert set(result["environment"]) == {"GLIBC_TUNABLES", "XLA_FLAGS"}
  assert any(l.startswith("chosen subpixel/") for l in lines)


def test_torch_profile_times_the_same_layers():
  """bench_torch runs without jax, so it keeps its own copy of the layer shapes: it
  must stay the one bench_profile derives from the model."""
  assert list(bench_torch.LAYERS) == bench_profile.layer_shapes(1)

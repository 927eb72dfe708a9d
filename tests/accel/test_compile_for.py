"""experiments.compile_for: every program of a config compiled for a target.

The runs that compile for an H100 need JAX's CUDA plugin and ptxas (``make
test-accel`` builds that environment) and take a few minutes of CPU, so they are
marked ``accel``; the refusal without the packages runs in ``make test``.
"""

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT

KEYS = {
  "target",
  "devices",
  "device_memory_bytes",
  "programs",
  "projected_protocol_seconds",
}
PROGRAM_KEYS = {
  "name",
  "compiled",
  "error",
  "peak_bytes",
  "flops_per_device",
  "collectives",
}
HAS_CUDA = importlib.util.find_spec("jax_cuda12_plugin") is not None


def _compile_for(cli_env, *args, timeout=900):
  return subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.compile_for",
      "--config=configs/smoke.py",
      *args,
    ],
    cwd=ROOT,
    env=cli_env,
    capture_output=True,
    text=True,
    timeout=timeout,
  )


@pytest.mark.skipif(HAS_CUDA, reason="the CUDA plugin is installed here")
def test_a_target_without_its_packages_is_one_line_naming_the_install(cli_env):
  done = _compile_for(cli_env, "--target=h100")
  assert done.returncode == 2
  lines = done.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: --target=h100 needs ")
  assert lines[0].endswith("run: make install ACCEL=cuda12")


def _result(done) -> dict:
  assert done.returncode == 0, done.stderr[-3000:]
  out = json.loads(done.stdout.strip().splitlines()[-1])
  assert set(out) >= KEYS
  for p in out["programs"]:
    assert set(p) >= PROGRAM_KEYS
  return out


@pytest.mark.accel
@pytest.mark.skipif(not HAS_CUDA, reason="needs JAX's CUDA plugin: make test-accel")
def test_the_smoke_grid_compiles_for_an_h100(cli_env):
  """Every program compiles, each peak fits the H100's 80 GB, the grid steps have no
  collective, FLOPs and bytes are counted from the HLO, and a protocol time is
  projected from the roofline."""
  out = _result(_compile_for(cli_env, "--target=h100"))
  assert out["target"] == "h100" and out["devices"] == 1
  names = [p["name"] for p in out["programs"]]
  assert names[0].startswith("phase 1 step") and names[1].startswith("phase 2 step")
  assert any(n.startswith("evaluation scores") for n in names)
  for p in out["programs"]:
    assert p["compiled"], p
    assert 0 < p["peak_bytes"] < out["device_memory_bytes"]
    assert p["cost_source"] == "hlo"
  for p in out["programs"][:2]:
    assert p["collectives"] == 0 and p["flops_per_device"] > 0
  assert out["projected_protocol_seconds"] > 0


@pytest.mark.accel
def test_fake_devices_split_the_smoke_grid(cli_env):
  """--target=cpu --devices=4: the accelerator's program over 4 host devices, with
  no accelerator package and no collective in either phase's step."""
  out = _result(_compile_for(cli_env, "--target=cpu", "--devices=4"))
  assert out["devices"] == 4 and out["device_memory_bytes"] is None
  for p in out["programs"]:
    assert p["compiled"], p
  steps = out["programs"][:2]
  assert [p["collectives"] for p in steps] == [0, 0]
  assert "sharded over 4 devices" in steps[1]["note"]
  assert out["projected_protocol_seconds"] is None

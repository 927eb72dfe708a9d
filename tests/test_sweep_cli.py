"""``python -m experiments.sweep`` from the command line: the smoke sweep, bad input."""

import os
import socket
import subprocess
import sys

import numpy as np

import pytest

from tests.helpers.file_state import snapshot
from tests.helpers import small_disk

# Every test runs `python -m experiments.sweep` (or evaluate) in a subprocess.
pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def env(cli_env):
  """The subprocesses share the session's compilation cache (tests/conftest.py)."""
  return cli_env


def sweep(env, *args):
  return subprocess.run(
    [sys.executable, "-m", "experiments.sweep", *args],
    cwd=ROOT,
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
  )


@pytest.fixture(scope="module")
def smoke(env, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("cli") / "smoke")
  result = sweep(
    env, "--config=configs/smoke.py", f"--workdir={workdir}", "--noprogress"
  )
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir, result


def test_smoke_sweep_runs_end_to_end(smoke, env):
  workdir, result = smoke
  assert "phase 1: 2 models, steps 0 -> 4" in result.stdout
  assert "phase 2: 4 models, steps 4 -> 6" in result.stdout
  assert "sweep finished" in result.stdout
  for phase, n in ((1, 2), (2, 4)):
    with open(os.path.join(workdir, f"phase{phase}", "final_metrics.csv")) as f:
      lines = f.read().splitlines()
    assert lines[0].startswith("member,beta,lambda,seed,nll,kl,l2,loss,finite")
    assert len(lines) == 1 + n and all(",nan," not in l for l in lines)
  again = sweep(
    env, "--config=configs/smoke.py", f"--workdir={workdir}", "--noprogress"
  )
  assert again.returncode == 0 and "is already trained" in again.stdout


def read_final(workdir, phase):
  with open(os.path.join(workdir, f"phase{phase}", "final_metrics.csv")) as f:
    lines = f.read().splitlines()
  return lines[0], np.array([[float(v) for v in l.split(",")] for l in lines[1:]])


def test_smoke_sweep_sharded_over_4_devices_equals_one_device(smoke, env, tmp_path):
  """4 fake CPU devices (``auto`` then shards with vmap), through the multi-host entry
  (``jax.distributed`` with one process): the same final metrics as on 1 device."""
  with socket.socket() as s:
    s.bind(("localhost", 0))
    port = s.getsockname()[1]
  env = dict(
    env,
    XLA_FLAGS="--xla_force_host_platform_device_count=4",
    LBVAE_DISTRIBUTED="1",
    JAX_COORDINATOR_ADDRESS=f"localhost:{port}",
    JAX_NUM_PROCESSES="1",
    JAX_PROCESS_ID="0",
  )
  workdir = str(tmp_path / "sharded")
  result = sweep(
    env, "--config=configs/smoke.py", f"--workdir={workdir}", "--noprogress"
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert "grid of 2 models sharded over 4 devices (padded with 2 inert copies)" in (
    result.stdout
  )
  assert "grid of 4 models sharded over 4 devices" in result.stdout
  for phase in (1, 2):
    head, sharded = read_final(workdir, phase)
    head1, single = read_final(smoke[0], phase)
    assert head == head1 and sharded.shape == single.shape
    np.testing.assert_allclose(sharded, single, rtol=1e-4)


@pytest.mark.parametrize(
  "override,message,existing",
  [
    (
      "--config.betas=(1,-4)",
      "error: config.betas must hold finite values >= 0, got -4",
      True,
    ),
    ("--config.grid_strategy=pmap", "error: config.grid_strategy must be one of", True),
    ("--config.phase1_steps=12", "error: ", True),  # differs from the stored config
    (
      "--config.dataset.name=mnist",
      "error: unknown dataset 'mnist'; known datasets:",
      False,
    ),
    (
      "--config.batch_size=0",
      "error: config.batch_size must be an integer >= 1",
      False,
    ),
    (
      "--config.grid_chunk=-2",
      "error: config.grid_chunk must be an integer >= -1",
      False,
    ),
    ("--config.seed=-1", "error: config.seed must be an integer in [0, 2**32)", False),
    (
      "--config.batch_size=1000000000",
      "error: config.batch_size=1000000000 needs at least",
      False,
    ),
    ("--config.adam_eps=inf", "error: config.adam_eps must be a finite number", False),
    (
      "--config.latent_dim=100000000",
      "error: config.latent_dim must be an integer in [1, 256]",
      False,
    ),
    (
      "--config.eval.factor_vae_votes=-5",
      "error: config.eval.factor_vae_votes must be an integer >= 0",
      False,
    ),
  ],
)
def test_bad_input_is_one_line_and_exit_2(
  smoke, env, tmp_path, override, message, existing
):
  workdir = smoke[0] if existing else str(tmp_path / "new")
  before = snapshot(workdir)
  result = sweep(env, "--config=configs/smoke.py", f"--workdir={workdir}", override)
  assert result.returncode == 2, result.stderr[-3000:]
  errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
  assert len(errors) == 1 and errors[0].startswith(message), result.stderr[-3000:]
  assert "Traceback" not in result.stderr
  assert snapshot(workdir) == before
  assert existing or not os.path.exists(workdir)


def test_missing_workdir_flag(env):
  result = sweep(env, "--config=configs/smoke.py")
  assert result.returncode == 2
  assert "error: --workdir is required" in result.stderr


def evaluate(env, *args):
  return subprocess.run(
    [sys.executable, "-m", "experiments.evaluate", *args],
    cwd=ROOT,
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
  )


def _rows(path):
  with open(path) as f:
    lines = f.read().splitlines()
  header = lines[0].split(",")
  return [dict(zip(header, l.split(","))) for l in lines[1:]]


def test_smoke_train_then_evaluate(smoke, env):
  workdir, _ = smoke
  result = evaluate(env, f"--workdir={workdir}")
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip().splitlines()[-1] == (
    f"report: {os.path.join(workdir, 'report.md')}"
  )
  rows = _rows(os.path.join(workdir, "eval", "metrics.csv"))
  grid = sorted((r["phase"], float(r["beta"]), float(r["lambda"])) for r in rows)
  assert grid == sorted(
    [("1", b, 0.0) for b in (1.0, 8.0)]
    + [("2", b, l) for b in (1.0, 8.0) for l in (0.0, 4.0)]
  )
  for r in rows:
    for key in ("nll", "kl", "l2", "mig", "sap", "im", "heldout_nll"):
      assert r[key] not in ("", "nan"), (key, r)
    assert 0.0 <= float(r["mig"]) <= 1.0 and float(r["im"]) >= 0.0
  assert os.path.exists(os.path.join(workdir, "eval", "summary.csv"))
  # The selection views: the slider page beside the report's static figures.
  report = open(os.path.join(workdir, "report.md")).read()
  assert "](eval/selection.html)" in report and "### NLL–MIG Pareto front" in report
  page = open(os.path.join(workdir, "eval", "selection.html")).read()
  assert page.count('"method":"update"') == 101


def test_smoke_sweep_on_the_three_channel_scenes(env, tmp_path):
  workdir = str(tmp_path / "scenes")
  result = sweep(
    env,
    "--config=configs/smoke.py",
    f"--workdir={workdir}",
    "--config.dataset.name=shapes3d_procedural",
    "--noprogress",
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert "shapes3d_procedural (procedural)" in result.stdout
  rows = _rows(os.path.join(workdir, "phase2", "final_metrics.csv"))
  assert len(rows) == 4 and all(r["finite"] == "1" for r in rows)
  # A 3-channel model: the checkpointed decoder ends in 3 output channels.
  from lbvae import train

  params, _ = train.load_params(os.path.join(workdir, "phase2", "checkpoints"))
  kernel = params["decoder"]["ConvTranspose_3"]["kernel"]
  assert kernel.shape[-1] == 3 and kernel.shape[0] == 4  # grid of 4 models


def _one_error(result, *fragments):
  assert result.returncode == 2, result.stderr[-3000:]
  errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
  assert len(errors) == 1, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  for fragment in fragments:
    assert fragment in errors[0], errors[0]
  return errors[0]


def test_a_workdir_that_is_a_file(env, tmp_path):
  path = tmp_path / "run"
  path.write_text("not a directory")
  _one_error(
    sweep(env, "--config=configs/smoke.py", f"--workdir={path}"),
    f"--workdir {path} is a file, not a directory",
  )
  _one_error(
    evaluate(env, f"--workdir={path}"), f"--workdir {path} is a file, not a directory"
  )
  assert path.read_text() == "not a directory"


def test_a_read_only_workdir_is_refused_before_any_work(smoke, env, tmp_path):
  with small_disk.read_only(smoke[0], tmp_path / "ro") as ro:
    before = snapshot(ro)
    _one_error(
      sweep(env, "--config=configs/smoke.py", f"--workdir={ro}"),
      f"cannot write in --workdir {ro}: Read-only file system",
      "MiB free",
    )
    result = evaluate(env, f"--workdir={ro}", "--noprogress")
    _one_error(result, f"cannot write in --workdir {ro}: Read-only file system")
    assert "to evaluate" not in result.stdout  # refused before any model
    assert snapshot(ro) == before


def test_a_full_disk_is_one_line_and_keeps_the_earlier_checkpoint(env, tmp_path):
  """The smoke sweep on a 20 MB file system fills it at its second checkpoint (a
  phase-1 checkpoint of the smoke grid takes about 12.5 MB)."""
  with small_disk.tmpfs(tmp_path / "disk", "20m") as disk:
    workdir = os.path.join(disk, "run")
    result = sweep(
      env, "--config=configs/smoke.py", f"--workdir={workdir}", "--noprogress"
    )
    _one_error(
      result,
      "cannot write checkpoint 4 of phase 1: No space left on device",
      "MiB free",
    )
    assert os.path.isfile(
      os.path.join(workdir, "phase1", "checkpoints", "2", "_CHECKPOINT_METADATA")
    )
    assert os.path.getsize(os.path.join(workdir, "config.json")) > 0


def test_a_disk_too_small_for_the_first_files(env, tmp_path):
  with small_disk.tmpfs(tmp_path / "disk", "4k") as disk:
    line = _one_error(
      sweep(
        env,
        "--config=configs/smoke.py",
        f"--workdir={os.path.join(disk, 'run')}",
        "--noprogress",
      ),
      "No space left on device",
      "MiB free",
    )
    assert f"cannot write {disk}/run/" in line

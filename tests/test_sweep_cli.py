"""``python -m experiments.sweep`` from the command line: the smoke sweep, bad input."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def env(request):
  """The subprocesses share the session's compilation cache (see tests/train)."""
  out = dict(os.environ)
  out["JAX_COMPILATION_CACHE_DIR"] = str(
      request.config.cache.mkdir("jax_compilation_cache"))
  out["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.2"
  return out


def sweep(env, *args):
  return subprocess.run([sys.executable, "-m", "experiments.sweep", *args], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=600)


def listing(root):
  out = {}
  for d, _, files in os.walk(root):
    for name in files:
      p = os.path.join(d, name)
      st = os.stat(p)
      out[p] = (st.st_size, st.st_mtime_ns)
  return out


@pytest.fixture(scope="module")
def smoke(env, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("cli") / "smoke")
  result = sweep(env, "--config=configs/smoke.py", f"--workdir={workdir}",
                 "--noprogress")
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
  again = sweep(env, "--config=configs/smoke.py", f"--workdir={workdir}", "--noprogress")
  assert again.returncode == 0 and "is already trained" in again.stdout


@pytest.mark.parametrize("override,message,existing", [
    ("--config.betas=(1,-4)", "error: config.betas must hold finite values >= 0, got -4",
     True),
    ("--config.grid_strategy=pmap", "error: config.grid_strategy must be one of", True),
    ("--config.phase1_steps=12", "error: ", True),   # differs from the stored config
    ("--config.dataset.name=mnist", "error: unknown dataset 'mnist'; known datasets:",
     False),
    ("--config.batch_size=0", "error: config.batch_size must be an integer >= 1", False),
])
def test_bad_input_is_one_line_and_exit_2(smoke, env, tmp_path, override, message,
                                          existing):
  workdir = smoke[0] if existing else str(tmp_path / "new")
  before = listing(workdir)
  result = sweep(env, "--config=configs/smoke.py", f"--workdir={workdir}", override)
  assert result.returncode == 2, result.stderr[-3000:]
  errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
  assert len(errors) == 1 and errors[0].startswith(message), result.stderr[-3000:]
  assert "Traceback" not in result.stderr
  assert listing(workdir) == before
  assert existing or not os.path.exists(workdir)


def test_missing_workdir_flag(env):
  result = sweep(env, "--config=configs/smoke.py")
  assert result.returncode == 2
  assert "error: --workdir is required" in result.stderr

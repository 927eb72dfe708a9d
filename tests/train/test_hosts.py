"""Several hosts on 127.0.0.1: two processes of two fake CPU devices each, joined by
``jax.distributed`` (gloo collectives), against one process with four devices.

The sweep of tests/train/test_loop.py (smoke config, phase 1 to step 4, phase 2 to
step 8, checkpoints every 2 steps) trains as two processes and as one; its CSVs must
be the same to the bit (the same mesh of four devices). The evaluation pass reads
the two-process workdir on one process and on two, and gives the table of the
one-process run. A process SIGKILLed after its checkpoint in phase 1 (process 1)
and in phase 2 (process 0, the coordinator) leaves the other exiting with one line
within seconds, and both started again finish with the uninterrupted numbers.
"""

import csv
import os
import shutil
import signal
import sys
import time

import numpy as np
import pytest

from lbvae.train import hosts
from tests.helpers import fake_devices

pytestmark = pytest.mark.slow

LOST_AFTER = 5  # LBVAE_LOST_HOST_SECONDS in these runs
CSVS = (
  "phase1/train_log.csv",
  "phase1/final_metrics.csv",
  "phase1/collapse.csv",
  "phase2/train_log.csv",
  "phase2/final_metrics.csv",
  "phase2/collapse.csv",
)
OVERRIDES = ["--config=configs/smoke.py", "--config.phase2_steps=4", "--noprogress"]
SWEEP = [sys.executable, "-m", "experiments.sweep", *OVERRIDES]
EVALUATE = [sys.executable, "-m", "experiments.evaluate", "--noprogress"]
RTOL = 1e-3  # the evaluation's tolerance across layouts (test_portable)


def worker(workdir, kill_phase, kill_step, victim):
  """A process of the sweep that SIGKILLs itself after (phase, step)'s checkpoint
  when it is process ``victim``."""
  import jax
  from lbvae import train
  from tests.train.test_loop import sweep_config

  def hook(phase, step):
    if (phase, step) == (kill_phase, kill_step) and jax.process_index() == victim:
      os.kill(os.getpid(), signal.SIGKILL)

  config = sweep_config()
  config.distributed = True
  train.train(config, workdir, hook=hook, show_progress=False)


def two_processes(argv, cache, *, per_process=None, extra_env=None, timeout=500):
  env = {hosts.ENV_LOST_AFTER: str(LOST_AFTER), **(extra_env or {})}
  procs = fake_devices.start_processes(
    argv,
    num_processes=2,
    count=2,
    cache_dir=cache,
    extra_env=env,
    per_process=per_process,
  )
  return fake_devices.wait_all(procs, timeout=timeout)


def assert_ok(results):
  for i, (rc, out, err) in enumerate(results):
    assert rc == 0, f"process {i} exited {rc}:\n{err[-3000:]}"


def read(path):
  with open(path, newline="") as f:
    return f.read()


def table(path):
  with open(path, newline="") as f:
    return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, compilation_cache):
  """The uninterrupted sweep as two processes and as one process of four devices."""
  root = tmp_path_factory.mktemp("hosts")
  two, one = str(root / "two"), str(root / "one")
  assert_ok(
    two_processes(
      SWEEP + [f"--workdir={two}", "--config.distributed=True"], compilation_cache
    )
  )
  single = fake_devices.env(compilation_cache, 4)
  import subprocess

  done = subprocess.run(
    SWEEP + [f"--workdir={one}"],
    cwd=fake_devices.ROOT,
    env=single,
    capture_output=True,
    text=True,
    timeout=500,
  )
  assert done.returncode == 0, done.stderr[-3000:]
  return root, two, one


def test_two_processes_train_both_phases_like_one(runs):
  _, two, one = runs
  for name in CSVS:
    assert read(os.path.join(two, name)) == read(os.path.join(one, name)), name
  top = lambda d: sorted(os.listdir(d))
  assert top(two) == top(one)
  for phase in ("phase1", "phase2"):
    assert top(os.path.join(two, phase)) == top(os.path.join(one, phase))
    assert top(os.path.join(two, phase, "checkpoints")) == top(
      os.path.join(one, phase, "checkpoints")
    )
  log = read(os.path.join(two, "run.log"))
  assert "sharded over 4 devices on 2 hosts" in log
  assert log.count("sweep finished") == 1  # process 0 alone writes the log


def test_evaluation_on_one_and_two_processes_matches_one_process(
  runs, compilation_cache
):
  import subprocess

  root, two, one = runs
  single = fake_devices.env(compilation_cache, 4)
  reference = subprocess.run(
    EVALUATE + [f"--workdir={one}"],
    cwd=fake_devices.ROOT,
    env=single,
    capture_output=True,
    text=True,
    timeout=500,
  )
  assert reference.returncode == 0, reference.stderr[-3000:]
  expected = table(os.path.join(one, "eval", "metrics.csv"))
  on_one, on_two = str(root / "eval_one"), str(root / "eval_two")
  shutil.copytree(two, on_one)
  shutil.copytree(two, on_two)
  alone = subprocess.run(
    EVALUATE + [f"--workdir={on_one}"],
    cwd=fake_devices.ROOT,
    env=fake_devices.env(compilation_cache, 1),
    capture_output=True,
    text=True,
    timeout=500,
  )
  assert alone.returncode == 0, alone.stderr[-3000:]
  results = two_processes(
    EVALUATE + [f"--workdir={on_two}", "--config.distributed=True"], compilation_cache
  )
  assert_ok(results)
  # Each process scored its share, and process 0 counted both shares.
  assert "evaluated 6 new model(s), 0 cached" in results[0][2] + results[0][1]
  for workdir in (on_one, on_two):
    got = table(os.path.join(workdir, "eval", "metrics.csv"))
    assert [list(r) for r in got] == [list(r) for r in expected]
    assert len(got) == len(expected) == 6
    for r, e in zip(got, expected):
      for key in ("phase", "beta", "lambda", "seed", "step"):
        assert r[key] == e[key]
      for key in ("nll", "kl", "mig", "im", "sap", "heldout_nll"):
        np.testing.assert_allclose(
          float(r[key]),
          float(e[key]),
          rtol=RTOL,
          atol=1e-6,
          err_msg=f"{workdir}: {key}",
        )
    assert os.path.exists(os.path.join(workdir, "report.md"))


def test_a_lost_process_ends_the_run_in_one_line_and_resume_is_exact(
  runs, tmp_path, compilation_cache
):
  _, two, _ = runs
  workdir = str(tmp_path / "killed")
  work = (
    f"import sys; sys.argv = ['worker']; from tests.train.test_hosts import "
    f"worker; worker({workdir!r}, {{}}, {{}}, {{}})"
  )
  # As experiments.sweep runs it under jax.distributed: a supervised child.
  call = (
    "import sys; from lbvae import supervisor; "
    "sys.exit(supervisor.supervise([sys.executable, '-c', {!r}]))"
  )
  call = call.format(work).replace("{{", "{").replace("}}", "}")
  for phase, step, victim in ((1, 2, 1), (2, 6, 0)):
    t0 = time.monotonic()
    code = call.format(phase, step, victim)
    results = two_processes([sys.executable, "-c", code], compilation_cache)
    seconds = time.monotonic() - t0
    survivor = 1 - victim
    assert results[victim][0] == 128 + signal.SIGKILL
    rc, _, err = results[survivor]
    assert rc == hosts.LOST_EXIT_STATUS, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: lost process {victim} of 2"), last
    assert "Traceback" not in err and "Check failure" not in err
    assert seconds < 240, seconds
    # Nothing half-written is trusted: the newest step on disk is the one both
    # processes committed before the kill, and no temporary is taken for a step.
    ckpts = os.path.join(workdir, f"phase{phase}", "checkpoints")
    steps = sorted(int(d) for d in os.listdir(ckpts) if d.isdigit())
    assert steps[-1] == step, steps
  assert_ok(
    two_processes([sys.executable, "-c", call.format(0, 0, -1)], compilation_cache)
  )
  for name in CSVS:
    assert read(os.path.join(workdir, name)) == read(os.path.join(two, name)), name


def test_processes_that_disagree_are_refused_before_any_step(
  tmp_path, compilation_cache
):
  workdir = str(tmp_path / "odd")
  results = two_processes(
    SWEEP + [f"--workdir={workdir}", "--config.distributed=True"],
    compilation_cache,
    per_process=lambda i: [f"--config.seed={i}"],
    timeout=300,
  )
  for rc, _, err in results:
    assert rc == 2, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(
      "error: the processes of this run disagree: config "
      "(process 1 differs from process 0)"
    ), last
  assert not os.path.exists(os.path.join(workdir, "phase1"))
  assert not os.path.exists(os.path.join(workdir, "config.json"))


def test_lost_host_seconds_must_be_a_number(monkeypatch):
  import lbvae

  monkeypatch.setenv(hosts.ENV_LOST_AFTER, "soon")
  with pytest.raises(lbvae.ConfigError, match=hosts.ENV_LOST_AFTER):
    hosts.lost_after_seconds()
  monkeypatch.setenv(hosts.ENV_LOST_AFTER, "12")
  assert hosts.lost_after_seconds() == 12.0

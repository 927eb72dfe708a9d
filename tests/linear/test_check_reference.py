"""experiments/check_linear_reference.py: a protocol run replayed through the published loop.

The protocol's fixed-point runs (vectorised solver) must stop after the same number
of updates as the literal NumPy loop and score the same; a per_init.csv value that
was changed by hand must show up as exactly that difference.
"""

import csv
import os
import subprocess
import sys

import pytest

from lbvae import errors
from lbvae.linear import experiment
from tests.helpers import config_files

# Every test runs experiments/check_linear_reference.py in a subprocess.
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OVERRIDES = {
  "instance": "generated",
  "n_values": (8,),
  "m": 3,
  "num_inits": 3,
  "betas": (1.0, 4.0),
  "lambdas": (0.0, 2.0),
  "solvers": "fixed_point",
  "fixed_point.max_iters": (400, 400),
  "contraction.iterations": 3,
}
TAMPERED = 0.01


def _config():
  config = config_files.load("linear").get_config()
  for field, value in OVERRIDES.items():
    group, _, key = field.rpartition(".")
    (config[group] if group else config)[key] = value
  return config


def _check(*args):
  flags = [f"--config.{k}={v}" for k, v in OVERRIDES.items()]
  env = dict(os.environ, OMP_NUM_THREADS="1")
  return subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.check_linear_reference",
      f"--config={os.path.join(config_files.CONFIGS, 'linear.py')}",
      *flags,
      *args,
    ],
    cwd=REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
  )


@pytest.fixture(scope="module")
def per_init(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("run")
  experiment.reproduce(_config(), str(workdir), progress=False)
  return str(workdir / "per_init.csv")


def test_replay_matches_and_a_changed_value_shows(per_init, tmp_path):
  rows = experiment.read_per_init(per_init)
  assert len(rows) == 12
  assert any(r["iterations"] == 400 for r in rows)  # capped beta = 1 runs are in
  # Change one run's R by hand: the check must see it.
  lines = open(per_init).read().splitlines()
  header = lines[0].split(",")
  col, target = header.index("recon"), 7
  cells = lines[1 + target].split(",")
  cells[col] = repr(float(cells[col]) + TAMPERED)
  lines[1 + target] = ",".join(cells)
  tampered = tmp_path / "per_init.csv"
  tampered.write_text("\n".join(lines) + "\n")
  out = tmp_path / "reference.csv"
  proc = _check(f"--per_init={tampered}", "--n=8", f"--out={out}")
  assert proc.returncode == 0, proc.stderr
  assert "different number of updates: 0" in proc.stdout
  with open(out, newline="") as f:
    replay = list(csv.DictReader(f))
  assert len(replay) == len(rows)
  for k, r in enumerate(replay):
    assert int(r["iterations"]) == int(r["reference_iterations"])
    assert abs(float(r["sap_diff"])) < 1e-8 and abs(float(r["im_diff"])) < 1e-8
    expected = -TAMPERED if k == target else 0.0
    assert abs(float(r["recon_diff"]) - expected) < 1e-8, (k, r)


@pytest.mark.parametrize(
  "args, message",
  [
    (["--n=9"], "no fixed-point runs of n=9 in the cells asked for"),
    (["--n=8", "--out=PER_INIT"], "exists; give a new file name"),
  ],
)
def test_bad_request_is_one_clear_line(per_init, args, message):
  before = open(per_init).read()
  proc = _check(
    f"--per_init={per_init}", *(a.replace("PER_INIT", per_init) for a in args)
  )
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines()[-1].endswith(message)
  assert open(per_init).read() == before


@pytest.mark.parametrize(
  "content, message",
  [
    (None, "no such file"),
    ("solver,n\nfixed_point,50\n", "not a per_init.csv"),
    ("BAD", "bad recon value 'x'"),
  ],
)
def test_bad_per_init_is_one_clear_error(per_init, tmp_path, content, message):
  path = tmp_path / "per_init.csv"
  if content == "BAD":
    lines = open(per_init).read().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("recon")] = "x"
    content = "\n".join([lines[0], ",".join(cells)]) + "\n"
  if content is not None:
    path.write_text(content)
  with pytest.raises(errors.DataError, match=message):
    experiment.read_per_init(str(path))

"""The linear protocol end to end: config validation, summaries, CLI and its files."""

import csv
import os
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import errors
from lbvae.linear import experiment
from lbvae.linear import objective
from lbvae.linear import problem as problem_lib
from lbvae.linear import protocol
from tests.helpers import config_files

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
linear_config = config_files.load("linear")


@pytest.mark.parametrize(
  "field,value,message",
  [
    ("betas", (-1.0, 4.0), "config.betas has -1.0"),
    ("betas", (), "config.betas is empty"),
    ("lambdas", (0.0, -2.0), "config.lambdas has -2.0"),
    ("solvers", "fixed_point,adam", "unknown solver 'adam'"),
    ("solvers", "", "config.solvers is empty"),
    ("num_inits", 0, "config.num_inits"),
    ("noise_var", -0.1, "config.noise_var"),
  ],
)
def test_validate_names_the_bad_field(field, value, message):
  config = linear_config.get_config()
  config[field] = value
  with pytest.raises(errors.Error, match=message):
    protocol.validate(config)


def test_validate_checks_per_size_settings():
  config = linear_config.get_config()
  protocol.validate(config)
  config.fixed_point.tol = (1e-6,)
  with pytest.raises(errors.Error, match="one value per config.size_classes"):
    protocol.validate(config)


def test_size_class_picks_first_class_at_least_n():
  config = linear_config.get_config()
  classes = [protocol.size_class(config, n) for n in (10, 50, 51, 100, 400)]
  assert classes == [0, 0, 1, 1, 1]


def test_summarise_means_and_spreads():
  rows = [
    dict(
      solver="fixed_point",
      n=5,
      m=2,
      s=1,
      beta=4.0,
      **{"lambda": 0.0},
      recon=r,
      sap=0.0,
      im=i,
    )
    for r, i in ((1.0, 0.5), (3.0, 1.5))
  ]
  (summary,) = protocol.summarise(rows)
  assert summary["inits"] == 2
  assert summary["recon_mean"] == 2.0 and summary["recon_std"] == 1.0
  assert summary["im_mean"] == 1.0 and summary["sap_std"] == 0.0


def test_evaluate_calls_no_lapack():
  """Scoring a batch of models calls no LAPACK kernel (they can deadlock: see spd)."""
  prob = problem_lib.Problem(jnp.ones((6, 2)), jnp.eye(2), jnp.asarray(0.05))
  params = objective.Params(
    jnp.zeros((3, 6, 2)),
    jnp.zeros((3, 2, 6)),
    jnp.broadcast_to(jnp.eye(6), (3, 6, 6)),
    jnp.broadcast_to(jnp.eye(2), (3, 2, 2)),
  )
  assert "custom_call" not in protocol.evaluate.lower(params, prob).as_text()


def _cli(workdir, *flags):
  cmd = [
    sys.executable,
    "-m",
    "experiments.linear",
    "--config=configs/linear.py",
    f"--workdir={workdir}",
    *flags,
  ]
  return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def small_problem(tmp_path_factory):
  rng = np.random.default_rng(0)
  path = tmp_path_factory.mktemp("problem") / "P.npz"
  np.savez(path, Gamma=rng.normal(size=(12, 3)), Sigma_V=rng.uniform(0.1, 1.0, 3))
  return str(path)


@pytest.mark.slow
def test_cli_writes_every_file_with_exact_columns(tmp_path, small_problem):
  out = _cli(
    tmp_path,
    f"--config.problem={small_problem}",
    "--config.num_inits=3",
    "--config.solvers=fixed_point",
    "--config.betas=(4,8)",
    "--config.lambdas=(0,2)",
    "--config.m=4",
    "--config.contraction.betas=(2,4)",
    "--config.contraction.iterations=6",
  )
  assert out.returncode == 0, out.stderr
  with open(tmp_path / "summary.csv") as f:
    summary = list(csv.DictReader(f))
  assert list(summary[0]) == list(protocol.SUMMARY_COLUMNS)
  assert len(summary) == 4 and {r["solver"] for r in summary} == {"fixed_point"}
  assert all(r["n"] == "12" and r["s"] == "3" and r["inits"] == "3" for r in summary)
  collapsed = [r for r in summary if float(r["lambda"]) == 0.0]
  kept = [r for r in summary if float(r["lambda"]) > 0.0]
  assert all(float(r["im_mean"]) < 1e-6 for r in collapsed)
  assert all(float(r["im_mean"]) > 0.05 for r in kept)
  with open(tmp_path / "contraction.csv") as f:
    gains = list(csv.DictReader(f))
  assert list(gains[0]) == ["beta", "lambda", "iteration", "gain"]
  assert len(gains) == 2 * 2 * 6
  with open(tmp_path / "per_init.csv") as f:
    assert len(list(csv.DictReader(f))) == 4 * 3
  for name in (
    "boxplots_n12.png",
    "heatmaps_n12.png",
    "contraction.png",
    "run.json",
    "instance_n12.npz",
  ):
    assert os.path.getsize(tmp_path / name) > 0, name
  assert not [n for n in os.listdir(tmp_path) if n.startswith(".staging")]


@pytest.mark.slow
@pytest.mark.parametrize(
  "flag,message",
  [
    ("--config.betas=(-1,4)", "config.betas has -1.0"),
    ("--config.solvers=fixed_point,newton", "unknown solver 'newton'"),
    ("--config.problem=/no/such/file.npz", "no such file"),
  ],
)
def test_cli_bad_input_exits_2_with_one_line_and_keeps_workdir(tmp_path, flag, message):
  (tmp_path / "summary.csv").write_text("earlier results\n")
  out = _cli(tmp_path, flag)
  assert out.returncode == 2
  lines = [l for l in out.stderr.splitlines() if l.startswith("error:")]
  assert len(lines) == 1 and message in lines[0], out.stderr
  assert "Traceback" not in out.stderr
  assert (tmp_path / "summary.csv").read_text() == "earlier results\n"
  assert sorted(os.listdir(tmp_path)) == ["summary.csv"]


@pytest.mark.slow
def test_combine_rebuilds_a_run_from_its_files(tmp_path, small_problem):
  config = linear_config.get_config()
  config.problem, config.num_inits, config.solvers = small_problem, 2, "fixed_point"
  config.betas, config.lambdas, config.m = (4.0,), (0.0, 2.0), 4
  config.contraction.iterations = 4
  experiment.reproduce(config, str(tmp_path / "a"), progress=False)
  names = experiment.combine(
    [str(tmp_path / "a"), str(tmp_path / "a")], str(tmp_path / "b")
  )
  assert "heatmaps_n12.png" in names and "boxplots_n12.png" in names
  for name in ("summary.csv", "per_init.csv"):
    assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
  with pytest.raises(errors.Error, match="not a finished linear run"):
    experiment.combine([str(tmp_path / "none")], str(tmp_path / "c"))


def test_a_url_workdir_is_refused_in_one_line(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  with pytest.raises(
    errors.ConfigError,
    match="gs://b/linear: the linear experiment's results are staged",
  ):
    experiment.check_workdir("gs://b/linear")
  assert os.listdir(tmp_path) == []  # no local gs:/b/linear

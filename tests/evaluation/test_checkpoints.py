"""What the evaluation pass reads of a trained phase besides its checkpoints."""

import math
import shutil

import pytest

from lbvae import errors
from lbvae import files
from lbvae import objectives
from lbvae.evaluation import checkpoints
from lbvae.train import workdir
from tests.evaluation import conftest


def _final_metrics(path, fields, parts):
  columns = workdir.ID_COLUMNS + fields + workdir.FLAG_COLUMNS + parts
  row = {
    "member": 0,
    "beta": 4.0,
    "lambda": 2.0,
    "seed": 1,
    "finite": 1,
    "frozen_step": -1,
    "step": 10,
  }
  row.update({f: float(i) for i, f in enumerate(fields + parts)})
  row["kl"] = ""  # an empty cell reads as NaN
  files.write_csv(path, columns, [row])


def test_training_means_are_the_reported_fields_and_the_parts(tmp_path):
  path = str(tmp_path / "final_metrics.csv")
  _final_metrics(path, objectives.BASE_FIELDS, ("total_correlation",))
  means = checkpoints._train_means(path)
  assert list(means) == [(4.0, 2.0, 1)]
  got = means[(4.0, 2.0, 1)]
  assert list(got) == ["nll", "kl", "l2", "total_correlation"]  # loss is not reported
  assert got["nll"] == 0.0 and math.isnan(got["kl"]) and got["total_correlation"] == 4.0
  assert checkpoints._train_means(str(tmp_path / "missing.csv")) == {}


def test_a_new_logged_field_reaches_the_tables(tmp_path, monkeypatch):
  """A base field added to the objectives' declarations is read without a list to
  edit here: reported, it is a training mean; not reported, it is left out."""
  fields = objectives.BASE_FIELDS + ("grad_norm", "lr")
  monkeypatch.setattr(objectives, "BASE_FIELDS", fields)
  monkeypatch.setattr(objectives, "REPORTED", objectives.REPORTED + ("grad_norm",))
  monkeypatch.setattr(
    workdir, "FINAL_COLUMNS", workdir.ID_COLUMNS + fields + workdir.FLAG_COLUMNS
  )
  path = str(tmp_path / "final_metrics.csv")
  _final_metrics(path, fields, ("capacity",))
  got = checkpoints._train_means(path)[(4.0, 2.0, 1)]
  assert list(got) == ["nll", "kl", "l2", "grad_norm", "capacity"]
  assert got["grad_norm"] == 4.0 and got["capacity"] == 6.0


def test_a_workdir_whose_files_disagree_with_its_checkpoints_is_one_line(
  run_dir, tmp_path
):
  root = str(tmp_path / "run")
  shutil.copytree(run_dir, root)
  paths = workdir.Paths(root)
  config = conftest.small_config()
  phases, _ = checkpoints.find_phases(root)
  checkpoints.check_against_config(
    phases, config, num_channels=1, config_file=paths.config
  )  # as written: agrees
  # config.json with another latent size, or a run on 3-channel images.
  with pytest.raises(
    errors.DataError,
    match=r"phase 1 checkpoint .* does not hold "
    r"the model .*config.json describes \(latent_dim=12, 1 image "
    r"channel\(s\)\): \['decoder'\]\['Dense_0'\]\['kernel'\] is "
    r"\(10, 256\), expected \(12, 256\)",
  ):
    checkpoints.check_against_config(
      phases,
      dict_config(config, latent_dim=12),
      num_channels=1,
      config_file=paths.config,
    )
  with pytest.raises(
    errors.DataError,
    match=r"3 image channel\(s\)\): \['decoder'\]"
    r"\['ConvTranspose_3'\]\['bias'\] is \(1,\), expected \(3,\)",
  ):
    checkpoints.check_against_config(
      phases, config, num_channels=3, config_file=paths.config
    )
  # A member dropped from grid.json: its row would vanish from the tables.
  grid = files.read_json(paths.grid(2))
  del grid["members"][1]
  files.write_json(paths.grid(2), grid)
  with pytest.raises(
    errors.DataError,
    match=r"phase2/grid.json disagrees with the "
    r"checkpoint's own record .*metadata \(3 vs 4 models\): it lacks "
    r"member 1 \(β=1, λ=4, seed 0\)",
  ):
    checkpoints.find_phases(root)
  # Phase 2's checkpoint and grid.json of a 3-β run: their labels agree, the grid
  # of config.json does not hold them.
  other = dict_config(config, betas=(1.0, 4.0, 8.0))
  conftest.write_run(str(tmp_path / "other"), other)
  shutil.rmtree(paths.phase(2))
  shutil.copytree(workdir.Paths(str(tmp_path / "other")).phase(2), paths.phase(2))
  phases, _ = checkpoints.find_phases(root)
  with pytest.raises(
    errors.DataError,
    match=r"holds phase 2, β=4, λ=0, seed 0, "
    r"which is not on the grid of .*config.json \(betas \[1.0, 8.0\]",
  ):
    checkpoints.check_against_config(
      phases, config, num_channels=1, config_file=paths.config
    )
  # final_metrics.csv with a cell that is not a number.
  with open(paths.final_metrics(1), "a") as f:
    f.write("9,1.0,0.0,0,abc,1,1,1,1,-1,4\n")
  with pytest.raises(
    errors.DataError,
    match=r"final_metrics.csv line 4, column nll: "
    r"'abc' is not a number",
  ):
    checkpoints.find_phases(root)


def dict_config(config, **fields):
  out = config.copy_and_resolve_references()
  out.update(fields)
  return out

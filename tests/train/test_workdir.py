"""The workdir's stored config: fixed by the first checkpoint, replaceable before."""

import json
import os

import pytest

from lbvae import errors
from lbvae import files
from lbvae import objectives
from lbvae.train import config as config_lib
from lbvae.train import workdir


def _config(**fields):
  c = config_lib.defaults()
  for k, v in fields.items():
    c[k] = v
  return c


def test_a_workdir_without_a_checkpoint_takes_a_corrected_config(tmp_path):
  paths = workdir.Paths(str(tmp_path / "run"))
  workdir.store_config(paths, _config(batch_size=10**9))  # a first run that crashed
  os.makedirs(paths.checkpoints(1))  # ... before its first save
  corrected = _config(batch_size=64)
  assert workdir.check_config(paths, corrected) is False
  workdir.store_config(paths, corrected)
  with open(paths.config) as f:
    assert json.load(f)["batch_size"] == 64


def test_a_workdir_with_a_checkpoint_keeps_its_config(tmp_path):
  paths = workdir.Paths(str(tmp_path / "run"))
  workdir.store_config(paths, _config(batch_size=32))
  os.makedirs(os.path.join(paths.checkpoints(1), "2"))
  with pytest.raises(
    errors.ConfigError,
    match="trained with a different config: batch_size .stored 32, given 64.",
  ):
    workdir.check_config(paths, _config(batch_size=64))
  assert workdir.check_config(paths, _config(batch_size=32)) is True
  workdir.store_config(paths, _config(batch_size=64))
  with open(paths.config) as f:
    assert json.load(f)["batch_size"] == 32


def test_a_workdir_from_before_model_init_was_initialised_as_flax_and_resumes(tmp_path):
  paths = workdir.Paths(str(tmp_path / "run"))
  stored = config_lib.defaults().to_dict()
  del stored["model"]
  files.write_json(paths.config, stored)
  os.makedirs(os.path.join(paths.checkpoints(1), "2"))
  assert workdir.with_added_fields(stored)["model.init"] == "flax"
  # the initialisation is behind the checkpoint: today's default resumes it
  assert workdir.check_config(paths, config_lib.defaults()) is True
  with pytest.raises(errors.ConfigError, match="latent_dim"):
    workdir.check_config(paths, _config(latent_dim=12))


@pytest.mark.parametrize(
  "role,before,resumes",
  [
    (config_lib.RESULTS, config_lib.DEFAULT, True),
    (config_lib.RESULTS, 7, False),  # runs before it held 7: not today's 3
    (config_lib.HOW, config_lib.ORIGINAL, True),
    (config_lib.RESULTS, config_lib.ORIGINAL, False),
  ],
)
def test_a_field_declared_once_says_whether_old_workdirs_resume(
  tmp_path, monkeypatch, role, before, resumes
):
  """A new field is one Field line: the stored-config rules follow it."""
  paths = workdir.Paths(str(tmp_path / "run"))
  files.write_json(paths.config, config_lib.defaults().to_dict())  # before the field
  os.makedirs(os.path.join(paths.checkpoints(1), "2"))
  declared = config_lib.declared()
  monkeypatch.setattr(
    config_lib,
    "declared",
    lambda: declared + (config_lib.Field("dataset.crop", 3, role, before),),
  )
  assert config_lib.defaults().dataset.crop == 3
  if resumes:
    assert workdir.check_config(paths, config_lib.defaults()) is True
    assert workdir.load_config(paths.root).dataset.crop == 3
  else:
    with pytest.raises(errors.ConfigError, match=r"different config: dataset\.crop "):
      workdir.check_config(paths, config_lib.defaults())
  changed = config_lib.defaults()
  changed.dataset.crop = 5
  if role == config_lib.HOW:  # how, not what: another value resumes
    assert workdir.check_config(paths, changed) is True


def test_todays_stored_config_rules():
  assert workdir.FREE_FIELDS == (
    "dataset.path",
    "dataset.placement",
    "log_every",
    "checkpoint_every",
    "keep_checkpoints",
    "model_impl",
    "grid_strategy",
    "map_batch_size",
    "steps_per_call",
    "grid_chunk",
    "distributed",
    "eval",
    "collapse",
  )
  assert workdir.START_FIELDS == ("model.init",)
  assert workdir.LEGACY_VALUES == {"model": {"init": "flax"}}
  names = [f.name for f in config_lib.declared()]
  assert len(names) == len(set(names))


def test_a_url_workdir_keeps_its_config_and_trims_its_log_on_resume(bucket):
  paths = workdir.Paths(bucket + "/")
  assert paths.root == bucket and paths.config == f"{bucket}/config.json"
  workdir.store_config(paths, _config(batch_size=32))
  files.write_json(f"{paths.checkpoints(1)}/2/meta/metadata", {})  # a checkpoint
  assert workdir.has_checkpoints(paths)
  with pytest.raises(errors.ConfigError, match="batch_size .stored 32, given 64."):
    workdir.check_config(paths, _config(batch_size=64))
  assert workdir.load_config(bucket).batch_size == 32
  log = workdir.TrainLog(paths.train_log(1), None)
  log.append([{"step": s, "member": 0} for s in (1, 2, 3)])
  workdir.TrainLog(paths.train_log(1), resume_step=2)
  _, rows = files.read_csv(paths.train_log(1))
  assert [r["step"] for r in rows] == ["1", "2"]


def test_the_csv_columns_follow_the_logged_fields():
  assert workdir.LOG_COLUMNS == (
    "step",
    "member",
    "beta",
    "lambda",
    "seed",
    "nll",
    "kl",
    "l2",
    "loss",
    "finite",
  )
  assert workdir.FINAL_COLUMNS == (
    "member",
    "beta",
    "lambda",
    "seed",
    "nll",
    "kl",
    "l2",
    "loss",
    "finite",
    "frozen_step",
    "step",
  )
  # Every field a step logs has its column, in the order the step logs them.
  for name in objectives.NAMES:
    objective = objectives.make(name)
    fields = objectives.log_fields(objective)
    for columns in (
      workdir.log_columns(objective.parts),
      workdir.final_columns(objective.parts),
    ):
      logged = [
        c for c in columns if c not in workdir.ID_COLUMNS + workdir.FLAG_COLUMNS
      ]
      assert tuple(logged) == fields


def test_load_config_names_what_is_missing_or_unreadable(tmp_path):
  """One load_config (also lbvae.evaluation's): a user's mistake is a ConfigError."""
  from lbvae import evaluation  # pylint: disable=import-outside-toplevel

  assert evaluation.load_config is workdir.load_config
  missing = str(tmp_path / "nope")
  with pytest.raises(errors.ConfigError, match=f"workdir {missing} does not exist"):
    workdir.load_config(missing)
  with pytest.raises(
    errors.ConfigError, match="config.json does not exist: .* is not a training run"
  ):
    workdir.load_config(str(tmp_path))
  paths = workdir.Paths(str(tmp_path))
  files.write_text(paths.config, "{not json")
  with pytest.raises(errors.ConfigError, match="cannot read .*config.json"):
    workdir.load_config(str(tmp_path))
  workdir.store_config(paths, _config(batch_size=16))
  assert workdir.load_config(str(tmp_path)).batch_size == 16


def test_a_config_json_edited_by_hand_is_one_line_naming_the_file(tmp_path):
  paths = workdir.Paths(str(tmp_path))
  good = json.loads(config_lib.defaults().to_json_best_effort())
  os.makedirs(os.path.join(paths.checkpoints(1), "2"))
  for stored, message in (
    ([1, 2], "holds a JSON list, not a config"),
    (
      {k: v for k, v in good.items() if k != "dataset"},
      "lacks dataset.name, dataset.source, which every run's config holds",
    ),
    (dict(good, dataset=3), "dataset is 3, not a group of fields"),
    (dict(good, latent_dim="ten"), "config.latent_dim must be an integer"),
    (dict(good, adam_b1="x"), "a field of the wrong type"),
  ):
    files.write_json(paths.config, stored)
    with pytest.raises(errors.DataError, match=f"{paths.config}.*{message}"):
      workdir.load_config(str(tmp_path))
    if isinstance(stored, list) or "dataset" not in stored:  # the sweep's reader too
      with pytest.raises(errors.DataError, match=message):
        workdir.check_config(paths, config_lib.defaults())
  # A field added since the file was written is its default.
  files.write_json(paths.config, {k: v for k, v in good.items() if k != "collapse"})
  assert workdir.load_config(str(tmp_path)).collapse.num_samples == 1_000


def test_load_config_reads_a_config_from_before_model_init_as_flax(tmp_path):
  root = tmp_path / "run"
  root.mkdir()
  stored = config_lib.defaults().to_dict()
  del stored["model"]
  files.write_json(str(root / "config.json"), stored)
  assert workdir.load_config(str(root)).model.init == "flax"

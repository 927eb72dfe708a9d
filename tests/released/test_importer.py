"""lbvae.released.importer: the authors' layout -> a workdir the evaluation reads."""

import errno
import json
import math
import os
import shutil

import jax
import numpy as np
import pytest

from lbvae import errors
from lbvae import files
from lbvae import train
from lbvae.evaluation import released_scores
from lbvae.released import convert
from lbvae.released import layout
from lbvae.released import importer
from lbvae.released import torch_pth
from lbvae.train import config as config_lib
from lbvae.train import workdir as workdir_lib
from tests.helpers import small_disk
from tests.released import conftest


def _import(source, workdir, **kw):
  return importer.import_released(str(source), str(workdir), log=lambda m: None, **kw)


def _listing(root):
  return sorted(
    os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
  )


def test_import_writes_the_trainer_layout(released_dir, tmp_path):
  run = tmp_path / "run"
  result = _import(released_dir, run)
  assert result.imported and result.num_models == {1: 2, 2: 1}
  config = workdir_lib.load_config(str(run))
  config_lib.validate(config)
  assert tuple(config.betas) == (1.0, 4.0) and tuple(config.lambdas) == (2.0,)
  assert config.num_seeds == 1 and config.latent_dim == 10
  assert (config.dataset.name, config.dataset.source) == ("dsprites", "procedural")
  assert config.released.dataset_folder == "dsprites"
  # Each checkpoint row holds the converted parameters of the file of its member.
  for phase, stems in ((1, conftest.STEMS[:2]), (2, conftest.STEMS[2:])):
    params, meta = train.load_params(workdir_lib.Paths(str(run)).checkpoints(phase))
    with open(workdir_lib.Paths(str(run)).grid(phase)) as f:
      assert json.load(f) == meta
    assert meta["step"] == meta["end_step"] == (150_000 if phase == 1 else 200_000)
    for row, stem in zip(meta["members"], stems):
      want = convert.flax_params(
        torch_pth.load(conftest.model_path(released_dir, stem))
      )
      got = jax.tree.map(lambda a, i=row["member"]: np.asarray(a[i]), params)
      jax.tree.map(np.testing.assert_array_equal, got, want)
      assert f"beta_{row['beta']:g}_" in stem and row["seed"] == 0
  assert meta["members"][0]["lambda"] == 2.0 and meta["members"][0]["parent"] == 1


def test_published_metrics_and_their_variants(released_dir, tmp_path):
  """Phase 1 files use NLL/KL/total_loss/MIG/SAP/I_m scalars; phase 2 files use
  lower-case keys with per-epoch histories and no SAP (see make_torch_fixture.py)."""
  run = tmp_path / "run"
  _import(released_dir, run)
  table = released_scores.read(str(run))
  mi = released_scores.read_mi(str(run))
  for phase, stem, mstem in (
    (1, "betavae_beta_4_seed_0", "metrics_beta_4_seed_0"),
    (2, "lambda_betavae_beta_4_lambda_2_seed_0", "metrics_beta_4_lambda_2_seed_0"),
  ):
    path = conftest.model_path(released_dir, stem).replace(
      f"{stem}.pth", f"{mstem}.npz"
    )
    raw = dict(np.load(path))
    key = "p1_b4_l0_s0" if phase == 1 else "p2_b4_l2_s0"
    if phase == 1:
      expect = {
        "nll": raw["NLL"],
        "kl": raw["KL"],
        "loss": raw["total_loss"],
        "mig": raw["MIG"],
        "sap": raw["SAP"],
        "im": raw["I_m"],
      }
    else:
      expect = {
        "nll": raw["nll"][-1],
        "kl": raw["kl"][-1],
        "loss": raw["loss"][-1],
        "mig": raw["mig"][-1],
        "im": raw["im"][-1],
        "sap": math.nan,
      }
    for metric, value in expect.items():
      np.testing.assert_allclose(
        table[key][metric], float(value), rtol=1e-6, err_msg=f"{key} {metric}"
      )
    np.testing.assert_array_equal(mi[key], raw["mi_matrix"])
  final = {
    (r["beta"], r["lambda"]): r
    for r in _csv(workdir_lib.Paths(str(run)).final_metrics(1))
  }
  assert final[("4.0", "0.0")]["nll"] == repr(float(table["p1_b4_l0_s0"]["nll"]))
  assert final[("4.0", "0.0")]["l2"] == "nan"


def _csv(path):
  import csv  # pylint: disable=import-outside-toplevel

  with open(path, newline="") as f:
    return list(csv.DictReader(f))


def test_reading_metrics_tolerates_key_variants(tmp_path):
  path = tmp_path / "m.npz"
  np.savez(
    path,
    **{
      "Recon_Loss": np.float32(3.0),
      "KL-Divergence": np.arange(3.0),
      "SAP score": 0.5,
      "mi": np.ones((10, 5)),
      "extra": 1.0,
    },
  )
  out = layout.read_metrics(str(path))
  assert (out["nll"], out["kl"], out["sap"]) == (3.0, 2.0, 0.5)
  assert math.isnan(out["mig"]) and math.isnan(out["im"]) and math.isnan(out["loss"])
  assert out["mi_matrix"].shape == (10, 5) and out["unused"] == ["extra"]
  np.savez(path, nll=np.ones((2, 2)))
  with pytest.raises(errors.DataError, match="expected a number or a 1-D history"):
    layout.read_metrics(str(path))


def test_reimport_is_a_noop_and_other_runs_are_kept(released_dir, tmp_path):
  run = tmp_path / "run"
  _import(released_dir, run)
  before = _listing(run)
  stamp = os.path.getmtime(run / "config.json")
  assert not _import(released_dir, run).imported
  assert _listing(run) == before and os.path.getmtime(run / "config.json") == stamp
  # Another import (one file fewer) into the same workdir is refused.
  os.remove(conftest.model_path(released_dir, conftest.STEMS[0]))
  with pytest.raises(errors.Error, match="different config|other files"):
    _import(released_dir, run)
  assert _listing(run) == before
  # A directory that holds something else is refused too.
  other = tmp_path / "other"
  other.mkdir()
  (other / "notes.txt").write_text("mine")
  with pytest.raises(errors.ConfigError, match="not an import"):
    _import(released_dir, other)
  assert _listing(other) == ["notes.txt"]
  assert not [p for p in os.listdir(tmp_path) if ".importing-" in p]


def test_errors_name_the_problem(released_dir, tmp_path):
  run = tmp_path / "run"
  with pytest.raises(errors.DataError, match="is not a directory"):
    _import(tmp_path / "nope", run)
  with pytest.raises(errors.DataError, match="no betavae_results/"):
    _import(tmp_path, run)
  # Two dataset folders: --dataset picks one; an unknown folder is named.
  extra = released_dir / "betavae_results" / "celeba"
  extra.mkdir()
  with pytest.raises(errors.ConfigError, match="2 dataset folders.*--dataset"):
    _import(released_dir, run)
  with pytest.raises(errors.DataError, match="unknown dataset folder 'celeba'"):
    _import(released_dir, run, dataset="celeba")
  with pytest.raises(errors.ConfigError, match="no dataset folder 'shapes3d'"):
    _import(released_dir, run, dataset="shapes3d")
  with pytest.raises(errors.DataError, match="no released models"):
    (extra.parent.parent / "lambda_betavae_results" / "celeba").mkdir()
    os.rename(extra, released_dir / "betavae_results" / "mpi3d_real")
    os.rename(
      released_dir / "lambda_betavae_results" / "celeba",
      released_dir / "lambda_betavae_results" / "mpi3d_real",
    )
    _import(released_dir, run, dataset="mpi3d_real")
  # An unreadable .pth is named; nothing is written.
  bad = conftest.model_path(released_dir, conftest.STEMS[1])
  with open(bad, "r+b") as f:
    f.truncate(1000)
  with pytest.raises(errors.DataError, match="betavae_beta_4_seed_0.pth"):
    _import(released_dir, run, dataset="dsprites")
  assert not run.exists()
  assert not [p for p in os.listdir(tmp_path) if ".importing-" in p]


def test_only_phase_one(released_dir, tmp_path):
  shutil.rmtree(released_dir / "lambda_betavae_results")
  run = tmp_path / "run"
  result = _import(released_dir, run)
  assert result.num_models == {1: 2, 2: 0}
  assert not (run / "phase2").exists()
  config_lib.validate(workdir_lib.load_config(str(run)))


def test_state_dict_inside_a_training_checkpoint():
  sd = {"encoder.fc_mu.weight": np.zeros((10, 256)), "encoder.fc_mu.bias": np.zeros(10)}
  assert importer.state_dict(sd, "a.pth") is sd
  assert importer.state_dict({"model_state_dict": sd, "epoch": 3}, "a.pth") is sd
  wrapped = {f"module.{k}": v for k, v in sd.items()}  # DataParallel
  assert set(importer.state_dict({"state_dict": wrapped}, "a.pth")) == set(sd)
  with pytest.raises(errors.DataError, match="a.pth: holds no state dict"):
    importer.state_dict({"optimizer": {}}, "a.pth")


def test_a_url_workdir_is_refused_before_anything_is_read(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  with pytest.raises(
    errors.ConfigError, match="gs://b/run: an import is built beside the workdir"
  ):
    importer.import_released(str(tmp_path / "no-such-source"), "gs://b/run")
  assert os.listdir(tmp_path) == []  # no local gs:/b/run either


def test_a_full_disk_during_the_import_is_one_line_and_leaves_nothing(
  released_dir, tmp_path
):
  with small_disk.tmpfs(tmp_path / "disk", "300k") as disk:
    run = os.path.join(disk, "run")
    os.makedirs(os.path.join(disk, ".run.importing-999999999"))  # a killed import's
    said = []
    with pytest.raises(
      errors.DiskError,
      match=r"cannot write the import into .*run: "
      r"No space left on device \(\d+\.\d MiB free",
    ):
      importer.import_released(str(released_dir), run, log=said.append)
    assert os.listdir(disk) == []
    assert any(
      "importing-999999999, left by an import that was stopped" in s for s in said
    )
  # A seed past the seeds a grid holds is refused before anything is read.
  big = conftest.model_path(released_dir, conftest.STEMS[0]).replace(
    "seed_0.pth", "seed_99999999999.pth"
  )
  shutil.copy(conftest.model_path(released_dir, conftest.STEMS[0]), big)
  with pytest.raises(
    errors.DataError, match="seed 99999999999 is past the 10000 seeds a grid holds"
  ):
    layout.scan(str(released_dir), "dsprites")


def test_a_full_disk_met_by_a_json_write_is_the_same_one_line(
  released_dir, tmp_path, monkeypatch
):
  """Whichever write meets the disk's end (here config.json through lbvae.files,
  not orbax's checkpoint), the import says it in one line naming the workdir."""

  def full(path, *args, **kwargs):  # as lbvae.files raises it
    try:
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    except OSError as e:
      raise files.disk_error(e, str(path), str(tmp_path)) from None

  monkeypatch.setattr(files, "write_json", full)
  run = tmp_path / "run"
  with pytest.raises(
    errors.DiskError,
    match=r"cannot write the import into .*run: No space left on device \(.*config\.json\)",
  ):
    importer.import_released(str(released_dir), str(run), log=lambda m: None)
  assert not run.exists() and [p.name for p in tmp_path.iterdir()] == ["authors"]

"""The two-phase sweep: files, exact resume after a kill, finished workdirs, refusals."""

import csv
import importlib.util
import os
import shutil

import jax
import numpy as np
import pytest

from lbvae import errors
from lbvae import train
from lbvae.train import checkpoint
from lbvae.train import event_files
from lbvae.train import loop
from lbvae.train import workdir as workdir_lib
from tests.helpers.file_state import snapshot
from tests.helpers.file_state import zero_fill_chunk
from tests.helpers.interrupt import Killed
from tests.helpers.interrupt import interrupt_at
from tests.helpers.interrupt import kill_at

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_smoke():
  spec = importlib.util.spec_from_file_location(
    "smoke_config", os.path.join(ROOT, "configs", "smoke.py")
  )
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


smoke = load_smoke()


def sweep_config():
  """The smoke config (the same compiled step), with a phase 2 long enough to kill
  inside: phase 1 steps 0 -> 4, phase 2 steps 4 -> 8, checkpoints every 2 steps."""
  c = smoke.get_config()
  c.phase2_steps = 4
  return c


def read(path):
  with open(path) as f:
    return f.read()


def rows(path):
  with open(path, newline="") as f:
    return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("sweep") / "run")
  summary = train.train(sweep_config(), root, show_progress=False)
  assert set(summary) == {1, 2}
  return root


@pytest.mark.slow
def test_workdir_layout_and_logs(uninterrupted):
  paths = workdir_lib.Paths(uninterrupted)
  config = train.load_config(uninterrupted)
  assert list(config.betas) == [1.0, 8.0]
  p1, p2 = rows(paths.final_metrics(1)), rows(paths.final_metrics(2))
  assert [(r["beta"], r["lambda"]) for r in p1] == [("1.0", "0.0"), ("8.0", "0.0")]
  assert [(r["beta"], r["lambda"]) for r in p2] == [
    ("1.0", "0.0"),
    ("1.0", "4.0"),
    ("8.0", "0.0"),
    ("8.0", "4.0"),
  ]
  assert all(r["finite"] == "1" and r["step"] == "8" for r in p2)
  log2 = rows(paths.train_log(2))
  assert [int(r["step"]) for r in log2[::4]] == [5, 6, 7, 8]
  # Final window means (last 2 steps) equal the mean of the last 2 log rows (1 step each).
  for r in p2:
    per_step = [float(x["nll"]) for x in log2 if x["member"] == r["member"]]
    np.testing.assert_allclose(float(r["nll"]), np.mean(per_step[-2:]), rtol=1e-6)
  # Phase 2's first step: λ = 0 and λ = 4 siblings start from the same parameters
  # (their phase-1 parent) on the same batch, so their terms agree; their losses don't.
  first = {r["member"]: r for r in log2 if r["step"] == "5"}
  assert first["0"]["nll"] == first["1"]["nll"] and first["0"]["l2"] == first["1"]["l2"]
  assert first["0"]["loss"] != first["1"]["loss"]
  params2, meta2 = checkpoint.load_params(paths.checkpoints(2))
  assert meta2["step"] == 8 and len(meta2["members"]) == 4
  assert meta2["members"][3] == {
    "member": 3,
    "beta": 8.0,
    "lambda": 4.0,
    "seed": 0,
    "parent": 1,
    "finite": True,
    "frozen_step": None,
  }
  assert params2["encoder"]["Conv_0"]["kernel"].shape[0] == 4
  assert sorted(os.listdir(paths.checkpoints(1))) == ["2", "4"]
  assert "phase 2 starts from the phase-1 checkpoint at step 4" in read(paths.run_log)
  # the live curves: one TensorBoard run per member, each log row's fields
  runs = os.listdir(os.path.join(uninterrupted, "tensorboard", "train"))
  assert sorted(runs) == [
    "p1_b1_l0_s0",
    "p1_b8_l0_s0",
    "p2_b1_l0_s0",
    "p2_b1_l4_s0",
    "p2_b8_l0_s0",
    "p2_b8_l4_s0",
  ]
  curve = event_files.read(event_files.run_dir(uninterrupted, "train", "p2_b8_l4_s0"))
  want = [r for r in log2 if r["member"] == "3"]
  assert [(t, tag) for t, tag, _ in curve] == [
    (int(r["step"]), k) for r in want for k in ("nll", "kl", "l2", "loss")
  ]
  np.testing.assert_allclose(
    [v for _, _, v in curve],
    [float(r[k]) for r in want for k in ("nll", "kl", "l2", "loss")],
    rtol=1e-6,
  )


@pytest.mark.slow
def test_resume_after_kill_equals_uninterrupted(uninterrupted, tmp_path):
  root = str(tmp_path / "run")
  config = sweep_config()
  # Ctrl-C after the checkpoint at 2, before 4: one line, the lock file gone.
  with pytest.raises(
    errors.Interrupted,
    match=r"^interrupted at step 3 of phase 1; "
    r"the checkpoint at step 2 is kept; run the same command to "
    r"resume$",
  ):
    train.train(config, root, hook=interrupt_at(1, 3), show_progress=False)
  assert not os.path.lexists(workdir_lib.Paths(root).lock)
  assert checkpoint.PhaseCheckpoints(
    workdir_lib.Paths(root).checkpoints(1)
  ).all_steps() == [2]
  with pytest.raises(Killed):  # after the checkpoint at 6, before 8
    train.train(config, root, hook=kill_at(2, 7), show_progress=False)
  train.train(config, root, show_progress=False)
  log = read(workdir_lib.Paths(root).run_log)
  assert "resuming phase 1 from step 2" in log
  assert "resuming phase 2 from step 6" in log
  a, b = workdir_lib.Paths(uninterrupted), workdir_lib.Paths(root)
  for phase in (1, 2):
    assert read(a.train_log(phase)) == read(b.train_log(phase))
    assert read(a.final_metrics(phase)) == read(b.final_metrics(phase))
    assert read(collapse_csv(a, phase)) == read(collapse_csv(b, phase))
    with np.load(collapse_npz(a, phase)) as fa, np.load(collapse_npz(b, phase)) as fb:
      assert fa.files == fb.files
      for k in fa.files:
        np.testing.assert_array_equal(fa[k], fb[k])
    pa, _ = checkpoint.load_params(a.checkpoints(phase))
    pb, _ = checkpoint.load_params(b.checkpoints(phase))
    for x, y in zip(jax.tree.leaves(pa), jax.tree.leaves(pb)):
      np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  # the live curves: resumed twice, no step written twice
  runs = os.listdir(os.path.join(uninterrupted, "tensorboard", "train"))
  for run in runs:
    assert event_files.read(
      event_files.run_dir(root, "train", run)
    ) == event_files.read(event_files.run_dir(uninterrupted, "train", run))


def collapse_csv(paths, phase):
  return os.path.join(paths.phase(phase), "collapse.csv")


def collapse_npz(paths, phase):
  return os.path.join(paths.phase(phase), "collapse_mi.npz")


@pytest.mark.slow
def test_collapse_probe_rows_at_every_checkpoint(uninterrupted):
  paths = workdir_lib.Paths(uninterrupted)
  expected_steps = {1: [0, 2, 4], 2: [6, 8]}  # phase 1 also before its first step
  for phase, steps in expected_steps.items():
    table = rows(collapse_csv(paths, phase))
    members = 2 if phase == 1 else 4
    assert [int(r["step"]) for r in table] == [s for s in steps for _ in range(members)]
    for r in table:
      per_latent = np.array([float(r[f"kl_z{i}"]) for i in range(10)])
      np.testing.assert_allclose(float(r["kl"]), per_latent.sum(), rtol=1e-5)
      assert int(r["active_latents"]) == int((per_latent > 0.01).sum())
      for k in ("mig", "im", "mig_posterior", "im_posterior"):
        assert np.isfinite(float(r[k])) and float(r[k]) >= 0
    with np.load(collapse_npz(paths, phase)) as f:
      np.testing.assert_array_equal(f["step"], steps)
      assert f["mi"].shape == (len(steps), members, 10, 5)
      assert f["mi_posterior"].shape == f["mi"].shape


@pytest.mark.slow
def test_an_undecodable_checkpoint_is_set_aside_and_resume_uses_the_older_one(
  uninterrupted, tmp_path
):
  """A zero-filled chunk in phase 2's final checkpoint: the phase is not taken as
  trained; it resumes from the checkpoint before and ends as the uninterrupted run."""
  root = str(tmp_path / "run")
  shutil.copytree(uninterrupted, root)
  paths = workdir_lib.Paths(root)
  zero_fill_chunk(os.path.join(paths.checkpoints(2), "8"))
  os.makedirs(os.path.join(paths.checkpoints(2), "8.unreadable"))  # an earlier one's
  assert set(train.train(sweep_config(), root, show_progress=False)) == {2}
  log = read(paths.run_log)
  assert "checkpoints/8 is unreadable" in log and "resuming phase 2 from step 6" in log
  assert "moved to " + os.path.join(paths.checkpoints(2), "8.unreadable.2") in log
  assert os.path.isdir(os.path.join(paths.checkpoints(2), "8.unreadable.2"))
  for name in ("final_metrics.csv", "train_log.csv", "collapse.csv"):
    assert read(os.path.join(paths.phase(2), name)) == read(
      os.path.join(uninterrupted, "phase2", name)
    ), name


@pytest.mark.slow
def test_kill_between_commit_and_probe_recomputes_the_probe(uninterrupted, tmp_path):
  """The files of a run killed after phase 2's final checkpoint was committed and
  before its collapse probe (no step-8 record, no final_metrics.csv): the resumed
  run probes step 8 from the checkpoint and ends with the same records."""
  root = str(tmp_path / "run")
  shutil.copytree(uninterrupted, root)
  phase2 = workdir_lib.Paths(root).phase(2)
  os.remove(os.path.join(phase2, "final_metrics.csv"))
  csv_path, npz = (os.path.join(phase2, n) for n in ("collapse.csv", "collapse_mi.npz"))
  lines = read(csv_path).splitlines(keepends=True)
  with open(csv_path, "w") as f:
    f.writelines(l for l in lines if not l.startswith("8,"))
  with np.load(npz) as f:
    keep = f["step"] < 8
    np.savez(npz, **{k: f[k][keep] for k in f.files})
  assert set(train.train(sweep_config(), root, show_progress=False)) == {2}
  for name in ("collapse.csv", "final_metrics.csv", "train_log.csv"):
    assert read(os.path.join(phase2, name)) == read(
      os.path.join(uninterrupted, "phase2", name)
    ), name
  with (
    np.load(npz) as got,
    np.load(os.path.join(uninterrupted, "phase2", "collapse_mi.npz")) as want,
  ):
    assert set(got.files) == set(want.files)
    for k in want.files:
      np.testing.assert_array_equal(got[k], want[k])


@pytest.mark.slow
def test_finished_workdir_is_not_retrained(uninterrupted):
  before = snapshot(os.path.join(uninterrupted, "phase2"))
  assert train.train(sweep_config(), uninterrupted, show_progress=False) == {}
  assert snapshot(os.path.join(uninterrupted, "phase2")) == before
  assert "is already trained" in read(workdir_lib.Paths(uninterrupted).run_log)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_a_finished_workdir_rebuilds_its_grid_json_from_the_checkpoints(
  uninterrupted, tmp_path, damage
):
  root = str(tmp_path / "run")
  shutil.copytree(uninterrupted, root)
  a, b = workdir_lib.Paths(uninterrupted), workdir_lib.Paths(root)
  for phase in (1, 2):
    if damage == "deleted":
      os.remove(b.grid(phase))
    else:
      with open(b.grid(phase), "r+b") as f:
        f.truncate(10)
  assert train.train(sweep_config(), root, show_progress=False) == {}
  for phase in (1, 2):
    assert read(b.grid(phase)) == read(a.grid(phase))
  log = read(b.run_log)
  assert "phase1/grid.json is " in log and "rebuilt from " in log
  assert "nothing to do" in log


@pytest.mark.slow
def test_a_half_trained_phase_2_resumes_without_grid_json(uninterrupted, tmp_path):
  """The files of a run killed after phase 2's checkpoint at 6, with both grid files
  deleted: phase 1's is rebuilt, phase 2 resumes and ends as the uninterrupted run."""
  root = str(tmp_path / "run")
  shutil.copytree(uninterrupted, root)
  a, b = workdir_lib.Paths(uninterrupted), workdir_lib.Paths(root)
  shutil.rmtree(os.path.join(b.checkpoints(2), "8"))
  os.remove(b.final_metrics(2))
  for phase in (1, 2):
    os.remove(b.grid(phase))
  assert set(train.train(sweep_config(), root, show_progress=False)) == {2}
  assert "resuming phase 2 from step 6" in read(b.run_log)
  for phase in (1, 2):
    assert read(b.grid(phase)) == read(a.grid(phase))
  for name in ("final_metrics.csv", "train_log.csv", "collapse.csv"):
    assert read(os.path.join(b.phase(2), name)) == read(
      os.path.join(a.phase(2), name)
    ), name


@pytest.mark.slow
@pytest.mark.parametrize(
  "field,value,message",
  [
    ("betas", (1.0, 4.0), "betas"),
    ("phase1_steps", 6, "phase1_steps"),
    ("dataset.name", "shapes3d_procedural", "dataset.name"),
  ],
)
def test_changed_config_is_refused_and_nothing_written(
  uninterrupted, field, value, message
):
  config = sweep_config()
  if "." in field:
    group, name = field.split(".")
    config[group][name] = value
  else:
    config[field] = value
  before = snapshot(uninterrupted)
  with pytest.raises(errors.Error, match=message):
    train.train(config, uninterrupted, show_progress=False)
  assert snapshot(uninterrupted) == before


@pytest.mark.slow
def test_free_fields_may_change(uninterrupted):
  config = sweep_config()
  config.log_every = 2
  config.grid_strategy = "vmap"
  config.eval.num_train = 5
  assert train.train(config, uninterrupted, show_progress=False) == {}


@pytest.mark.parametrize(
  "field,value,message",
  [
    ("betas", (1.0, -4.0), "config.betas must hold finite values >= 0"),
    ("lambdas", (), "config.lambdas is empty"),
    ("batch_size", 0, "config.batch_size must be an integer >= 1"),
    ("phase2_steps", 0, "config.phase2_steps must be an integer >= 1"),
    ("grid_strategy", "pmap", "config.grid_strategy must be one of auto, vmap"),
    ("betas", (4.0, 4.0), "repeated"),
  ],
)
def test_bad_config_is_one_usage_error_before_any_write(
  tmp_path, field, value, message
):
  config = sweep_config()
  config[field] = value
  root = tmp_path / "never"
  with pytest.raises(errors.Error, match=message):
    train.train(config, str(root), show_progress=False)
  assert not root.exists()


@pytest.mark.parametrize(
  "name,source,path,message",
  [
    ("mnist", "procedural", "", "unknown dataset 'mnist'; known datasets: dsprites"),
    ("dsprites", "file", "/nonexistent/dsprites.npz", "no such file; dSprites is "),
  ],
)
def test_bad_dataset_is_a_usage_error_before_any_write(
  tmp_path, name, source, path, message
):
  config = sweep_config()
  config.dataset.name, config.dataset.source, config.dataset.path = name, source, path
  root = tmp_path / "never"
  with pytest.raises(errors.Error, match=message):
    train.train(config, str(root), show_progress=False)
  assert not root.exists()


@pytest.mark.slow
def test_non_finite_member_is_frozen_flagged_and_warned(tmp_path, monkeypatch):
  real = loop.state_lib.phase1_state

  def poisoned(*args, **kwargs):  # member 1 (β = 8) starts with a NaN weight
    s = real(*args, **kwargs)
    params = jax.tree.map(lambda a: a, s.params)
    bias = params["decoder"]["ConvTranspose_3"]["bias"]
    params["decoder"]["ConvTranspose_3"]["bias"] = bias.at[1].set(np.nan)
    return s.replace(params=params)

  monkeypatch.setattr(loop.state_lib, "phase1_state", poisoned)
  root = str(tmp_path / "run")
  config = sweep_config()
  config.phase2_steps = 2
  train.train(config, root, show_progress=False)
  paths = workdir_lib.Paths(root)
  log = read(paths.run_log)
  assert (
    "warning: phase 1 member 1 (beta=8 lambda=0 seed=0) had a non-finite loss "
    "or gradient at step 0; it is frozen"
  ) in log
  p1 = rows(paths.final_metrics(1))
  assert (p1[0]["finite"], p1[1]["finite"]) == ("1", "0")
  assert p1[1]["nll"] == "nan" and p1[1]["frozen_step"] == "0"
  assert float(p1[0]["nll"]) > 0
  assert {r["finite"] for r in rows(paths.train_log(1)) if r["member"] == "1"} == {"0"}
  # Its phase-2 children (β = 8, λ = 0 and 4) start frozen; the others train.
  p2 = rows(paths.final_metrics(2))
  assert [r["finite"] for r in p2] == ["1", "1", "0", "0"]
  _, meta = checkpoint.load_params(paths.checkpoints(2))
  assert [m["finite"] for m in meta["members"]] == [True, True, False, False]
  assert meta["members"][2]["frozen_step"] == 0
  assert "phase 2 member 2 (beta=8 lambda=0 seed=0)" in log


def _rewrite_checkpoint(root, config, step, layout):
  """Writes phase 1's checkpoint ``step`` again in an older ``layout``: "columns"
  (the logged fields as one window array and one array of sums) or "legacy" (also
  no objective_state, and a window of nll, kl, l2 only)."""
  from lbvae.train import checkpoint_layouts
  from lbvae.train import members as members_lib
  from lbvae.train import state as state_lib

  paths = workdir_lib.Paths(root)
  grid = members_lib.phase_grid(config, 1)
  abstract = state_lib.abstract_state(
    state_lib.make_model(config, 1),
    state_lib.make_optimizer(config),
    grid,
    state_lib.seed_keys(config.seed, 1),
    window=config.window,
  )
  ckpts = checkpoint.PhaseCheckpoints(paths.checkpoints(1))
  state, meta = ckpts.restore(step, abstract)
  ckpts.close()
  old = {k: getattr(state, k) for k in state.__dataclass_fields__}
  names = checkpoint_layouts.ARRAY_FIELDS["beta_vae"]
  window = names if layout == "columns" else checkpoint_layouts.LEGACY_WINDOW
  old["window"] = np.stack([np.asarray(state.window[k]) for k in window], -1)
  old["log_sums"] = np.stack([np.asarray(state.log_sums[k]) for k in names], -1)
  if layout == "legacy":
    del old["objective_state"]
  shutil.rmtree(os.path.join(paths.checkpoints(1), str(step)))
  ckpts = checkpoint.PhaseCheckpoints(paths.checkpoints(1))
  ckpts.save(step, old, meta)
  ckpts.close()
  assert (
    "objective_state"
    in checkpoint.PhaseCheckpoints(paths.checkpoints(1)).stored_fields(step)
  ) == (layout == "columns")


@pytest.mark.slow
def test_a_checkpoint_from_before_objectives_resumes(uninterrupted, tmp_path):
  """A β-VAE workdir written before lbvae had objectives -- no ``objective`` fields
  and no ``model.init`` in config.json, a state without ``objective_state`` whose window held (nll, kl,
  l2) -- resumes to the same numbers as an uninterrupted run."""
  from lbvae import files

  root = str(tmp_path / "run")
  config = sweep_config()
  with pytest.raises(Killed):  # after the checkpoint at 2, before 4
    train.train(config, root, hook=kill_at(1, 3), show_progress=False)
  paths = workdir_lib.Paths(root)
  _rewrite_checkpoint(root, config, 2, "legacy")
  stored = train.load_config(root).to_dict()
  # top-level groups and dotted fields; model.init came later still
  for field in workdir_lib.ADDED_FIELDS + ("model",):
    *groups, name = field.split(".")
    node = stored
    for group in groups:
      node = node[group]
    del node[name]
  files.write_json(paths.config, stored)
  train.train(config, root, show_progress=False)
  assert "resuming phase 1 from step 2" in read(paths.run_log)
  a = workdir_lib.Paths(uninterrupted)
  for phase in (1, 2):
    assert read(a.train_log(phase)) == read(paths.train_log(phase))
    assert read(a.final_metrics(phase)) == read(paths.final_metrics(phase))


@pytest.mark.slow
def test_a_logged_quantity_added_since_needs_no_migration(
  uninterrupted, tmp_path, monkeypatch
):
  """A new logged quantity is one entry in the step's parts (and the base fields):
  a checkpoint written before it, even in the column layout, resumes to the same
  numbers, and the new column is filled from the resumed steps on."""
  from lbvae import losses
  from lbvae import objectives
  from lbvae.objectives import base

  root = str(tmp_path / "run")
  config = sweep_config()
  with pytest.raises(Killed):  # after the checkpoint at 2, before 4
    train.train(config, root, hook=kill_at(1, 3), show_progress=False)
  _rewrite_checkpoint(root, config, 2, "columns")
  fields = objectives.BASE_FIELDS + ("abs_error",)
  monkeypatch.setattr(base, "BASE_FIELDS", fields)
  monkeypatch.setattr(objectives, "BASE_FIELDS", fields)
  lambda_loss = objectives.lambda_loss

  def with_abs_error(objective, logits, x, *args, **kw):
    total, parts = lambda_loss(objective, logits, x, *args, **kw)
    error = jax.numpy.abs(jax.nn.sigmoid(logits) - losses.as_float_images(x))
    return total, {**parts, "abs_error": error.mean()}

  monkeypatch.setattr(objectives, "lambda_loss", with_abs_error)
  train.train(config, root, show_progress=False)
  paths, a = workdir_lib.Paths(root), workdir_lib.Paths(uninterrupted)
  assert "resuming phase 1 from step 2" in read(paths.run_log)
  for phase in (1, 2):
    for name in ("train_log", "final_metrics"):
      want, got = rows(getattr(a, name)(phase)), rows(getattr(paths, name)(phase))
      assert [{k: r[k] for k in w} for w, r in zip(want, got)] == want
      errors_logged = [
        float(r["abs_error"])
        for r in got
        if name == "final_metrics" or int(r["step"]) > 2
      ]
      assert errors_logged and all(0 < e < 1 for e in errors_logged)
  assert {r["abs_error"] for r in rows(paths.train_log(1)) if int(r["step"]) <= 2} == {
    ""
  }

"""The evaluation pass end to end on a small run: tables, figures, report, cache."""

import functools
import logging
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from lbvae import data
from lbvae import errors
from lbvae import eval_settings as settings
from lbvae import evaluation
from lbvae import metrics
from lbvae import train
from lbvae.evaluation import checkpoints
from lbvae.evaluation import compute
from lbvae.evaluation import encode
from lbvae.evaluation import keys
from lbvae.evaluation import runner
from lbvae.evaluation import samples
from lbvae.evaluation import store
from lbvae.evaluation import tables
from lbvae.train import event_files
from tests.evaluation import conftest
from tests.helpers.file_state import zero_fill_chunk
from tests.metrics import test_registry

REQUIRED = (
  "phase",
  "beta",
  "lambda",
  "seed",
  "nll",
  "kl",
  "l2",
  "mig",
  "sap",
  "im",
  "heldout_nll",
)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _copy(src, dst, *, with_eval):
  shutil.copytree(
    src, dst, ignore=None if with_eval else shutil.ignore_patterns("eval", "report.md")
  )
  return str(dst)


def _run(workdir):
  lines = []
  result = runner.evaluate_workdir(
    workdir, train.load_config(workdir), log=lines.append, progress=False
  )
  return result, lines


@pytest.fixture(scope="module")
def evaluated(run_dir, tmp_path_factory):
  """The pass run once on a copy of the small run."""
  workdir = _copy(run_dir, tmp_path_factory.mktemp("eval") / "run", with_eval=False)
  result, lines = _run(workdir)
  return workdir, result, lines


@pytest.mark.slow
def test_metrics_csv_has_one_row_per_model(evaluated):
  workdir, result, _ = evaluated
  rows = tables.read_csv(os.path.join(workdir, "eval", "metrics.csv"))
  assert set(REQUIRED) <= set(rows[0])
  assert {"dci_disentanglement", "factor_vae", "heldout_kl"} <= set(rows[0])
  keys = [(r["phase"], r["beta"], r["lambda"], r["seed"]) for r in rows]
  assert keys == [
    (1, 1, 0, 0),
    (1, 8, 0, 0),
    (2, 1, 0, 0),
    (2, 1, 4, 0),
    (2, 8, 0, 0),
    (2, 8, 4, 0),
  ]
  assert result.num_models == 6 and result.num_evaluated == 4  # diverged: unscored
  by_key = dict(zip(keys, rows))
  # nll/kl/l2 are the trainer's training-window means (see conftest.write_run).
  assert by_key[(2, 1, 4, 0)]["nll"] == pytest.approx(114.0)
  assert by_key[(1, 8, 0, 0)]["kl"] == pytest.approx(5.0 / 8)
  # The NaN member and the frozen one (finite but frozen parameters) diverged:
  # kept, flagged, NaN scores.
  for key, row in by_key.items():
    diverged = key in (conftest.NAN_MEMBER, conftest.FROZEN_MEMBER)
    assert row["diverged"] == int(diverged)
    scores = [
      row[c]
      for c in ("heldout_nll", "mig", "sap", "im", "dci_disentanglement", "factor_vae")
    ]
    assert np.isnan(scores).all() if diverged else np.isfinite(scores).all()
  assert by_key[conftest.FROZEN_MEMBER]["finite"] == 0
  # A run written before objectives existed (no "objective" in grid.json) is a β-VAE.
  assert {r["objective"] for r in rows} == {"beta_vae"}
  assert sum(": diverged (" in p for p in result.problems) == 2
  assert any("phase 1, β=8, seed 0: diverged (frozen" in p for p in result.problems)
  report = open(result.report).read()
  assert "phase 1, β=8, seed 0: diverged" in report


@pytest.mark.slow
def test_tensorboard_holds_each_models_scores_and_images(evaluated):
  workdir, _, _ = evaluated
  rows = tables.read_csv(os.path.join(workdir, "eval", "metrics.csv"))
  for row in rows:
    run = event_files.read(
      event_files.run_dir(workdir, "eval", keys.ModelKey.from_row(row).id)
    )
    scalars = {tag: v for step, tag, v in run if not isinstance(v, bytes)}
    assert {step for step, _, _ in run} == {row["step"]}
    assert scalars["mig"] == pytest.approx(row["mig"], rel=1e-6, nan_ok=True)
    assert set(scalars) <= set(metrics.names())
    images = [tag for _, tag, v in run if isinstance(v, bytes)]
    assert images == ([] if row["diverged"] else ["recon", "traversal"])
  first = event_files.run_dir(workdir, "eval", "p1_b1_l0_s0")
  before = repr(event_files.read(first))
  _run(workdir)  # a rerun writes the runs afresh
  assert repr(event_files.read(first)) == before


@pytest.mark.slow
def test_summary_has_mean_and_std_per_cell(evaluated):
  workdir, _, _ = evaluated
  summary = tables.read_csv(os.path.join(workdir, "eval", "summary.csv"))
  assert len(summary) == 6
  assert {"mig_mean", "mig_std", "nll_mean", "num_seeds"} <= set(summary[0])
  assert {c["objective"] for c in summary} == {"beta_vae"}
  rows = tables.read_csv(os.path.join(workdir, "eval", "metrics.csv"))
  for cell, row in zip(summary, rows):  # one seed: mean = the value
    assert cell["num_seeds"] == 1
    assert (cell["phase"], cell["beta"], cell["lambda"]) == (
      row["phase"],
      row["beta"],
      row["lambda"],
    )
    assert cell["num_diverged"] == row["diverged"]
    if np.isfinite(row["sap"]):
      assert cell["sap_mean"] == pytest.approx(row["sap"], rel=1e-6)
      assert cell["sap_std"] == ""  # one seed: no spread, an empty cell
    else:
      assert np.isnan(cell["sap_mean"]) and np.isnan(cell["nll_mean"])


@pytest.mark.slow
def test_figures_and_report_exist_and_link(evaluated):
  workdir, result, _ = evaluated
  figs = os.path.join(workdir, "eval", "figures")
  assert os.path.exists(os.path.join(figs, "phase1_boxplots.png"))
  assert os.path.exists(os.path.join(figs, "phase2_heatmaps.png"))
  per_model = os.listdir(os.path.join(figs, "models"))
  assert len([f for f in per_model if f.endswith("_mi.png")]) == 4  # diverged: none
  assert {
    "p2_b8_l0_s0_recon.png",
    "p2_b8_l0_s0_traversal.png",
    "p2_b8_l0_s0_traversal.gif",
  } <= set(per_model)
  text = open(result.report).read()
  assert result.report == os.path.join(workdir, "report.md")
  links = re.findall(r"\]\(([^)]+)\)", text)
  assert len(links) > 20
  for link in links:
    assert os.path.exists(os.path.join(workdir, link)), link
  assert "| β | λ | seeds |" in text and "## Problems" in text
  assert '"num_train": 300' in text  # the configuration is shown


@pytest.mark.slow
def test_report_has_the_selection_views(evaluated):
  """Phase 2 of the small run: β ∈ {1, 8} × λ ∈ {0, 4}, (8, 4) has NaN scores."""
  workdir, result, _ = evaluated
  text = open(result.report).read()
  section = text[text.index("## Choosing (β, λ)") : text.index("## Per-model figures")]
  for link in (
    "eval/figures/phase2_percent_change.png",
    "eval/figures/phase2_pareto.png",
    "eval/figures/phase2_tchebycheff.png",
    "eval/selection.html",
  ):
    assert f"]({link})" in section and os.path.exists(os.path.join(workdir, link))
  assert "take no part in the Pareto front or the choice: β=8, λ=4." in section
  assert re.search(r"- 50 % reconstruction weight: \*\*β=\d, λ=\d\*\*", section)
  cells = tables.read_csv(os.path.join(workdir, "eval", "selection.csv"))
  assert [(c["beta"], c["lambda"]) for c in cells] == [(1, 0), (1, 4), (8, 0), (8, 4)]
  assert cells[0]["mig_pct_change"] == 0 and cells[3]["pareto"] == 0


@pytest.mark.slow
def test_rerun_evaluates_nothing_new(evaluated):
  workdir, first, _ = evaluated
  before = open(first.metrics_csv).read()
  result, lines = _run(workdir)
  assert result.num_evaluated == 0 and result.num_cached == 6
  assert any("0 to evaluate, 6 cached" in line for line in lines)
  assert open(result.metrics_csv).read() == before
  # The report still says what evaluating the (cached) models took.
  assert re.search(
    r"Evaluating the 4 scored models took \d+ s in all", open(result.report).read()
  )


@pytest.mark.slow
def test_heldout_nll_belongs_to_the_right_model(evaluated):
  """The row of (phase 2, β=1, λ=4) scores exactly that member's parameters."""
  workdir, result, _ = evaluated
  config = train.load_config(workdir)
  phases, _ = checkpoints.find_phases(workdir)
  member = next(
    m for m in phases[1].members if (m.key.strength, m.key.lam) == (1.0, 4.0)
  )
  params = phases[1].restore()
  one = {k: v for k, v in params.items()}
  import jax  # pylint: disable=import-outside-toplevel

  one = jax.tree.map(lambda x: x[member.index : member.index + 1], one)
  import lbvae.data as data  # pylint: disable=import-outside-toplevel

  s = samples.draw(
    data.load("dsprites"),
    seed=0,
    num_train=config.eval.num_train,
    num_test=config.eval.num_test,
  )
  out = encode.encode_models(
    one,
    s.images_test,
    latent_dim=10,
    num_channels=1,
    batch_size=config.eval.batch_size,
    with_nll=True,
    noise_seed=0,
  )
  rows = tables.read_csv(result.metrics_csv)
  row = next(r for r in rows if (r["phase"], r["beta"], r["lambda"]) == (2, 1, 4))
  assert row["heldout_nll"] == pytest.approx(float(out["nll"].mean()), rel=1e-5)
  others = [
    r["heldout_nll"] for r in rows if r is not row and np.isfinite(r["heldout_nll"])
  ]
  assert min(abs(v - row["heldout_nll"]) for v in others) > 1e-3


# The checkpoint is checked before orbax reads it, so no tensorstore callback is left
# to raise "Event loop is closed" in another thread (an unraisable exception).
@pytest.mark.slow
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_corrupt_checkpoint_is_reported_and_skipped(run_dir, tmp_path):
  workdir = _copy(run_dir, tmp_path / "run", with_eval=False)
  conftest.corrupt(workdir, 2)
  result, lines = _run(workdir)
  skipped = [p for p in result.problems if "skipped" in p]
  assert len(skipped) == 1 and skipped[0].startswith("phase 2: checkpoint ")
  assert "phase2/checkpoints/6 is unreadable" in skipped[0]
  assert "manifest.ocdbt" in skipped[0] and skipped[0].endswith(
    "its models are skipped"
  )
  assert "\n" not in skipped[0] and skipped[0] in lines
  rows = tables.read_csv(result.metrics_csv)
  assert [r["phase"] for r in rows] == [1, 1]  # phase 1 still evaluated
  assert result.num_evaluated == 1  # the frozen one diverged
  assert (
    "evaluated 1 new model(s), 1 diverged (not scored), 0 cached, 4 of 6 skipped"
  ) in lines[-1]


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_nothing_readable_is_a_checkpoint_error(run_dir, tmp_path):
  """Every checkpoint corrupt: one error naming both, and no empty tables."""
  workdir = _copy(run_dir, tmp_path / "run", with_eval=False)
  conftest.corrupt(workdir, 1)
  conftest.corrupt(workdir, 2)
  with pytest.raises(errors.CheckpointError) as e:
    _run(workdir)
  message = str(e.value)
  assert message.startswith("could not evaluate any of the 6 models in ")
  assert "phase1/checkpoints/4" in message and "phase2/checkpoints/6" in message
  assert "\n" not in message
  assert not os.path.exists(os.path.join(workdir, "eval", "metrics.csv"))


@pytest.mark.slow
def test_missing_phase_is_reported(evaluated, tmp_path):
  workdir = _copy(evaluated[0], tmp_path / "run", with_eval=True)
  shutil.rmtree(os.path.join(workdir, "phase2", "checkpoints"))
  result, _ = _run(workdir)
  assert any(p.startswith("phase 2: no checkpoint") for p in result.problems)
  assert result.num_models == 2 and result.num_evaluated == 0  # from the cache


def test_no_checkpoint_at_all_is_a_usage_error(run_dir, tmp_path):
  workdir = _copy(run_dir, tmp_path / "run", with_eval=False)
  for phase in ("phase1", "phase2"):
    shutil.rmtree(os.path.join(workdir, phase, "checkpoints"))
  with pytest.raises(errors.Error, match="no checkpoints"):
    _run(workdir)


@pytest.mark.slow
def test_a_missing_grid_json_is_read_from_the_checkpoint(evaluated, tmp_path):
  workdir = _copy(evaluated[0], tmp_path / "run", with_eval=True)
  os.remove(os.path.join(workdir, "phase2", "grid.json"))
  result, lines = _run(workdir)
  assert any("phase2/grid.json is missing; members read from" in l for l in lines)
  assert result.num_models == 6 and result.num_cached == 6


@pytest.mark.slow
def test_an_undecodable_checkpoint_falls_back_to_the_older_one(evaluated, tmp_path):
  """A zero-filled chunk in phase 1's newest checkpoint: its models come from the
  checkpoint before, with one line naming the unreadable one."""
  workdir = _copy(evaluated[0], tmp_path / "run", with_eval=True)
  directory = os.path.join(workdir, "phase1", "checkpoints")
  step = checkpoints.find_phases(workdir)[0][0].step
  shutil.copytree(
    os.path.join(directory, str(step)), os.path.join(directory, str(step - 1))
  )
  zero_fill_chunk(os.path.join(directory, str(step)))
  phases, problems = checkpoints.find_phases(workdir)
  assert phases[0].step == step - 1
  assert any(f"checkpoints/{step} is unreadable" in p for p in problems), problems
  result, _ = _run(workdir)
  # Phase 1's two models again: one scored, the frozen one found diverged.
  assert result.num_models == 6 and result.num_evaluated == 1
  assert result.num_cached == 4


@pytest.mark.slow
def test_changed_settings_invalidate_the_cache(evaluated, tmp_path):
  workdir = _copy(evaluated[0], tmp_path / "run", with_eval=True)
  config = train.load_config(workdir)
  phases, _ = checkpoints.find_phases(workdir)
  paths = store.EvalPaths(workdir)
  member, step = phases[0].members[0], phases[0].step
  settings = runner._settings(config)  # pylint: disable=protected-access
  load = functools.partial(store.load_entry, checkpoint=phases[0].fingerprint)
  assert load(paths, member, step=step, settings=settings) is not None
  assert load(paths, member, step=step + 1, settings=settings) is None
  assert load(paths, member, step=step, settings=dict(settings, num_bins=20)) is None
  assert (
    store.load_entry(paths, member, step=step, settings=settings, checkpoint="another")
    is None
  )
  os.remove(paths.figure(member, "gif"))
  assert load(paths, member, step=step, settings=settings) is None
  with open(paths.entry(phases[0].members[1]), "w") as f:
    f.write("{not json")
  assert load(paths, phases[0].members[1], step=step, settings=settings) is None


@pytest.mark.slow
def test_a_changed_checkpoint_is_not_served_from_the_cache(evaluated, tmp_path):
  """Truncating a checkpoint file (its step kept) makes its models uncached: they
  are evaluated again, here to an unreadable-checkpoint skip, not counted cached."""
  workdir = _copy(evaluated[0], tmp_path / "run", with_eval=True)
  state = os.path.join(
    workdir,
    "phase2",
    "checkpoints",
    str(checkpoints.find_phases(workdir)[0][1].step),
    "state",
  )
  data = [
    os.path.join(d, n)
    for d, _, names in os.walk(state)
    for n in names
    if os.path.basename(d) == "d"
  ]
  with open(max(data, key=os.path.getsize), "r+b") as f:
    f.truncate(os.path.getsize(f.name) // 2)
  result, lines = _run(workdir)
  assert "4 to evaluate, 2 cached" in "\n".join(lines), lines
  assert result.num_cached == 2 and result.num_models == 2


@pytest.mark.slow
def test_cli_rerun_prints_where_the_report_is(evaluated):
  workdir, result, _ = evaluated
  proc = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.evaluate",
      f"--workdir={workdir}",
      "--noprogress",
      "--config.eval.num_bins=10",
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=120,
    check=False,
  )
  assert proc.returncode == 0, proc.stderr
  assert "0 to evaluate" in proc.stdout
  assert proc.stdout.strip().splitlines()[-1] == f"report: {result.report}"


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_share_gives_every_model_to_exactly_one_process(count):
  todo = {0: [("p1", i) for i in range(5)], 3: [("p2", i) for i in range(4)]}
  shares = [runner._share(todo, index, count) for index in range(count)]
  every = sorted(
    (seed, item) for share in shares for seed, items in share.items() for item in items
  )
  assert every == sorted((seed, item) for seed, items in todo.items() for item in items)
  sizes = [sum(len(v) for v in share.values()) for share in shares]
  assert max(sizes) - min(sizes) <= 1  # balanced to one model
  for share in shares:  # each process's items keep seed order
    for seed, items in share.items():
      assert items == [x for x in todo[seed] if x in items]


def test_the_training_distributed_setting_does_not_carry_over():
  config = train.config.defaults()
  config.distributed = True
  assert settings.with_eval_defaults(config).distributed is False


@pytest.mark.slow
def test_load_model_codes_serves_the_codes_the_pass_scored(
  evaluated, tmp_path, monkeypatch, caplog
):
  workdir = _copy(evaluated[0], tmp_path / "run", with_eval=True)
  config = train.load_config(workdir)
  fresh = evaluation.load_model_codes(
    _copy(evaluated[0], tmp_path / "bare", with_eval=False), config
  )
  encoded = []
  real = encode.encode_models
  monkeypatch.setattr(
    encode, "encode_models", lambda *a, **kw: encoded.append(1) or real(*a, **kw)
  )
  with caplog.at_level(logging.INFO):
    cached = evaluation.load_model_codes(workdir)
  assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
  # the frozen member (finite parameters, unscored by the pass) alone is encoded
  assert [(m.phase, m.beta, m.finite) for m in cached if not m.finite] == [
    (1, 8.0, False)
  ]
  assert len(encoded) == 2 and len(cached) == len(fresh) == 5
  for a, b in zip(cached, fresh):
    assert (a.phase, a.beta, a.lam) == (b.phase, b.beta, b.lam)
    np.testing.assert_allclose(a.codes_train, b.codes_train, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a.codes_test, b.codes_test, rtol=1e-5, atol=1e-5)
  # other settings, or a damaged codes file: encoded again, not served
  config.eval.num_test = config.eval.num_test - 10
  encoded.clear()
  evaluation.load_model_codes(workdir, config)
  assert len(encoded) == 10
  with open(store.EvalPaths(workdir).codes(keys.ModelKey(1, 1.0, 0.0, 0)), "wb") as f:
    f.write(b"not a zip")
  encoded.clear()
  evaluation.load_model_codes(workdir)
  assert len(encoded) == 4


@pytest.mark.slow
def test_a_metric_registered_since_is_scored_from_the_cached_codes(
  evaluated, tmp_path, monkeypatch
):
  workdir = _copy(evaluated[0], tmp_path / "run", with_eval=True)
  monkeypatch.setattr(metrics, "_ENTRIES", metrics._ENTRIES + test_registry.TOY)
  monkeypatch.setattr(compute, "evaluate_stack", lambda *a, **kw: 1 / 0)
  result, lines = _run(workdir)
  assert "4 cached models lack a score registered since" in lines[0]  # 4 scored
  assert result.num_evaluated == 0
  paths, settings = (
    store.EvalPaths(workdir),
    runner._settings(train.load_config(workdir)),
  )
  ds, phases = data.load("dsprites"), checkpoints.find_phases(workdir)[0]
  factors = ds.index_to_factors(
    samples.draw_indices(0, settings["num_train"], settings["num_test"], len(ds))[1]
  )
  rows = {
    keys.ModelKey.from_row(r): r
    for r in tables.read_csv(os.path.join(workdir, "eval", "metrics.csv"))
  }
  before = {
    keys.ModelKey.from_row(r): r
    for r in tables.read_csv(os.path.join(evaluated[0], "eval", "metrics.csv"))
  }
  for ph in phases:
    for m in ph.members:
      row = rows[m.key]
      assert {k: v for k, v in row.items() if k in before[m.key]} == pytest.approx(
        before[m.key], nan_ok=True
      )
      if row["diverged"]:
        assert np.isnan(row["first_factor_rate"])
        continue
      codes = store.load_codes(
        paths,
        m,
        step=ph.step,
        settings=settings,
        checkpoint=ph.fingerprint,
        latent_dim=10,
      )
      assert row["spread"] == pytest.approx(np.abs(codes[1]).mean(), rel=1e-5)
      assert row["first_factor_rate"] == pytest.approx(np.mean(factors[:, 0] == 0))
  # scored once: the next pass finds every entry complete
  assert "0 to evaluate, 6 cached" in _run(workdir)[1][0]

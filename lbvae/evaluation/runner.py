"""The evaluation pass of arXiv 2602.09277, §4: checkpoints in, tables and report out.

Synopsis::

  result = runner.evaluate_workdir("runs/default", config)
  print(result.report)        # runs/default/report.md

Each model (each phase's final checkpoint) is encoded on its seed's samples
(:mod:`~lbvae.evaluation.samples`), scored with all models of its seed at once
(:mod:`~lbvae.evaluation.compute`), drawn and cached; then come the tables, the
overview figures and the report (files: :mod:`~lbvae.evaluation.store`). A rerun
evaluates only models without a valid cache entry. A phase whose checkpoint is missing
or does not restore is reported and skipped; with no model evaluated at all the pass
raises :class:`lbvae.errors.CheckpointError`. Frozen (NaN/Inf) members are reported as
diverged, with NaN scores. Checkpoints of any device count are read onto this process.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import jax
import numpy as np
import tqdm

from lbvae import eval_settings as settings_lib
from lbvae import pytrees
from lbvae import errors
from lbvae import files
from lbvae import data
from lbvae import devices
from lbvae import memory
from lbvae import metrics
from lbvae.evaluation import checkpoints
from lbvae.evaluation import collapse_curves
from lbvae.evaluation import compute
from lbvae.evaluation import keys
from lbvae.evaluation import model_figures
from lbvae.evaluation import outputs
from lbvae.evaluation import released_scores
from lbvae.evaluation import report
from lbvae.evaluation import rescore
from lbvae.evaluation import samples as samples_lib
from lbvae.evaluation import selection_views
from lbvae.evaluation import store
from lbvae.evaluation import tables
from lbvae.evaluation import udr_cells
from lbvae.evaluation import udr_choice
from lbvae.metrics import entry
from lbvae.train import hosts
from lbvae.train import sharding
from lbvae.train import workdir as workdir_lib

CPU_MAX_BATCH = 128  # see encoder_batch
# The bar over models counts thirds of a model (STAGES): one decimal.
BAR_FORMAT = (
  "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total_fmt} models "
  "[{elapsed}<{remaining}, {rate_fmt}{postfix}]"
)
# What the pass writes once every model is scored, in order (its second bar).
WRITE_STEPS = (
  "metrics.csv and summary.csv",
  "phase figures",
  "selection views",
  "collapse curves",
  "report.md",
)


@dataclasses.dataclass
class PassResult:
  """What a pass did. Paths are absolute; counts are models."""

  report: str
  metrics_csv: str
  summary_csv: str
  num_models: int
  num_evaluated: int
  num_cached: int
  problems: list[str]
  seconds: float


def encoder_batch(config, backend: str | None = None) -> int:
  """Images per encoder call: ``config.eval.batch_size``, at most ``CPU_MAX_BATCH``
  on CPU (docs/performance.md); ``backend``: the one the pass is compiled for (None:
  the current one)."""
  batch = int(config.eval.batch_size)
  return min(batch, CPU_MAX_BATCH) if devices.on_cpu(backend) else batch


def _settings(config) -> dict:
  """The evaluation settings that a cache entry must match; validated."""
  return settings_lib.cache_settings(settings_lib.with_eval_defaults(config))


def _add_seconds(total: dict[str, float], more: dict[str, float]) -> dict:
  """Seconds per stage: ``total`` plus ``more`` (stages in first-seen order)."""
  out = dict(total)
  for stage, v in more.items():
    out[stage] = out.get(stage, 0.0) + v
  return out


def _stages_line(seconds: dict[str, float]) -> str:
  """``setup 0.1 s, restore 0.2 s, ...``: the stages that took 0.05 s or more."""
  return ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items() if v >= 0.05)


_Found = tuple[checkpoints.Phase, keys.PhaseMember]  # a model as the pass finds it


@dataclasses.dataclass(frozen=True)
class Inventory:
  """What the pass found in a workdir, before it scores anything.

  Attributes:
    workdir, config, settings: the pass's arguments (settings: :func:`_settings`).
    paths: the pass's output files.
    phases: the phases with a checkpoint (``checkpoints.find_phases``).
    problems: one line per problem found in the workdir.
    ds: the dataset.
    models: every model of ``phases``, in grid order.
    todo: seed -> the models of that seed without a valid cache entry.
    shared_rows: N, the number of images every model encodes for UDR (0: no UDR).
    shared: uint8[N, 64, 64, C], those images (``samples.draw_shared``), or None
      (no UDR, or nothing to evaluate).
  """

  workdir: str
  config: object
  settings: dict
  paths: store.EvalPaths
  phases: list[checkpoints.Phase]
  problems: list[str]
  ds: object
  models: list[_Found]
  todo: dict[int, list[_Found]]
  shared_rows: int = 0
  shared: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class SeedOutcome:
  """What scoring one seed's models did.

  Attributes:
    num_scored: models scored and cached.
    num_diverged: models found diverged (cached unscored).
    seconds: stage -> seconds spent on it.
  """

  num_scored: int
  num_diverged: int
  seconds: dict[str, float]


def _find(workdir: str, config, settings: dict, log) -> Inventory:
  """The phases, models and uncached models of ``workdir``; logs the problems
  found and the count of models to evaluate.

  Raises:
    lbvae.errors.Error: no phase has a checkpoint; the samples exceed the dataset.
  """
  phases, problems = checkpoints.find_phases(workdir)
  errors.require(bool(phases), _UNTRAINED.format(workdir))
  for p in problems:
    log(p)
  ds = data.from_config(config.dataset)
  checkpoints.check_against_config(
    phases,
    config,
    num_channels=ds.num_channels,
    config_file=workdir_lib.Paths(workdir).config,
  )
  errors.require(
    settings["num_train"] + settings["num_test"] <= len(ds),
    f"config.eval.num_train + num_test must be <= {len(ds)} (the dataset size)",
  )
  memory.require(
    settings_lib.memory_needs(
      settings_lib.with_eval_defaults(config),
      num_channels=ds.num_channels,
      encoder_batch=encoder_batch(config),
    )
  )
  paths = store.EvalPaths(workdir)
  models = [(ph, m) for ph in phases for m in ph.members]
  shared_rows = min(settings_lib.udr_samples(config), len(ds))
  todo: dict[int, list[_Found]] = {}
  again, stale = [], []
  for ph, m in models:
    cached = store.load_entry(
      paths,
      m,
      step=ph.step,
      settings=settings,
      checkpoint=ph.fingerprint,
      shared_rows=shared_rows,
    )
    lacking = () if cached is None else rescore.missing(cached.scores, settings)
    if cached is None or not rescore.from_codes(lacking):
      again.append((ph, m))
    elif lacking:
      stale.append((ph, m, cached, lacking))
  if stale and sharding.is_main_process():  # scores added since: from the codes
    log(
      f"{len(stale)} cached models lack a score registered since: scored from "
      "their cached codes"
    )
    again += rescore.complete(
      paths, stale, ds, settings, latent_dim=int(config.latent_dim)
    )
  again_ids = {(ph.number, m.index) for ph, m in again}
  for ph, m in models:  # in grid order
    if (ph.number, m.index) in again_ids:
      todo.setdefault(m.key.seed, []).append((ph, m))
  num_todo = sum(len(v) for v in todo.values())
  log(
    f"{len(models)} models in {len(phases)} phase(s): {num_todo} to evaluate, "
    f"{len(models) - num_todo} cached"
  )
  shared = (
    samples_lib.draw_shared(ds, num=shared_rows) if num_todo and shared_rows else None
  )
  return Inventory(
    workdir=workdir,
    config=config,
    settings=settings,
    paths=paths,
    phases=phases,
    problems=problems,
    ds=ds,
    models=models,
    todo=todo,
    shared_rows=shared_rows,
    shared=shared,
  )


def _by_phase(models: list[_Found]) -> list[tuple[checkpoints.Phase, list]]:
  """(phase, its members among ``models``), in phase order."""
  phases = sorted({ph.number: ph for ph, _ in models}.values(), key=lambda p: p.number)
  return [(ph, [m for p, m in models if p is ph]) for ph in phases]


def _restore(todo: dict[int, list[_Found]]) -> tuple[dict, list[str]]:
  """Each phase's parameters that ``todo`` needs (None: unreadable), and one
  line per unreadable checkpoint, in the order the seeds need them."""
  params, problems = {}, []
  for seed in sorted(todo):
    for ph, _ in _by_phase(todo[seed]):
      if ph.number in params:
        continue
      try:
        params[ph.number] = ph.restore()
      except errors.CheckpointError as e:
        params[ph.number] = None
        problems.append(f"phase {ph.number}: {e}; its models are skipped")
  return params, problems


def _finite_stack(models: list[_Found], restored: dict, found: Inventory, bar):
  """The parameters of ``models`` that can be scored, stacked, and those models.

  A member of an unreadable checkpoint is skipped; one the trainer froze
  (finite = 0) or whose parameters are not finite diverged: it is cached
  unscored (its frozen parameters may be finite but huge).

  Returns:
    (stacked parameters or None, [(phase, member)] they hold, how many diverged).
  """
  stacks, scored, num_diverged = [], [], 0
  for ph, members in _by_phase(models):
    if restored[ph.number] is None:
      bar.update(len(members))
      continue
    params = pytrees.take(restored[ph.number], np.asarray([m.index for m in members]))
    finite = [
      bool(ok) and m.finite for m, ok in zip(members, pytrees.finite_rows(params))
    ]
    for m in (m for m, ok in zip(members, finite) if not ok):
      store.save_entry(
        found.paths,
        m,
        step=ph.step,
        settings=found.settings,
        checkpoint=ph.fingerprint,
        scores=None,
      )
      num_diverged += 1
      bar.update(1)
    good = [i for i, ok in enumerate(finite) if ok]
    if good:
      stacks.append(pytrees.take(params, np.asarray(good)))
      scored += [(ph, members[i]) for i in good]
  if not scored:
    return None, [], num_diverged
  return (jax.tree.map(lambda *xs: np.concatenate(xs), *stacks), scored, num_diverged)


def _any_tuple(ds) -> bool:
  """Whether the dataset has factors and an image for every tuple of them."""
  return bool(ds.num_factors) and ds.covers_grid


def _unscorable(settings: dict, ds) -> dict[str, float]:
  """NaN for the asked-for scores that need a factor tuple's images, where the
  dataset cannot serve them (:func:`_any_tuple`)."""
  if _any_tuple(ds):
    return {}
  runs = [
    r for r in rescore.asked_runs(settings) if r in (entry.VOTES, entry.POSTERIOR)
  ]
  return dict.fromkeys(
    (e.name for r in runs for e in metrics.entries(r) if e.needs_factors), float("nan")
  )


def _seed_inputs(found: Inventory, seed: int) -> dict:
  """The seed's samples, and its FactorVAE votes and stratified sample where the
  settings ask for them: :func:`compute.evaluate_stack`'s data arguments."""
  settings, ds = found.settings, found.ds
  votes = posterior = None
  if not _any_tuple(ds):  # the votes and the stratified sample draw factor tuples
    return {
      "samples": samples_lib.draw(
        ds, seed=seed, num_train=settings["num_train"], num_test=settings["num_test"]
      ),
      "votes": None,
      "posterior": None,
    }
  if settings["factor_vae_votes"]:
    votes = compute.draw_votes(
      ds,
      seed=seed,
      num_votes=settings["factor_vae_votes"],
      batch_size=settings["factor_vae_batch"],
    )
  if settings["posterior_samples"]:
    posterior = samples_lib.draw_stratified(
      ds, seed=seed, num=settings["posterior_samples"]
    )
  return {
    "samples": samples_lib.draw(
      ds, seed=seed, num_train=settings["num_train"], num_test=settings["num_test"]
    ),
    "votes": votes,
    "posterior": posterior,
  }


# A model's stages: each is a third of it on the pass's progress bar.
STAGES = (compute.ENCODING, compute.SCORING, "figures")


def _stage_progress(bar, seed: int):
  """``evaluate_stack``'s ``on_progress`` for the pass's bar over models."""

  def report(stage: str, models: int) -> None:
    if models:
      bar.update(models / len(STAGES))
    else:
      bar.set_postfix_str(f"seed {seed}: {stage}")

  return report


def _score_seed(
  seed: int, models: list[_Found], found: Inventory, restored: dict, bar
) -> SeedOutcome:
  """Scores one seed's ``models``, drawing and caching each as soon as it is scored."""
  bar.set_postfix_str(f"seed {seed}: restoring")
  t0 = time.perf_counter()
  params, scored, num_diverged = _finite_stack(models, restored, found, bar)
  seconds = {"restore": time.perf_counter() - t0}
  if not scored:
    return SeedOutcome(0, num_diverged, seconds)
  bar.set_postfix_str(f"seed {seed}: drawing samples")
  inputs = _seed_inputs(found, seed)
  seconds["samples"] = time.perf_counter() - t0 - seconds["restore"]
  options = compute.StackOptions(
    latent_dim=int(found.config.latent_dim),
    num_bins=found.settings["num_bins"],
    batch_size=encoder_batch(found.config),
  )
  results, times = compute.evaluate_stack(
    params,
    inputs["samples"],
    found.ds,
    options,
    votes=inputs["votes"],
    posterior=inputs["posterior"],
    shared=found.shared,
    on_progress=_stage_progress(bar, seed),
  )
  seconds.update(encode=times.encode, metrics=times.metrics)
  shared = (time.perf_counter() - t0) / len(scored)
  t1 = time.perf_counter()
  for k, ((ph, m), res) in enumerate(zip(scored, results)):
    bar.set_postfix_str(f"seed {seed}: figures, model {k + 1} of {len(scored)}")
    t2 = time.perf_counter()
    model_figures.draw(found.paths, m.key, res, found.ds.factor_names)
    bar.update(1 / len(STAGES))
    store.save_entry(
      found.paths,
      m,
      step=ph.step,
      settings=found.settings,
      checkpoint=ph.fingerprint,
      seconds=shared + time.perf_counter() - t2,
      scores={**res.scores, **_unscorable(found.settings, found.ds)},
      mi=res.mi,
      mi_posterior=res.mi_posterior,
      kl_per_latent=res.kl_per_latent,
      shared=(None if res.shared_codes is None else (res.shared_codes, res.shared_kl)),
      codes=(res.codes_train, res.codes_test),
    )
  seconds["figures"] = time.perf_counter() - t1
  return SeedOutcome(len(scored), num_diverged, seconds)


def _share(todo: dict, index: int, count: int) -> dict:
  """Process ``index``'s share of ``todo`` {seed: [(phase, member)]} of ``count``:
  every count-th model in seed order, so each seed's models spread over the
  processes and no model is scored twice."""
  out, position = {}, 0
  for seed in sorted(todo):
    for item in todo[seed]:
      if position % count == index:
        out.setdefault(seed, []).append(item)
      position += 1
  return out


_UNTRAINED = (
  "no checkpoints in {0} (train it first: python -m experiments.sweep --workdir={0})"
)


def evaluate_workdir(
  workdir: str, config, *, log: Callable[[str], None] = print, progress: bool = True
) -> PassResult:
  """Runs the pass on a training run directory: find, score each seed, write.

  Args:
    workdir: the trainer's run directory.
    config: the run's config (``ml_collections.ConfigDict``), possibly with
      overridden ``eval.*`` fields.
    log: where one-line messages go (problems, counts).
    progress: show a tqdm bar over models.

  Returns:
    :class:`PassResult`.

  Raises:
    lbvae.errors.Error: no such directory, no checkpoint at all, bad settings;
      :class:`lbvae.errors.CheckpointError` when every checkpoint that holds a
      model to evaluate is unreadable (nothing could be evaluated);
      :class:`lbvae.errors.WorkdirBusy` while another run writes ``workdir``.
  """
  t0 = time.perf_counter()
  files.check_url(workdir, what="workdir")
  errors.require(files.as_path(workdir).is_dir(), f"workdir {workdir} does not exist")
  errors.require(checkpoints.any_checkpoint(workdir), _UNTRAINED.format(workdir))
  files.check_writable_dir(workdir, what="workdir", must_exist=True)
  settings = _settings(config)
  hosts.maybe_initialize_distributed(config)
  hosts.check_same_run(workdir_lib.run_facts(config))
  # Under jax.distributed process 0 holds the lock for all of them.
  with workdir_lib.locked(workdir, writer=sharding.is_main_process()):
    since = time.perf_counter()
    found = _find(workdir, config, settings, log)
    counts = _score(found, progress, log, since)
    if not sharding.is_main_process():  # process 0 writes the tables and the report
      return PassResult(
        report=found.paths.report,
        metrics_csv=found.paths.metrics_csv,
        summary_csv=found.paths.summary_csv,
        num_models=len(found.models),
        num_evaluated=counts.num_new,
        num_cached=0,
        problems=found.problems + counts.problems,
        seconds=time.perf_counter() - t0,
      )
    return _write_results(found, counts, t0, log, progress)


@dataclasses.dataclass(frozen=True)
class _Counts:
  """What the scoring did.

  Attributes:
    num_new, num_diverged: models scored, and found diverged, over every process.
    problems: one line per unreadable checkpoint.
    seconds: stage -> seconds, since the pass took the workdir's lock.
    done: ``time.perf_counter()`` when this process had scored its share.
  """

  num_new: int
  num_diverged: int
  problems: list[str]
  seconds: dict[str, float]
  done: float


def _score(found: Inventory, progress: bool, log, since: float) -> _Counts:
  """Scores this process's share of the models to evaluate, seed by seed."""
  hosts.sync("lbvae evaluate: the cache is read")  # before any process writes it
  todo = _share(found.todo, jax.process_index(), jax.process_count())
  t = time.perf_counter()
  seconds = {"setup": t - since}
  num_todo = sum(len(v) for v in todo.values())
  bar = tqdm.tqdm(
    total=num_todo,
    unit="model",
    desc="evaluate",
    disable=not progress or num_todo == 0,
    bar_format=BAR_FORMAT,
  )
  restored, problems = _restore(todo)
  seconds["restore"] = time.perf_counter() - t
  outcomes = [
    _score_seed(seed, todo[seed], found, restored, bar) for seed in sorted(todo)
  ]
  for outcome in outcomes:
    seconds = _add_seconds(seconds, outcome.seconds)
  bar.close()
  done = time.perf_counter()
  for p in problems:
    log(p)
  num_new = hosts.total(sum(o.num_scored for o in outcomes))  # waits for all
  num_diverged = hosts.total(sum(o.num_diverged for o in outcomes))
  return _Counts(
    num_new=num_new,
    num_diverged=num_diverged,
    problems=problems,
    seconds=seconds,
    done=done,
  )


def _write_results(
  found: Inventory, counts: _Counts, t0: float, log, progress: bool
) -> PassResult:
  """Writes the tables, the phase figures and the report (process 0)."""
  models = outputs.model_rows(
    found.models, found.paths, found.settings, shared_rows=found.shared_rows
  )
  rows = models.rows
  errors.require(
    bool(rows),
    f"could not evaluate any of the {len(found.models)} "
    f"models in {found.workdir}: " + "; ".join(counts.problems),
    error=errors.CheckpointError,
  )
  problems = found.problems + counts.problems + models.problems
  num_cached = len(rows) - counts.num_new - counts.num_diverged
  bar = tqdm.tqdm(
    total=len(WRITE_STEPS), unit="step", desc="write", disable=not progress
  )
  written = _tables_and_figures(found, models, _step_progress(bar))
  stages = _stages_line(
    dict(
      counts.seconds, **{"tables and phase figures": time.perf_counter() - counts.done}
    )
  )
  seconds = time.perf_counter() - t0
  num_new = counts.num_new
  per_model = f" ({seconds / num_new:.1f} s per evaluated model)" if num_new else ""
  _step_progress(bar)("report.md")
  _write_report(
    found,
    models,
    problems,
    written,
    timing=(
      f"{len(rows)} models: {num_new} evaluated now, "
      f"{counts.num_diverged} found diverged, {num_cached} from "
      f"the cache; this pass took {seconds:.1f} s{per_model} on "
      f"{devices.device_name()}: {stages}."
    ),
  )
  bar.update(1)
  bar.close()
  skipped = len(found.models) - len(rows)
  skip_note = (
    f", {skipped} of {len(found.models)} skipped (unreadable checkpoint)"
    if skipped
    else ""
  )
  diverged_note = (
    f", {counts.num_diverged} diverged (not scored)" if counts.num_diverged else ""
  )
  log(
    f"evaluated {num_new} new model(s){diverged_note}, {num_cached} cached"
    f"{skip_note}, in {seconds:.1f} s{per_model}: {stages}"
  )
  return PassResult(
    report=found.paths.report,
    metrics_csv=found.paths.metrics_csv,
    summary_csv=found.paths.summary_csv,
    num_models=len(rows),
    num_evaluated=num_new,
    num_cached=num_cached,
    problems=problems,
    seconds=seconds,
  )


@dataclasses.dataclass(frozen=True)
class _Tables:
  """What the report shows of the tables: phase -> its summary rows, phase -> its
  figures (paths relative to the run), (title, Markdown lines) of further sections."""

  by_phase: dict[int, list[dict]]
  overview: dict[int, list[str]]
  sections: list[tuple[str, list[str]]]


def _step_progress(bar):
  """Moves the write bar to a step of :data:`WRITE_STEPS` and names it."""

  def step(name: str) -> None:
    bar.update(WRITE_STEPS.index(name) - bar.n)
    bar.set_postfix_str(name)

  return step


def _tables_and_figures(
  found: Inventory, models: outputs.ModelRows, step: Callable[[str], None]
) -> _Tables:
  """Writes ``metrics.csv``, ``summary.csv``, the phase figures, the selection
  views and the collapse curves, telling ``step`` which runs."""
  step("metrics.csv and summary.csv")
  paths, rows = found.paths, models.rows
  udr_notes = udr_cells.add_udr(rows, paths, enabled=found.shared_rows > 0)
  released = released_scores.read(found.workdir)
  if released is not None:  # an import of the authors' models: their numbers too
    rows = released_scores.merge(rows, released)
  tables.write_csv(paths.metrics_csv, tables.model_columns(rows), rows)
  summary = tables.summarize(rows)
  tables.write_csv(paths.summary_csv, tables.summary_columns(rows), summary)
  outputs.write_curves(paths, rows, models.figures)
  by_phase = {
    p: [r for r in summary if int(r["phase"]) == p]
    for p in sorted({int(r["phase"]) for r in summary})
  }
  step("phase figures")
  overview = outputs.phase_figures(
    rows, by_phase, models.mi, paths, found.ds.factor_names
  )
  step("selection views")
  sections = [
    (selection_views.TITLE, selection_views.write(by_phase.get(2), paths)),
    (udr_choice.TITLE, udr_choice.section(by_phase.get(2)) + udr_notes),
  ]
  if released is not None:
    sections.append(
      released_scores.section(
        rows, data_note=released_scores.data_note(found.config, found.ds)
      )
    )
  step("collapse curves")
  collapse_rows = collapse_curves.read(found.workdir)
  if collapse_rows:
    collapse_curves.draw(
      collapse_rows,
      paths.collapse,
      threshold=found.config.get("collapse", {}).get("active_threshold"),
    )
    sections.append(
      (
        "Collapse over training",
        collapse_curves.REPORT_TEXT
        + ["", f"![collapse over training]({paths.relative(paths.collapse)})"],
      )
    )
  return _Tables(by_phase=by_phase, overview=overview, sections=sections)


def _write_report(
  found: Inventory,
  models: outputs.ModelRows,
  problems: list[str],
  written: _Tables,
  *,
  timing: str,
) -> None:
  """Writes ``report.md``."""
  settings, ds = found.settings, found.ds
  scored = [v for v in models.seconds if v is not None]
  if scored:
    timing += (
      f" Evaluating the {len(scored)} scored models took "
      f"{sum(scored):.0f} s in all, {sum(scored) / len(scored):.1f} s per "
      "model (samples, encoding, metrics and figures; measured when each "
      "was evaluated)."
    )
  report.write(
    found.paths.report,
    report.Page(
      workdir=found.workdir,
      config=found.config.to_dict(),
      dataset=report.dataset_line(ds),
      grid_lines=list(ds.notes)
      + report.factor_notes(ds, settings)
      + [ph.describe() for ph in found.phases]
      + [
        f"evaluation: {settings['num_train']} train + {settings['num_test']} "
        f"test samples per seed, {settings['num_bins']} MI bins"
      ],
      timing=timing,
      problems=problems,
      summaries=written.by_phase,
      overview=written.overview,
      model_figures=models.figures,
      sections=written.sections,
    ),
  )

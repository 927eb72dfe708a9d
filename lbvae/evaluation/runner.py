"""The evaluation pass of arXiv 2602.09277, §4: checkpoints in, tables and report out.

Synopsis::

  result = runner.evaluate_workdir("runs/default", config)
  print(result.report)        # runs/default/report.md

For every model of both phases (the final checkpoint of each phase) the pass encodes
its seed's evaluation samples (:mod:`lbvae.evaluation.samples`), scores them with
``lbvae.metrics`` — all models of one seed at once, vmapped
(:mod:`lbvae.evaluation.compute`) — draws its figures and caches its results as
soon as it is scored; then it writes the tables, the overview figures and the
report. The files are listed in :mod:`lbvae.evaluation.store`.

Re-running evaluates only what is new: a model whose cache entry has the same
checkpoint step and evaluation settings, and whose figures exist, is not recomputed.
A phase whose checkpoint is missing or does not restore is reported (one line, by
name) and skipped, and the last line counts the models skipped; when no model at
all could be evaluated the pass raises :class:`lbvae.errors.CheckpointError` (the
command line: one line, exit status 2). Members the trainer froze after a NaN/Inf
are reported as diverged and not scored (NaN scores). Checkpoints written
on any number of devices are read onto this process (see
:mod:`lbvae.train.checkpoint`).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import jax
import numpy as np
import tqdm

from lbvae import pytrees
from lbvae import errors
from lbvae import files
from lbvae import data
from lbvae.evaluation import checkpoints
from lbvae.evaluation import collapse_curves
from lbvae.evaluation import compute
from lbvae.evaluation import outputs
from lbvae.evaluation import released_scores
from lbvae.evaluation import report
from lbvae.evaluation import result_views
from lbvae.evaluation import samples as samples_lib
from lbvae.evaluation import store
from lbvae.evaluation import tables
from lbvae.train import config as config_lib
from lbvae.train import hosts
from lbvae.train import sharding
from lbvae.train import workdir as workdir_lib

CPU_MAX_BATCH = 128   # see encoder_batch


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


def with_eval_defaults(config):
  """``config`` with every ``eval.*`` field of ``train.config.defaults()``.

  A workdir written before a field existed (e.g. the FactorVAE vote settings) gets
  the default value, so that it can be overridden like the others; ``distributed``
  is reset to False (the training's setting does not carry over to the pass).
  """
  config = config.copy_and_resolve_references()
  with config.unlocked():
    # How the training ran is not how this pass runs: several processes only when
    # asked for here (--config.distributed=True or LBVAE_DISTRIBUTED=1).
    config.distributed = False
    for k, v in config_lib.defaults().eval.items():
      if k not in config.eval:
        config.eval[k] = v
  return config


def encoder_batch(config) -> int:
  """Images per encoder call: ``config.eval.batch_size``, at most 128 on CPU.

  On XLA:CPU small batches stay in cache and encode faster per image
  (docs/performance.md); accelerators get the configured batch.
  """
  batch = int(config.eval.batch_size)
  return min(batch, CPU_MAX_BATCH) if jax.default_backend() == "cpu" else batch


def _settings(config) -> dict:
  """The evaluation settings that a cache entry must match; validated."""
  config = with_eval_defaults(config)
  config_lib.validate_eval(config)
  ev = config.eval
  out = {"num_train": int(ev.num_train), "num_test": int(ev.num_test),
         "num_bins": int(ev.num_bins),
         "factor_vae_votes": int(ev.factor_vae_votes),
         "factor_vae_batch": int(ev.factor_vae_batch),
         "posterior_samples": int(ev.posterior_samples),
         "dataset": str(config.dataset.name), "source": str(config.dataset.source),
         # How the held-out NLL decodes (see lbvae.evaluation.encode); a change of
         # method must not be served from an old cache.
         "heldout_nll": "one reparameterised sample per image",
         # dci_*: disentanglement_lib's trees; the LASSO's numbers are dci_lasso_*.
         "dci": "gradient-boosted trees, LightGBM"}
  return out


class _Clock:
  """Seconds per stage of the pass, for the log and the report."""

  def __init__(self):
    self.seconds: dict[str, float] = {}
    self._t = time.perf_counter()

  def lap(self, stage: str) -> None:
    now = time.perf_counter()
    self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._t
    self._t = now

  def restart(self) -> None:
    self._t = time.perf_counter()

  def line(self) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items() if v >= 0.05)


def _evaluate_seed(seed, todo, ds, config, settings, paths, restored, problems,
                   bar, clock) -> tuple[int, int]:
  """Scores ``todo`` [(phase, member)] of one seed; returns how many were scored and
  how many were found diverged (stored unscored)."""
  t0 = time.perf_counter()
  stacks, keys, num_diverged = [], [], 0
  for ph in sorted({ph.number: ph for ph, _ in todo}.values(),
                   key=lambda p: p.number):
    if ph.number not in restored:
      try:
        restored[ph.number] = ph.restore()
      except errors.CheckpointError as e:
        restored[ph.number] = None
        problems.append(f"phase {ph.number}: {e}; its models are skipped")
    if restored[ph.number] is None:
      bar.update(sum(1 for p, _ in todo if p is ph))
      continue
    members = [m for p, m in todo if p is ph]
    params = pytrees.take(restored[ph.number],
                          np.asarray([m["index"] for m in members]))
    finite = pytrees.finite_rows(params)
    # A member the trainer froze (finite = 0) diverged: not scored, like one
    # whose parameters are not finite (its frozen ones may be finite but huge).
    finite = [bool(ok) and bool(m["finite"]) for m, ok in zip(members, finite)]
    for m, ok in zip(members, finite):
      if not ok:
        store.save_entry(paths, m, step=ph.step, settings=settings,
                         checkpoint=ph.fingerprint, scores=None)
        num_diverged += 1
        bar.update(1)
    good = [i for i, ok in enumerate(finite) if ok]
    if good:
      stacks.append(pytrees.take(params, np.asarray(good)))
      keys += [(ph, members[i]) for i in good]
  clock.lap("restore")
  if not keys:
    return 0, num_diverged
  params = jax.tree.map(lambda *xs: np.concatenate(xs), *stacks)
  s = samples_lib.draw(ds, seed=seed, num_train=settings["num_train"],
                       num_test=settings["num_test"])
  votes = None
  if settings["factor_vae_votes"]:
    votes = compute.draw_votes(ds, seed=seed,
                               num_votes=settings["factor_vae_votes"],
                               batch_size=settings["factor_vae_batch"])
  posterior = None
  if settings["posterior_samples"]:
    posterior = samples_lib.draw_stratified(ds, seed=seed,
                                            num=settings["posterior_samples"])
  clock.lap("samples")
  results = compute.evaluate_stack(
      params, s, ds, latent_dim=int(config.latent_dim),
      num_bins=settings["num_bins"], batch_size=encoder_batch(config),
      votes=votes, posterior=posterior, on_encoded=bar.update,
      timings=clock.seconds)
  clock.restart()   # evaluate_stack booked its own "encode" and "metrics" time
  shared = (time.perf_counter() - t0) / len(keys)
  bar.set_postfix_str(f"seed {seed}: figures")
  for (ph, m), res in zip(keys, results):
    t1 = time.perf_counter()
    outputs.model_figures(paths, m, res, ds.factor_names)
    store.save_entry(paths, m, step=ph.step, settings=settings,
                     checkpoint=ph.fingerprint,
                     seconds=shared + time.perf_counter() - t1,
                     scores=res["scores"], mi=res["mi"],
                     mi_posterior=res["mi_posterior"],
                     kl_per_latent=res["kl_per_latent"])
  clock.lap("figures")
  return len(keys), num_diverged


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


_UNTRAINED = ("no checkpoints in {0} (train it first: python -m experiments.sweep "
              "--workdir={0})")


def evaluate_workdir(workdir: str, config, *,
                     log: Callable[[str], None] = print,
                     progress: bool = True) -> PassResult:
  """Runs the pass on a training run directory.

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
    return _evaluate_locked(workdir, config, settings, log, progress, t0)


def _evaluate_locked(workdir: str, config, settings, log, progress,
                     t0) -> PassResult:
  """:func:`evaluate_workdir` while it holds the workdir's lock."""
  clock = _Clock()
  paths = store.EvalPaths(workdir)
  phases, problems = checkpoints.find_phases(workdir)
  errors.require(bool(phases), _UNTRAINED.format(workdir))
  for p in problems:
    log(p)
  ds = data.load(config.dataset.name, config.dataset.source,
                 config.dataset.path or None)
  num_data = len(ds)
  errors.require(settings["num_train"] + settings["num_test"] <= num_data,
              f"config.eval.num_train + num_test must be <= {num_data} (the "
              "dataset size)")

  entries, todo = {}, {}
  for ph in phases:
    for m in ph.members:
      if store.load_entry(paths, m, step=ph.step, settings=settings,
                          checkpoint=ph.fingerprint) is None:
        todo.setdefault(int(m["seed"]), []).append((ph, m))
      entries[store.model_id(m)] = (ph, m)
  num_todo = sum(len(v) for v in todo.values())
  log(f"{len(entries)} models in {len(phases)} phase(s): {num_todo} to evaluate, "
      f"{len(entries) - num_todo} cached")
  hosts.sync("lbvae evaluate: the cache is read")   # before any process writes it
  todo = _share(todo, jax.process_index(), jax.process_count())
  num_todo = sum(len(v) for v in todo.values())

  clock.lap("setup")
  restored, pass_problems = {}, []
  bar = tqdm.tqdm(total=num_todo, unit="model", desc="evaluate",
                  disable=not progress or num_todo == 0)
  num_new = num_new_diverged = 0
  for seed in sorted(todo):
    bar.set_postfix_str(f"seed {seed}")
    scored, diverged = _evaluate_seed(seed, todo[seed], ds, config, settings, paths,
                                      restored, pass_problems, bar, clock)
    num_new, num_new_diverged = num_new + scored, num_new_diverged + diverged
  bar.close()
  for p in pass_problems:
    log(p)
  problems = problems + pass_problems
  num_new = hosts.total(num_new)   # waits for every process to finish scoring
  num_new_diverged = hosts.total(num_new_diverged)
  if not sharding.is_main_process():   # process 0 writes the tables and the report
    return PassResult(report=paths.report, metrics_csv=paths.metrics_csv,
                      summary_csv=paths.summary_csv, num_models=len(entries),
                      num_evaluated=num_new, num_cached=0, problems=problems,
                      seconds=time.perf_counter() - t0)

  rows, model_figs, mi, model_seconds = outputs.model_rows(entries, paths,
                                                          settings, problems)
  errors.require(bool(rows), f"could not evaluate any of the {len(entries)} models "
                 f"in {workdir}: " + "; ".join(pass_problems),
                 error=errors.CheckpointError)
  skipped = len(entries) - len(rows)
  num_cached = len(rows) - num_new - num_new_diverged
  released = released_scores.read(workdir)
  if released is not None:     # an import of the authors' models: their numbers too
    released_scores.merge(rows, released)
  tables.write_csv(paths.metrics_csv, tables.model_columns(rows), rows)
  summary = tables.summarize(rows)
  tables.write_csv(paths.summary_csv, tables.summary_columns(rows), summary)
  by_phase = {p: [r for r in summary if int(r["phase"]) == p]
              for p in sorted({int(r["phase"]) for r in summary})}
  overview = outputs.phase_figures(rows, by_phase, mi, paths, ds.factor_names)
  sections = [(result_views.TITLE, result_views.write(by_phase.get(2), paths))]
  if released is not None:
    sections.append(released_scores.section(
        rows, data_note=released_scores.data_note(config, ds)))
  collapse_rows = collapse_curves.read(workdir)
  if collapse_rows:
    collapse_curves.draw(collapse_rows, paths.collapse,
                         threshold=config.get("collapse", {}).get("active_threshold"))
    sections.append(("Collapse over training", collapse_curves.REPORT_TEXT + [
        "", f"![collapse over training]({paths.relative(paths.collapse)})"]))
  clock.lap("tables and phase figures")
  seconds = time.perf_counter() - t0
  per_model = f" ({seconds / num_new:.1f} s per evaluated model)" if num_new else ""
  scored = [v for v in model_seconds if v is not None]
  timing = (f"{len(rows)} models: {num_new} evaluated now, "
            f"{num_new_diverged} found diverged, {num_cached} from the cache; "
            "this pass took "
            f"{seconds:.1f} s{per_model} on {checkpoints.device_name()}: "
            f"{clock.line()}.")
  if scored:
    timing += (f" Evaluating the {len(scored)} scored models took "
               f"{sum(scored):.0f} s in all, {sum(scored) / len(scored):.1f} s per "
               "model (samples, encoding, metrics and figures; measured when each "
               "was evaluated).")
  report.write(
      paths.report, workdir=workdir, config=config.to_dict(),
      dataset=f"{ds.name} ({ds.source}): {num_data} images, factors "
      + ", ".join(f"{n} {s}" for n, s in zip(ds.factor_names, ds.factor_sizes)),
      grid_lines=[ph.describe() for ph in phases]
      + [f"evaluation: {settings['num_train']} train + {settings['num_test']} "
         f"test samples per seed, {settings['num_bins']} MI bins"],
      timing=timing, problems=problems, summaries=by_phase,
      overview=overview,
      model_figures=model_figs, sections=sections)
  skip_note = (f", {skipped} of {len(entries)} skipped (unreadable checkpoint)"
               if skipped else "")
  diverged_note = (f", {num_new_diverged} diverged (not scored)"
                   if num_new_diverged else "")
  log(f"evaluated {num_new} new model(s){diverged_note}, {num_cached} cached"
      f"{skip_note}, "
      f"in {seconds:.1f} s{per_model}: {clock.line()}")
  return PassResult(report=paths.report, metrics_csv=paths.metrics_csv,
                    summary_csv=paths.summary_csv, num_models=len(rows),
                    num_evaluated=num_new, num_cached=num_cached,
                    problems=problems, seconds=seconds)

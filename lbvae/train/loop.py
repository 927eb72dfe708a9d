"""The two-phase sweep of arXiv 2602.09277, §4, with checkpoints and exact resume.

Phase 1 trains the β × seed grid under ``config.objective`` (:mod:`lbvae.objectives`,
the β-VAE by default); phase 2 restores phase 1's final checkpoint and continues
every member for each λ under the same objective + λ·E‖x − g(z)‖², with a fresh
optimiser. Each phase runs between host boundaries: every ``log_every`` steps (a row
per member in ``train_log.csv``), every ``checkpoint_every`` steps (a checkpoint and,
with ``config.collapse``, the probe of :mod:`lbvae.train.collapse`, also run before
phase 1's first step) and at the phase's end. Files: :mod:`lbvae.train.workdir`.

Resume: each phase restores its newest checkpoint that reads and decodes (a newer
unreadable one is moved aside as ``<step>.unreadable``, with one line saying so) and
continues with the same keys, data order and loss windows, so it ends with the
numbers of an uninterrupted run; a finished workdir is not retrained, and a missing
or unreadable ``grid.json`` is rewritten from the final checkpoint's metadata. With
``config.distributed`` every host runs this program and process 0 alone writes the
logs, CSVs and JSON (docs/cluster.md). Entry point: :func:`train`,
``train(config, "runs/default")``.
"""

from __future__ import annotations

from typing import Callable

import jax
import numpy as np

from lbvae import data
from lbvae import errors
from lbvae import files
from lbvae import interrupts
from lbvae import memory
from lbvae import objectives as objectives_lib
from lbvae.train import checkpoint
from lbvae.train import checkpoint_layouts
from lbvae.train import collapse
from lbvae.train import config as config_lib
from lbvae.train import event_files
from lbvae.train import grid_runner
from lbvae.train import hosts
from lbvae.train import members as members_lib
from lbvae.train import sharding
from lbvae.train import sizes
from lbvae.train import progress
from lbvae.train import state as state_lib
from lbvae.train import step as step_lib
from lbvae.train import workdir as workdir_lib

Hook = Callable[[int, int], None]


def phase_span(config, phase: int) -> tuple[int, int]:
  """(first, end) global steps of a phase: phase 2 continues phase 1's count."""
  p1, p2 = int(config.phase1_steps), int(config.phase2_steps)
  return (0, p1) if phase == 1 else (p1, p1 + p2)


def _next_multiple(x: int, k: int) -> int:
  return (x // k + 1) * k


def _phase_done(paths: workdir_lib.Paths, config, phase: int) -> bool:
  ckpt_dir = paths.checkpoints(phase)
  if not files.as_path(paths.final_metrics(phase)).exists():
    return False
  steps = checkpoint.finalized_steps(ckpt_dir)
  end = phase_span(config, phase)[1]
  if end not in steps:
    return False
  try:  # trained only if its final checkpoint reads
    checkpoint.check_readable(ckpt_dir, end)
  except errors.CheckpointError:
    return False
  return True


def _grid_problem(paths: workdir_lib.Paths, phase: int) -> str | None:
  """Why a phase's ``grid.json`` does not read ("is missing", ...), or None."""
  try:
    files.read_json(paths.grid(phase))
    return None
  except FileNotFoundError:
    return "is missing"
  except (OSError, ValueError) as e:
    return f"is unreadable ({type(e).__name__}: {e})"


def _restore_grid(paths: workdir_lib.Paths, config, phase: int, log) -> None:
  """Rewrites the missing or unreadable ``grid.json`` of a trained phase from its
  final checkpoint's metadata (the record it was written from), or says in one
  warning line that neither reads."""
  why = _grid_problem(paths, phase)
  if why is None:
    return
  source = checkpoint.meta_path(paths.checkpoints(phase), phase_span(config, phase)[1])
  try:
    meta = files.read_json(source)
  except (OSError, ValueError) as e:
    log.warning(
      f"{paths.grid(phase)} {why}, and {source} does not read either "
      f"({type(e).__name__}: {e}); the evaluation pass will skip phase "
      f"{phase}"
    )
    return
  files.write_json(paths.grid(phase), meta)
  log.info(f"{paths.grid(phase)} {why}; rebuilt from {source}")


def _member_rows(grid_members, state, step: int) -> list[dict]:
  healthy = sharding.to_host(state.healthy)
  frozen = sharding.to_host(state.frozen_step)
  out = []
  for m in grid_members:
    row = m.as_dict()
    row["finite"] = bool(healthy[m.index])
    row["frozen_step"] = int(frozen[m.index]) if frozen[m.index] >= 0 else None
    out.append(row)
  return out


class _Phase:
  """Trains one phase; see :func:`train`."""

  def __init__(
    self,
    phase,
    config,
    paths,
    runner,
    model,
    tx,
    keys,
    log,
    hook,
    show_progress,
    probe=None,
    objective=None,
  ):
    self.phase, self.config, self.paths = phase, config, paths
    self.probe = probe
    self.objective = objectives_lib.make("beta_vae") if objective is None else objective
    self.fields = objectives_lib.log_fields(self.objective)
    self.runner, self.model, self.tx, self.keys = runner, model, tx, keys
    self.log, self.hook, self.show_progress = log, hook, show_progress
    self.grid = members_lib.phase_grid(config, phase)
    self.start, self.end = phase_span(config, phase)
    files.make_dir(paths.phase(phase))
    self.ckpts = checkpoint.PhaseCheckpoints(
      paths.checkpoints(phase), keep=config.keep_checkpoints
    )

  def abstract(self, grid_members, sharding=None):
    """Shapes of a grid state, placed as the runner stores a grid of that size
    (or with ``sharding``), so that a checkpoint is restored onto these devices."""
    abstract = state_lib.abstract_state(
      self.model,
      self.tx,
      grid_members,
      self.keys,
      window=self.config.window,
      objective=self.objective,
    )
    if sharding is None:
      sharding = self.runner.place.state_sharding(
        len(grid_members), self.runner.strategy
      )
    return jax.tree.map(
      lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sharding), abstract
    )

  def meta(self, state, step: int) -> dict:
    return {
      "phase": self.phase,
      "objective": self.objective.name,
      "step": step,
      "start_step": self.start,
      "end_step": self.end,
      "members": _member_rows(self.grid, state, step),
    }

  def initial_state(self):
    latest = self.ckpts.readable_step(self.log.warning)
    if latest is not None:
      state = self.restore(self.ckpts, latest, self.abstract(self.grid))
      self.log.info(f"resuming phase {self.phase} from step {latest}")
      return state, latest
    if self.phase == 1:
      return state_lib.phase1_state(
        self.model,
        self.tx,
        self.grid,
        self.keys,
        window=self.config.window,
        objective=self.objective,
      ), None
    grid1 = members_lib.phase_grid(self.config, 1)
    prev = checkpoint.PhaseCheckpoints(self.paths.checkpoints(1))
    phase1 = self.restore(
      prev, self.start, self.abstract(grid1, self.runner.place.replicated)
    )
    prev.close()
    self.log.info(
      f"phase 2 starts from the phase-1 checkpoint at step {self.start} "
      "with a fresh optimiser"
    )
    return state_lib.phase2_state(
      self.tx,
      self.grid,
      phase1,
      self.keys,
      window=self.config.window,
      objective=self.objective,
    ), None

  def restore(self, ckpts, step: int, abstract):
    """A checkpoint's state in today's layout, whatever layout it was written in
    (:mod:`lbvae.train.checkpoint_layouts`), with today's logged fields."""
    try:
      target, convert = checkpoint_layouts.restore_plan(
        ckpts.stored_layout(step), abstract, self.objective.name
      )
    except errors.CheckpointError as e:
      raise errors.CheckpointError(
        f"checkpoint {step} of {ckpts.directory}: {e}"
      ) from None
    tree, _ = ckpts.restore(step, target)
    sharding = next(iter(abstract.window.values())).sharding
    return jax.jit(
      lambda t: checkpoint_layouts.with_fields(convert(t), self.fields),
      out_shardings=sharding,
    )(tree)

  def save(self, step: int, state, meta: dict) -> None:
    """Writes checkpoint ``step``; a full or read-only disk is a DiskError line (the
    earlier checkpoints stay as they were)."""
    try:
      self.ckpts.save(step, state, meta)
    except Exception as e:  # pylint: disable=broad-except  (orbax raises ValueError)
      cause = files.os_error_of(e)
      if cause is None:
        raise
      raise files.disk_error(
        cause,
        f"checkpoint {step} of phase {self.phase}",
        self.paths.checkpoints(self.phase),
      ) from None

  def record_collapse(self, state, step: int, collapse_log) -> None:
    """Runs the collapse probe on every member; the main process writes the rows."""
    scores = self.probe(state.params)
    if collapse_log is not None:
      with interrupts.deferred():
        collapse_log.append(step, self.grid, scores)

  def warn_frozen(self, state, warned: set) -> None:
    healthy = sharding.to_host(state.healthy)
    frozen = sharding.to_host(state.frozen_step)
    for m in self.grid:
      if not healthy[m.index] and m.index not in warned:
        warned.add(m.index)
        self.log.warning(
          f"phase {self.phase} member {m.index} ({m.label()}) had a non-finite "
          f"loss or gradient at step {frozen[m.index]}; it is frozen at its last "
          "finite parameters and flagged finite=0"
        )

  def boundary(self, state, t: int, train_log, collapse_log, warned: set):
    """At step ``t``: the log rows, frozen-member warnings, and the checkpoint with
    its grid file and collapse probe, as the step falls due; returns the state."""
    config, local, main = self.config, t - self.start, sharding.is_main_process()
    if local % config.log_every == 0 or t == self.end:
      means = jax.tree.map(sharding.to_host, state_lib.log_means(state))
      rows = _member_rows(self.grid, state, t)
      for r in rows:
        r.update(step=t, **{k: float(means[k][r["member"]]) for k in self.fields})
      if main:
        train_log.append(rows)
        self.curves.append(rows, self.fields)
      state = state_lib.reset_log(state)
    self.warn_frozen(state, warned)
    if local % config.checkpoint_every == 0 or t == self.end:
      meta = self.meta(state, t)
      self.save(t, state, meta)
      if main:
        files.write_json(self.paths.grid(self.phase), meta)
      if self.probe is not None:
        self.record_collapse(state, t, collapse_log)
    return state

  def write_final(self, state) -> None:
    means = jax.tree.map(sharding.to_host, state_lib.window_means(state))
    rows = _member_rows(self.grid, state, self.end)
    for r, m in zip(rows, self.grid):
      r.update(
        {
          k: float(means[k][m.index]) if r["finite"] else float("nan")
          for k in self.fields
        }
      )
      r.update(
        step=self.end, frozen_step=-1 if r["frozen_step"] is None else r["frozen_step"]
      )
    if sharding.is_main_process():
      files.write_csv(
        self.paths.final_metrics(self.phase),
        workdir_lib.final_columns(self.objective.parts),
        rows,
      )

  def run(self) -> dict:
    """Trains the phase to its end; a Ctrl-C or SIGTERM becomes
    :class:`lbvae.errors.Interrupted` naming the step reached and the checkpoint
    kept (a checkpoint and its logs are never cut: ``lbvae.interrupts.deferred``)."""
    self.reached = None
    try:
      return self._run()
    except KeyboardInterrupt:
      raise errors.Interrupted(self.stopped()) from None

  def stopped(self) -> str:
    """The line of a run interrupted in this phase."""
    where = (
      f"in phase {self.phase} before its first step"
      if self.reached is None
      else f"at step {self.reached} of phase {self.phase}"
    )
    kept = checkpoint.finalized_steps(self.paths.checkpoints(self.phase))
    if kept:
      what = f"the checkpoint at step {kept[-1]} is kept"
    elif self.phase == 2:
      what = f"phase 1's checkpoint at step {self.start} is kept"
    else:
      what = "no checkpoint was written yet"
    return f"interrupted {where}; {what}; run the same command to resume"

  def _run(self) -> dict:
    config, g = self.config, len(self.grid)
    state, resumed = self.initial_state()
    t = int(sharding.to_host(state.step)[0])
    main = sharding.is_main_process()
    meta = self.meta(state, t)  # gathers from every process: all of them call it
    with interrupts.deferred():
      if main:
        files.write_json(self.paths.grid(self.phase), meta)
      train_log = (
        workdir_lib.TrainLog(
          self.paths.train_log(self.phase), resumed, parts=self.objective.parts
        )
        if main
        else None
      )
      self.curves = (
        event_files.MemberCurves(self.paths.root, self.phase, self.grid, resumed)
        if main
        else None
      )
      collapse_log = None
      if self.probe is not None and main:
        collapse_log = collapse.CollapseLog(
          self.paths.phase(self.phase),
          latent_dim=int(config.latent_dim),
          resume_step=resumed,
        )
    if self.probe is not None and self.phase == 1 and resumed is None:
      self.record_collapse(state, t, collapse_log)  # the untrained models
    elif (
      self.probe is not None
      and resumed is not None
      and not collapse.recorded(self.paths.phase(self.phase), resumed)
    ):
      self.record_collapse(state, t, collapse_log)  # killed before its probe
    self.reached = t
    warned: set = set()
    self.warn_frozen(state, warned)
    self.log.info(
      f"phase {self.phase}: {g} models, steps {t} -> {self.end} "
      f"(grid strategy {self.runner.strategy}, {jax.default_backend()})"
    )
    seeds = members_lib.column(self.grid, "seed", np.int32)
    self.log.info(self.runner.plan(state, self.keys.data, seeds))
    bar = progress.Progress(
      f"phase {self.phase}",
      total=self.end - self.start,
      initial=t - self.start,
      grid_size=g,
      enabled=self.show_progress and main,
    )
    while t < self.end:
      local = t - self.start
      stop = (
        min(
          _next_multiple(local, config.log_every),
          _next_multiple(local, config.checkpoint_every),
          self.end - self.start,
        )
        + self.start
      )
      state = self.runner.run(state, self.keys.data, seeds, t, stop - t)
      jax.block_until_ready(state.step)
      bar.update(stop - t)
      t = stop
      with interrupts.deferred():
        state = self.boundary(state, t, train_log, collapse_log, warned)
        self.reached = t
      if self.hook is not None:
        self.hook(self.phase, t)
    rate = bar.close()
    with interrupts.deferred():
      self.write_final(state)
    self.ckpts.close()
    summary = {
      "grid_size": g,
      "steps_per_second": rate,
      "model_steps_per_second": None if rate is None else rate * g,
      "compile_chunk_seconds": bar.first_seconds,
    }
    if rate is not None:
      self.log.info(
        f"phase {self.phase} done: {g} models to step {self.end}; "
        f"{rate:.3f} steps/s = {rate * g:.3f} model-steps/s "
        f"(first chunk, with compilation: {bar.first_seconds:.1f} s)"
      )
    else:
      self.log.info(f"phase {self.phase} done: {g} models to step {self.end}")
    return summary


def train(
  config, workdir: str, *, hook: Hook | None = None, show_progress: bool = True
) -> dict:
  """Trains (or resumes) both phases of a sweep into ``workdir``.

  Args:
    config: a sweep config (see ``configs/default.py``).
    workdir: the run directory (created if needed).
    hook: called as ``hook(phase, step)`` after every boundary's logs and
      checkpoint are written (tests use it to interrupt a run).
    show_progress: show tqdm bars.

  Returns:
    ``{phase: {"grid_size", "steps_per_second", "model_steps_per_second",
    "compile_chunk_seconds"}}`` for the phases trained by this call.

  Raises:
    lbvae.errors.Error: an invalid config, a config that differs from the one
      stored in ``workdir``, a dataset that cannot be loaded, or sizes that need
      more memory than is free (:mod:`lbvae.train.sizes`). Nothing is written
      before these checks pass.
    lbvae.errors.WorkdirBusy: another run writes ``workdir``
      (:func:`lbvae.train.workdir.locked`).
  """
  config_lib.validate(config)
  hosts.maybe_initialize_distributed(config)
  hosts.check_same_run(workdir_lib.run_facts(config))
  paths = workdir_lib.Paths(workdir)
  files.check_writable_dir(paths.root, what="--workdir")
  workdir_lib.check_config(paths, config)
  state_lib.make_model(config, 1)  # raises errors.ConfigError on an unknown model_impl
  main = sharding.is_main_process()
  if all(_phase_done(paths, config, p) for p in (1, 2)):
    log = progress.RunLog(paths.run_log)
    if main and any(_grid_problem(paths, p) for p in (1, 2)):
      with workdir_lib.locked(paths.root):  # the one write: rebuilt grid files
        for p in (1, 2):
          _restore_grid(paths, config, p, log)
    log.info(
      f"{paths.root} is already trained (phase 1 to step "
      f"{phase_span(config, 1)[1]}, phase 2 to step "
      f"{phase_span(config, 2)[1]}); nothing to do"
    )
    return {}
  ds = data.from_config(config.dataset)
  source = data.batch_source(ds, config.dataset.placement)
  objective = objectives_lib.from_config(config, dataset_size=len(ds))
  memory.require(sizes.needs(config, num_channels=ds.num_channels, objective=objective))
  with workdir_lib.locked(paths.root, writer=main):
    workdir_lib.check_config(paths, config)  # again: it may have been written since
    return _train_locked(config, paths, ds, source, objective, hook, show_progress)


def _train_locked(config, paths, ds, source, objective, hook, show_progress) -> dict:
  """:func:`train` once the workdir is checked, its data loaded and its lock held."""
  main = sharding.is_main_process()
  if main:
    workdir_lib.store_config(paths, config)
  log = progress.RunLog(paths.run_log if main else None, echo=main)
  log.info(f"workdir {paths.root}; data: {source.describe()}")
  model = state_lib.make_model(config, ds.num_channels)
  tx = state_lib.make_optimizer(config)
  keys = state_lib.seed_keys(config.seed, config.num_seeds)
  log.info(
    f"objective {objective.name} ({objective.title}, {objective.reference}); "
    f"the β axis holds {objective.strength_label}"
  )
  runner = grid_runner.GridRunner(
    step_lib.make_train_step(model, tx, objective),
    source,
    batch_size=config.batch_size,
    strategy=config.grid_strategy,
    map_batch_size=config.map_batch_size,
    steps_per_call=config.steps_per_call,
    grid_chunk=config.get("grid_chunk", 0),
    impl=model.impl,
  )
  probe = None
  probe_config = config.get("collapse")
  if probe_config is not None and probe_config.num_samples > 0:
    probe = collapse.CollapseProbe(
      model,
      ds,
      num_samples=probe_config.num_samples,
      seed=config.seed,
      num_bins=probe_config.num_bins,
      active_threshold=probe_config.active_threshold,
    )
  summary = {}
  for phase in (1, 2):
    if _phase_done(paths, config, phase):
      log.info(f"phase {phase} is already trained; skipping it")
      if main:
        _restore_grid(paths, config, phase, log)
      continue
    summary[phase] = _Phase(
      phase,
      config,
      paths,
      runner,
      model,
      tx,
      keys,
      log,
      hook,
      show_progress,
      probe,
      objective,
    ).run()
  log.info(f"sweep finished: {paths.root}")
  return summary

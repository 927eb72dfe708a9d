"""What the evaluation pass reads from a training run (arXiv 2602.09277, §4).

The trainer (:mod:`lbvae.train`) leaves in its workdir ``config.json``, and per
phase N ``phaseN/checkpoints/<step>/`` (orbax), ``phaseN/grid.json`` (the members
and their health flags) and, once the phase is done, ``phaseN/final_metrics.csv``
(training-window means). This module turns that into :class:`Phase` records —
members, final step, a deferred parameter restore — using the trainer's own
``load_params``. Problems (a phase without checkpoints, an
unreadable grid file, an unfinished phase) come back as one-line messages, not
exceptions, so the pass can go on with what is there.

Synopsis::

  config = workdir.load_config("runs/default")      # lbvae.train.workdir
  phases, problems = checkpoints.find_phases("runs/default")
  params = phases[0].restore()       # every leaf numpy float32[G, ...]

The parameters are read into host memory whatever the device count of the run
that wrote them (see :mod:`lbvae.train.checkpoint`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable

import jax

from lbvae import errors
from lbvae import files
from lbvae import models
from lbvae import objectives
from lbvae import train
from lbvae.evaluation import keys
from lbvae.train import checkpoint as checkpoint_lib
from lbvae.train import workdir as workdir_lib

# The one config loader, exported as lbvae.evaluation.load_config.
load_config = workdir_lib.load_config

PHASES = (1, 2)


@dataclasses.dataclass
class Phase:
  """The final checkpoint of one training phase.

  Attributes:
    number: 1 (the objective) or 2 (the objective + λ·L2).
    name: how messages name the checkpoint (its directory and step).
    step: the checkpoint's step.
    members: one :class:`~lbvae.evaluation.keys.PhaseMember` per grid member, in
      grid order.
    restore: returns the parameters, every leaf a numpy array with a leading
      grid axis; raises :class:`lbvae.errors.CheckpointError` if the checkpoint
      is unreadable.
    train_means: ``ModelKey -> {"nll", "kl", "l2", *parts}`` training-window
      means (the parts: the objective's own columns of ``final_metrics.csv``).
    objective: the training objective (``lbvae.objectives``), from ``grid.json``
      (``beta_vae`` when it names none).
    fingerprint: the checkpoint's content (``lbvae.train.checkpoint.fingerprint``),
      part of the evaluation cache's key.
    param_shapes: the stored parameters' shapes, leading grid axis included
      (``lbvae.train.checkpoint.param_shapes``; empty when its metadata does not
      read).
  """

  number: int
  name: str
  step: int
  members: list[keys.PhaseMember]
  restore: Callable[[], Any]
  train_means: dict
  objective: str = "beta_vae"
  fingerprint: str = ""
  param_shapes: dict = dataclasses.field(default_factory=dict)

  def describe(self) -> str:
    """One line: the phase's grid and checkpoint."""
    fmt = lambda vs: "{" + ", ".join(f"{v:g}" for v in sorted(set(vs))) + "}"
    betas = fmt(m.key.strength for m in self.members)
    lams = fmt(m.key.lam for m in self.members)
    seeds = fmt(m.key.seed for m in self.members)
    lam = f" × λ ∈ {lams}" if self.number == 2 else ""
    return (
      f"phase {self.number}: {len(self.members)} models of objective "
      f"{self.objective}, β ∈ {betas}{lam} × seeds {seeds}; checkpoint step "
      f"{self.step}"
    )


def _member(phase: int, m: dict) -> keys.PhaseMember:
  """A member of ``grid.json`` (λ is 0 in phase 1 whatever the file says)."""
  lam = m["lambda"] if phase == 2 else 0.0
  return keys.PhaseMember(
    keys.ModelKey(phase, m["beta"], lam, m["seed"]),
    index=int(m["member"]),
    finite=bool(m.get("finite", True)),
    frozen_step=m.get("frozen_step"),
  )


def _steps(directory: str) -> list[int]:
  """Steps of the complete checkpoints (``checkpoint.finalized_steps``)."""
  return checkpoint_lib.finalized_steps(directory)


def _train_means(path: str) -> dict:
  """Per member: the logged fields of ``final_metrics.csv`` that the reports show
  (base fields outside ``objectives.REPORTED``, i.e. loss, left out): nll, kl, l2
  and the objective's parts."""
  if not files.as_path(path).exists():
    return {}
  skip = (
    workdir_lib.ID_COLUMNS
    + workdir_lib.FLAG_COLUMNS
    + tuple(f for f in objectives.BASE_FIELDS if f not in objectives.REPORTED)
  )
  columns = files.read_csv(path)[0]
  names = [c for c in columns if c not in skip]
  _, rows = files.read_csv(path, integers=("seed",), numbers=("beta", "lambda", *names))
  return {(r["beta"], r["lambda"], r["seed"]): {k: r[k] for k in names} for r in rows}


def _identity(m: dict) -> tuple:
  return (int(m["member"]), float(m["beta"]), float(m["lambda"]), int(m["seed"]))


def _check_identity(grid: dict, grid_file: str, meta_file: str, shapes: dict) -> None:
  """Refuses a ``grid.json`` whose members are not the checkpoint's own (its
  metadata, written with its arrays), or a checkpoint whose arrays hold another
  number of models: a dropped member, a checkpoint copied from another run.

  Raises:
    lbvae.errors.DataError: the line naming the first difference.
  """
  try:
    own = files.read_json(meta_file)["members"]
    own = [_identity(m) for m in own]
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise errors.CheckpointError(
      f"cannot read {meta_file}, the checkpoint's record "
      f"of its models ({type(e).__name__}: {e})"
    ) from None
  mine = [_identity(m) for m in grid["members"]]
  name = lambda i: "member {} (β={:g}, λ={:g}, seed {})".format(*i)
  if mine != own:
    extra = [name(i) for i in mine if i not in own]
    lost = [name(i) for i in own if i not in mine]
    what = (
      "; ".join(
        ([f"{grid_file} has {extra[0]}"] if extra else [])
        + ([f"it lacks {lost[0]}"] if lost else [])
      )
      or "the order differs"
    )
    raise errors.DataError(
      f"{grid_file} disagrees with the checkpoint's own record "
      f"{meta_file} ({len(mine)} vs {len(own)} models): {what}"
    )
  counts = {shape[0] for shape in shapes.values() if shape}
  errors.require(
    counts <= {len(own)},
    f"{meta_file} names {len(own)} models but the "
    f"checkpoint's arrays hold {sorted(counts)}",
    errors.DataError,
  )


def check_against_config(
  phases: list[Phase], config, *, num_channels: int, config_file: str
) -> None:
  """Refuses a phase that is not what the run's config trained: a model whose β,
  λ or seed is not on the config's grid (a checkpoint copied from another run), or
  stored parameters that are not those of the config's model (``latent_dim``
  latents, ``num_channels`` image channels: a ``config.json`` edited by hand, a
  checkpoint trained on another dataset).

  Raises:
    lbvae.errors.DataError: one line naming the checkpoint and the first
      difference.
  """
  latent_dim = int(config.latent_dim)
  betas = {float(b) for b in config.betas}
  lambdas = {float(v) for v in config.lambdas} | {0.0}
  for ph in phases:
    for m in ph.members:
      k = m.key
      errors.require(
        k.strength in betas
        and k.lam in lambdas
        and 0 <= k.seed < int(config.num_seeds),
        f"{ph.name} holds {k.name()}, which is not on the grid of "
        f"{config_file} (betas {sorted(betas)}, lambdas "
        f"{sorted(lambdas)}, {config.num_seeds} seed(s))",
        errors.DataError,
      )
  model = jax.eval_shape(
    lambda: models.init_params(
      jax.random.key(0), latent_dim=latent_dim, num_channels=int(num_channels)
    )
  )
  expected = {
    jax.tree_util.keystr(path): leaf.shape
    for path, leaf in jax.tree_util.tree_flatten_with_path(model)[0]
  }
  for ph in (ph for ph in phases if ph.param_shapes):
    diffs = checkpoint_lib.shape_differences(ph.param_shapes, expected)
    errors.require(
      not diffs,
      f"{ph.name} does not hold the model {config_file} "
      f"describes (latent_dim={latent_dim}, {num_channels} image "
      f"channel(s)): {'; '.join(diffs[:2])}",
      errors.DataError,
    )


def _readable_step(
  directory: str, steps: list[int], phase: int, problems: list[str]
) -> tuple[int, bool]:
  """(the newest of ``steps`` whose checkpoint decodes, True), with one line in
  ``problems`` per newer one passed over; else (the newest, False): its models are
  then named unreadable when they are restored."""
  step, failed = checkpoint_lib.newest_readable(directory, steps)
  if step is None:
    return steps[-1], False
  problems.extend(
    f"phase {phase}: {e}; using the next older checkpoint" for _, e in failed
  )
  return step, True


def any_checkpoint(workdir: str) -> bool:
  """Whether some phase of ``workdir`` has a checkpoint directory (nothing read)."""
  paths = workdir_lib.Paths(workdir)
  return any(_steps(paths.checkpoints(n)) for n in PHASES)


def find_phases(workdir: str) -> tuple[list[Phase], list[str]]:
  """The phases of a run that have a checkpoint, and one line per problem.

  Args:
    workdir: the trainer's run directory.

  Returns:
    (phases in order, problems): each phase's newest checkpoint that decodes
    (a newer one that does not is named in ``problems``); a phase without
    checkpoint or with an unreadable ``grid.json`` is left out and named; a missing
    ``grid.json`` is read from the checkpoint's own metadata (the same JSON) and
    named; an unfinished phase is kept (its latest checkpoint) and named too.

  Raises:
    lbvae.errors.Error: a ``grid.json`` whose models (member, β, λ, seed) are not
      those of the checkpoint's own metadata, or a checkpoint whose arrays hold
      another number of models than its metadata names.
  """
  paths = workdir_lib.Paths(workdir)
  phases, problems = [], []
  for n in PHASES:
    directory = paths.checkpoints(n)
    steps = _steps(directory)
    if not steps:
      problems.append(f"phase {n}: no checkpoint in {directory}; skipped")
      continue
    step, readable = _readable_step(directory, steps, n, problems)
    name = f"phase {n} checkpoint {os.path.join(directory, str(step))}"
    grid_file = paths.grid(n)
    if not files.as_path(
      grid_file
    ).exists():  # the same JSON is stored in each checkpoint
      grid_file = checkpoint_lib.meta_path(directory, step)
      problems.append(
        f"phase {n}: {paths.grid(n)} is missing; members read from {grid_file}"
      )
    try:
      grid = files.read_json(grid_file)
      members = [_member(n, m) for m in grid["members"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
      problems.append(
        f"phase {n}: cannot read {grid_file} ({type(e).__name__}: {e}); skipped"
      )
      continue
    # An unreadable checkpoint is not opened here: its restore names it, and its
    # models are skipped.
    shapes = checkpoint_lib.param_shapes(directory, step) if readable else {}
    _check_identity(grid, grid_file, checkpoint_lib.meta_path(directory, step), shapes)
    end = grid.get("end_step")
    if end is not None and step < int(end):
      problems.append(
        f"phase {n} is not finished (checkpoint step {step} of "
        f"{end}); evaluating that checkpoint"
      )
    phases.append(
      Phase(
        number=n,
        name=name,
        step=step,
        members=members,
        restore=lambda d=directory, s=step: train.load_params(d, s)[0],
        train_means={
          keys.ModelKey(n, *cell): means
          for cell, means in _train_means(paths.final_metrics(n)).items()
        },
        objective=str(grid.get("objective", "beta_vae")),
        fingerprint=checkpoint_lib.fingerprint(directory, step),
        param_shapes=shapes,
      )
    )
  return phases, problems

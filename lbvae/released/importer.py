"""The authors' released PyTorch models -> an lbvae workdir that the evaluation reads.

``import_released(source, workdir)`` reads one dataset's state dicts in the authors'
layout (:mod:`lbvae.released.layout`) with the allow-listed reader
(:mod:`lbvae.released.torch_pth`; no PyTorch), converts them
(:mod:`lbvae.released.convert`) and writes the workdir a sweep would have written
(:mod:`lbvae.train.workdir`): config.json, phaseN/{checkpoints,grid.json,
final_metrics.csv}, published_metrics.csv, published_mi.npz, released.json, run.log.
Checkpoints carry the paper's steps, 150 000 (phase 1) and 200 000 (phase 2). The
import is written beside ``workdir`` and renamed into place, so a failed one leaves
nothing; a non-empty workdir is refused unless it holds this same import (a no-op).
What each file holds: docs/released_models.md, "What the import writes".

Synopsis::

  result = importer.import_released("downloads", "runs/authors_dsprites")
  # then: python -m experiments.evaluate --workdir=runs/authors_dsprites
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
from typing import Callable

import numpy as np

from lbvae import errors
from lbvae import files
from lbvae import untrusted
from lbvae.data import originals
from lbvae.evaluation import released_scores
from lbvae.released import convert
from lbvae.released import layout
from lbvae.released import torch_pth
from lbvae.train import checkpoint
from lbvae.train import config as config_lib
from lbvae.train import members as members_lib
from lbvae.train import progress
from lbvae.train import state as state_lib
from lbvae.train import workdir as workdir_lib

PROVENANCE = "released.json"
NESTED_KEYS = ("state_dict", "model_state_dict", "model", "vae")


@dataclasses.dataclass
class ImportResult:
  """What an import did: paths absolute, ``imported`` False for a no-op."""

  workdir: str
  dataset: str
  num_models: dict[int, int]
  notes: list[str]
  imported: bool


def _sha256(path: str) -> str:
  h = hashlib.sha256()
  with untrusted.open_regular(path) as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()


def state_dict(obj, path: str) -> dict:
  """The model's state dict in what a ``.pth`` held: the dict itself, or one nested
  under :data:`NESTED_KEYS` (a training checkpoint); a ``module.`` prefix
  (``DataParallel``) is dropped."""
  candidates = [obj] + [obj.get(k) for k in NESTED_KEYS if isinstance(obj, dict)]
  for sd in candidates:
    if isinstance(sd, dict) and sd and all(isinstance(k, str) for k in sd):
      if all(k.startswith("module.") for k in sd):
        sd = {k[len("module.") :]: v for k, v in sd.items()}
      if "encoder.fc_mu.weight" in sd:
        return sd
  raise errors.DataError(
    f"{path}: holds no state dict of the authors' conv VAE (no encoder.fc_mu.weight)"
  )


def _load_params(model: layout.ReleasedModel):
  sd = state_dict(torch_pth.load(model.path), model.path)
  return convert.flax_params(sd, model.path), convert.dims(sd, model.path)


def build_config(dataset: str, models: list, latent_dim: int, source: str, folder: str):
  """The sweep config of an imported grid (docs/released_models.md, "What the import writes")."""
  c = config_lib.defaults()
  c.dataset.name = dataset
  c.dataset.source = "procedural" if dataset == "dsprites" else "file"
  c.betas = tuple(sorted({m.beta for m in models}))
  lams = sorted({m.lam for m in models if m.phase == 2})
  c.lambdas = tuple(lams) if lams else (0.0,)
  c.num_seeds = max(m.seed for m in models) + 1
  c.latent_dim = int(latent_dim)
  c.released = {"source": os.path.abspath(source), "dataset_folder": folder}
  config_lib.validate(c)
  return c


def _grid(models: list, phase: int) -> list[members_lib.Member]:
  """Members of a phase in the trainer's order; phase 2 points at its parent."""
  rows1 = {(m.beta, m.seed): i for i, m in enumerate(m for m in models if m.phase == 1)}
  mine = [m for m in models if m.phase == phase]
  return [
    members_lib.Member(
      i, m.beta, m.lam, m.seed, rows1.get((m.beta, m.seed)) if phase == 2 else None
    )
    for i, m in enumerate(mine)
  ]


def _final_rows(grid, metrics, step: int) -> list[dict]:
  rows = []
  for g, met in zip(grid, metrics):
    rows.append(
      {
        **g.as_dict(),
        "nll": met["nll"],
        "kl": met["kl"],
        "l2": math.nan,
        "loss": met["loss"],
        "finite": True,
        "frozen_step": -1,
        "step": step,
      }
    )
  return rows


def _provenance(source, folder, dataset, models, metrics, notes, dims) -> dict:
  rel = lambda p: None if p is None else os.path.relpath(p, source)
  return {
    "source": os.path.abspath(source),
    "dataset_folder": folder,
    "dataset": dataset,
    "latent_dim": dims[0],
    "num_channels": dims[1],
    "files": [
      {
        **m.key().as_row(),
        "file": rel(m.path),
        "sha256": _sha256(m.path),
        "metrics": rel(m.metrics_path),
        "metrics_sha256": (_sha256(m.metrics_path) if m.metrics_path else None),
        "unused_metric_keys": met["unused"],
      }
      for m, met in zip(models, metrics)
    ],
    "notes": notes,
  }


def _is_new(workdir: str) -> bool:
  """True for an absent or empty ``workdir``; raises if it holds something else
  than an import."""
  if not os.path.exists(workdir) or (
    os.path.isdir(workdir) and not os.listdir(workdir)
  ):
    return True
  errors.require(
    os.path.isdir(workdir) and os.path.exists(os.path.join(workdir, PROVENANCE)),
    f"--workdir {workdir} already exists and is not an import of "
    "released models; choose a new directory",
    errors.ConfigError,
  )
  return False


def _check_target(workdir: str, config, provenance: dict) -> bool:
  """True when ``workdir`` already holds this import; raises if it holds another."""
  if _is_new(workdir):
    return False
  workdir_lib.check_config(workdir_lib.Paths(workdir), config)
  with open(os.path.join(workdir, PROVENANCE)) as f:
    stored = json.load(f)
  errors.require(
    stored.get("files") == provenance["files"],
    f"--workdir {workdir} holds an import of other files (or of other "
    "contents); choose a new directory",
    errors.ConfigError,
  )
  return True


def _write(tmp: str, config, models, metrics, params, provenance, step_of) -> None:
  paths = workdir_lib.Paths(tmp)
  workdir_lib.store_config(paths, config)
  tx = state_lib.make_optimizer(config)
  keys = state_lib.seed_keys(config.seed, config.num_seeds)
  for phase in (1, 2):
    rows = [i for i, m in enumerate(models) if m.phase == phase]
    if not rows:
      continue
    grid = _grid(models, phase)
    step = step_of[phase]
    state = state_lib.grid_state(
      _stack([params[i] for i in rows]), tx, grid, keys, step=step, window=config.window
    )
    start = 0 if phase == 1 else step_of[1]
    meta = {
      "phase": phase,
      "step": step,
      "start_step": start,
      "end_step": step,
      "members": [{**g.as_dict(), "finite": True, "frozen_step": None} for g in grid],
    }
    os.makedirs(paths.phase(phase))
    ckpts = checkpoint.PhaseCheckpoints(paths.checkpoints(phase), keep=1)
    ckpts.save(step, state, meta)
    ckpts.close()
    files.write_json(paths.grid(phase), meta)
    files.write_csv(
      paths.final_metrics(phase),
      workdir_lib.FINAL_COLUMNS,
      _final_rows(grid, [metrics[i] for i in rows], step),
    )
  released_scores.write(
    tmp,
    [
      {
        **m.key().as_row(),
        **{k: met[k] for k in released_scores.METRICS},
        "file": os.path.relpath(m.path, provenance["source"]),
      }
      for m, met in zip(models, metrics)
    ],
    {
      m.key().id: met["mi_matrix"]
      for m, met in zip(models, metrics)
      if met["mi_matrix"] is not None
    },
  )
  files.write_json(os.path.join(tmp, PROVENANCE), provenance)
  counts = {p: sum(m.phase == p for m in models) for p in (1, 2)}
  progress.RunLog(paths.run_log, echo=False).info(
    f"imported {len(models)} released PyTorch models of "
    f"{provenance['dataset_folder']} from {provenance['source']} (phase 1: "
    f"{counts[1]}, phase 2: {counts[2]})"
  )


def _stack(trees: list):
  if isinstance(trees[0], dict):
    return {k: _stack([t[k] for t in trees]) for k in trees[0]}
  return np.stack(trees)


def _staging(root: str, pid: int) -> str:
  """The directory an import into ``root`` is built in, beside it."""
  return os.path.join(
    os.path.dirname(root), f".{os.path.basename(root)}.importing-{pid}"
  )


def _remove_stale_imports(root: str, log) -> None:
  """Removes the staging directories of imports into ``root`` whose process no longer
  runs (one killed part way), naming each."""
  parent, prefix = os.path.dirname(root), f".{os.path.basename(root)}.importing-"
  try:
    names = os.listdir(parent)
  except OSError:
    return
  for name in names:
    pid = name[len(prefix) :]
    if name.startswith(prefix) and pid.isdigit() and not files.pid_alive(int(pid)):
      shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
      log(f"removed {os.path.join(parent, name)}, left by an import that was stopped")


def import_released(
  source: str,
  workdir: str,
  *,
  dataset: str | None = None,
  log: Callable[[str], None] = print,
) -> ImportResult:
  """Imports one dataset's released models into a new workdir.

  Args:
    source: the directory with the authors' ``betavae_results/`` (and
      ``lambda_betavae_results/``).
    workdir: the run directory to create (absent or empty; or this same import).
    dataset: the authors' dataset folder (``dsprites``, ``shapes3d``,
      ``mpi3d_real``); needed when ``source`` holds several.
    log: where one-line messages go.

  Returns:
    :class:`ImportResult`.

  Raises:
    lbvae.errors.Error: see :func:`layout.scan`; an unreadable or refused ``.pth``
      or metrics file, a state dict of another architecture, models of different
      latent sizes, a channel count that is not the dataset's, or a workdir that
      holds something else, or a URL workdir. Nothing is written then.
  """
  errors.require(
    files.is_local(workdir),
    f"--workdir {workdir}: an import is built beside the workdir and "
    "renamed into place, which needs a local (or mounted) directory; "
    "import into one, then copy it",
    errors.ConfigError,
  )
  workdir, source = files.absolute(workdir), os.path.expanduser(source)
  folder, models, notes = layout.scan(source, dataset)
  _is_new(workdir)  # a foreign workdir is refused before the slow part
  name = layout.DATASET_FOLDERS[folder]
  log(f"{len(models)} released models of {folder} in {source}")
  params, dims = [], set()
  for m in models:
    p, d = _load_params(m)
    params.append(p)
    dims.add(d)
  errors.require(
    len(dims) == 1,
    f"{source}: the models differ in (latent size, channels): {sorted(dims)}",
    errors.DataError,
  )
  latent_dim, channels = dims.pop()
  want = originals.LAYOUTS[name].num_channels
  errors.require(
    channels == want,
    f"{source}: the {folder} models take {channels}-channel images; {name} has {want}",
    errors.DataError,
  )
  metrics = [layout.read_metrics(m.metrics_path) for m in models]
  config = build_config(name, models, latent_dim, source, folder)
  provenance = _provenance(
    source, folder, name, models, metrics, notes, (latent_dim, channels)
  )
  counts = {p: sum(m.phase == p for m in models) for p in (1, 2)}
  if _check_target(workdir, config, provenance):
    log(f"{workdir} already holds this import; nothing to do")
    return ImportResult(os.path.abspath(workdir), name, counts, notes, False)
  root = files.absolute(workdir)
  _remove_stale_imports(root, log)
  tmp = _staging(root, os.getpid())
  shutil.rmtree(tmp, ignore_errors=True)
  try:
    _write(
      tmp,
      config,
      models,
      metrics,
      params,
      provenance,
      {1: int(config.phase1_steps), 2: int(config.phase1_steps + config.phase2_steps)},
    )
    if os.path.isdir(root):
      os.rmdir(root)  # empty, checked above
    os.rename(tmp, root)
  except Exception as e:  # pylint: disable=broad-except  (orbax raises ValueError)
    # One line whichever write met the disk's end: orbax's (an OSError, or its errno
    # in TensorStore's text) or one of lbvae.files' (a DiskError naming its file).
    cause = files.os_error_of(e)
    if cause is None or (
      isinstance(e, errors.Error) and not isinstance(e, errors.DiskError)
    ):
      raise
    raise files.disk_error(
      cause, f"the import into {root}", os.path.dirname(root)
    ) from None
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  for n in notes:
    log(n)
  return ImportResult(root, name, counts, notes, True)

"""The pass's outputs from its per-model results (arXiv 2602.09277, §4 reports).

* :func:`model_rows` — the rows of ``metrics.csv`` from the cache entries, with the
  trainer's training-window means and one line per problem member;
* :func:`phase_figures` — box plots over β (phase 1), heat maps over (β, λ)
  (phase 2) and the first seed's MI matrices side by side, per phase;
* :func:`write_curves` — the models' TensorBoard runs (scores and images).

File names come from :mod:`lbvae.evaluation.store`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping

import numpy as np

from lbvae import files
from lbvae import metrics
from lbvae.evaluation import figures
from lbvae.evaluation import keys
from lbvae.evaluation import model_figures
from lbvae.evaluation import report
from lbvae.evaluation import selection_views
from lbvae.evaluation import store
from lbvae.evaluation import tables
from lbvae.train import event_files


@dataclasses.dataclass
class ModelRows:
  """The models of ``metrics.csv``, from their cache entries.

  Attributes:
    rows: the rows, sorted by phase, β, λ, seed.
    figures: (key, {figure kind: path relative to the run}) of the scored models.
    mi: key -> float64[L, F] MI matrix of the scored models.
    seconds: the seconds each scored model's evaluation took (None: unknown).
    problems: one line per diverged member (a member the trainer froze, one with
      non-finite parameters or held-out NLL: its scores are NaN, ``diverged`` 1).
  """

  rows: list[dict]
  figures: list[tuple[keys.ModelKey, dict[str, str]]]
  mi: dict[keys.ModelKey, np.ndarray]
  seconds: list[float | None]
  problems: list[str]


def model_rows(models, paths, settings, *, shared_rows: int = 0) -> ModelRows:
  """The rows of ``metrics.csv`` for every model with a valid cache entry.

  Args:
    models: (:class:`checkpoints.Phase`, :class:`keys.PhaseMember`) pairs.
    paths: the run's :class:`store.EvalPaths`.
    settings: the evaluation settings entries must match.
    shared_rows: the shared images (UDR) whose codes entries must hold.
  """
  out = ModelRows([], [], {}, [], [])
  for ph, m in sorted(models, key=lambda e: e[1].key):
    hit = store.load_entry(
      paths,
      m,
      step=ph.step,
      settings=settings,
      checkpoint=ph.fingerprint,
      shared_rows=shared_rows,
    )
    if hit is None:
      continue
    row = dict(
      m.key.as_row(), step=ph.step, finite=int(m.finite), objective=ph.objective
    )
    row.update(dict.fromkeys(tables.TRAIN_COLUMNS, float("nan")))
    row.update(ph.train_means.get(m.key, {}))
    why = _divergence({"finite": m.finite, "frozen_step": m.frozen_step}, hit.scores)
    row[tables.DIVERGED] = int(why is not None)
    if why is not None:
      out.problems.append(
        f"{m.key.name()}: diverged ({why}); NaN scores, left out of the summary means"
      )
      row.update(
        dict.fromkeys(tables.diverged_columns() + tuple(hit.scores or ()), float("nan"))
      )
    else:
      row.update(hit.scores)
      out.mi[m.key] = np.asarray(hit.mi, np.float64)
      out.seconds.append(hit.seconds)
      out.figures.append(
        (
          m.key,
          {k: paths.relative(paths.figure(m, k)) for k in model_figures.kinds(hit.mi)},
        )
      )
    out.rows.append(row)
  return out


def _divergence(health: Mapping, scores: dict | None) -> str | None:
  """Why a member counts as diverged, or None when it does not.

  Args:
    health: the member's ``finite`` and ``frozen_step``, as ``grid.json`` has them.
    scores: its cache entry's scores (None: its parameters are not finite).
  """
  if not health["finite"]:
    return (
      f"frozen by the trainer after a non-finite loss at step "
      f"{health.get('frozen_step')}"
    )
  if scores is None:
    return "non-finite parameters"
  if not np.isfinite(scores.get("heldout_nll", np.nan)):
    return "non-finite held-out NLL"
  return None


def _mi_overviews(rows, mi, paths, factor_names) -> dict[int, str]:
  """Per phase, the MI matrices of the first seed's models on one scale."""
  out = {}
  if not factor_names:  # no factors, no MI matrices
    return out
  for phase in sorted({int(r["phase"]) for r in rows}):
    mine = [r for r in rows if int(r["phase"]) == phase]
    seed = min(int(r["seed"]) for r in mine)
    betas = sorted({float(r["beta"]) for r in mine})
    lams = sorted({float(r["lambda"]) for r in mine})
    get = lambda b, lam, p=phase, s=seed: mi.get(keys.ModelKey(p, b, lam, s))
    if phase == 1:  # one row, β across
      grid = [[get(b, 0.0) for b in betas]]
      row_labels = [report.objectives_title(mine)]
      col_labels = [f"β={b:g}" for b in betas]
    else:  # β down, λ across
      grid = [[get(b, lam) for lam in lams] for b in betas]
      row_labels = [f"β={b:g}" for b in betas]
      col_labels = [f"λ={lam:g}" for lam in lams]
    out[phase] = paths.mi_overview(phase, seed)
    figures.mi_grid(
      grid,
      row_labels,
      col_labels,
      factor_names,
      out[phase],
      f"phase {phase}, seed {seed}: MI (nats), latents × factors",
    )
  return out


def phase_figures(rows, summary_by_phase, mi, paths, factor_names) -> dict:
  """Writes the per-phase figures; returns phase -> their paths (relative)."""
  title = report.objectives_title(rows)
  # A column without a finite value anywhere (MIG on data without factors) is left out.
  plotted = [
    p
    for p in selection_views.plotted()
    if any(np.isfinite(float(r.get(p[0], np.nan))) for r in rows)
  ]
  plotted = plotted or list(selection_views.plotted()[:1])
  if 1 in summary_by_phase:
    figures.box_over_beta(
      [r for r in rows if int(r["phase"]) == 1],
      plotted,
      paths.overview(1),
      f"phase 1 ({title}): one point per seed",
    )
  if 2 in summary_by_phase:
    lam = "λβ-VAE" if title == "β-VAE" else f"{title} + λ·L2"
    figures.cell_heatmaps(
      summary_by_phase[2],
      plotted,
      paths.overview(2),
      f"phase 2 ({lam}): mean over seeds",
    )
  mi_figs = _mi_overviews(rows, mi, paths, factor_names)
  return {
    p: [paths.relative(paths.overview(p))]
    + ([paths.relative(mi_figs[p])] if p in mi_figs else [])
    for p in summary_by_phase
  }


def write_curves(paths: store.EvalPaths, rows, model_figures) -> None:
  """The pass's TensorBoard runs (``DIR/tensorboard/eval``, :mod:`lbvae.train.event_files`),
  written afresh: each model's registered scores and its reconstructions and
  traversals, at its checkpoint step.

  Args:
    paths: the run's :class:`store.EvalPaths`.
    rows: the ``metrics.csv`` rows.
    model_figures: (key, {figure kind: path relative to the run}) of the scored
      models (:attr:`ModelRows.figures`).
  """
  figs = dict(model_figures)
  for row in rows:
    key = keys.ModelKey.from_row(row)
    log = event_files.EventLog(event_files.run_dir(paths.root, "eval", key.id))
    event_files.trim(log.directory, None)
    log.write_scalars(row["step"], {n: row[n] for n in metrics.names() if n in row})
    images = {
      kind: files.read_bytes(os.path.join(paths.root, figs[key][kind]))
      for kind in ("recon", "traversal")
      if kind in figs.get(key, {})
    }
    if images:
      log.write_images(row["step"], images)

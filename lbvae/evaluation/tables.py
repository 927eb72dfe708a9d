"""The pass's tables: one row per model, and mean ± std over seeds per grid cell.

``metrics.csv``, one row per model::

  phase,beta,lambda,seed,step,finite,objective,diverged,nll,kl,l2,heldout_nll,heldout_kl,
  active_latents,mig,sap,im,mig_posterior,im_posterior,...,udr,udr_spearman[,the
  objective's parts]

``lambda`` is 0 in phase 1; ``beta`` holds the objective's strength; ``finite`` 0 marks
a member the trainer froze after a NaN/Inf, ``diverged`` 1 also one with non-finite
parameters or held-out NLL (scores ``nan``); ``nll, kl, l2`` and the objective's parts
are the trainer's training-window means; ``heldout_*`` are test-sample means
(:mod:`lbvae.evaluation.encode`), ``active_latents`` the latents whose mean KL on them
exceeds 0.01 nats; ``udr*`` the model's UDR among its cell's seeds
(:mod:`lbvae.evaluation.udr_cells`); ``*_posterior`` use the posterior-aware MI
(:mod:`lbvae.metrics.posterior_mi`; absent when ``eval.posterior_samples`` is 0).

``summary.csv``: ``phase,beta,lambda,num_seeds,objective,num_diverged``, then
``<col>_mean,<col>_std`` per value column; std over seeds with ``ddof=0``, empty below
two values; diverged models and non-finite values are left out of both. Cells are
(objective, phase, β, λ). Writes are atomic (:mod:`lbvae.files`).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from lbvae import files
from lbvae import metrics
from lbvae import objectives

KEY_COLUMNS = ("phase", "beta", "lambda", "seed")
OBJECTIVE = "objective"  # a text column; rows without it are β-VAE runs
DEFAULT_OBJECTIVE = "beta_vae"
DIVERGED = "diverged"  # 1: frozen, non-finite parameters or held-out NLL
INFO_COLUMNS = ("step", "finite", OBJECTIVE, DIVERGED)
TRAIN_COLUMNS = objectives.REPORTED  # training-window means (final_metrics.csv)
CELL_COLUMNS = ("phase", "beta", "lambda")
NUM_DIVERGED = "num_diverged"  # summary.csv: the cell's models left out


def leading_columns() -> tuple[str, ...]:
  """The columns that open the value columns: the training means, then the
  registry's leading scores (``lbvae.metrics.entries``)."""
  return TRAIN_COLUMNS + tuple(e.name for e in metrics.entries() if e.leading)


def diverged_columns() -> tuple[str, ...]:
  """What a diverged model's row holds as NaN (besides any other score of its cache
  entry): the registry's ``nan_if_diverged`` scores."""
  return tuple(e.name for e in metrics.entries() if e.nan_if_diverged)


def value_columns(rows: Sequence[dict]) -> list[str]:
  """The numeric columns of model rows: :func:`leading_columns`, then the others in
  the order the rows hold them."""
  seen = []
  for row in rows:
    for k in row:
      if k not in KEY_COLUMNS + INFO_COLUMNS and k not in seen:
        seen.append(k)
  head = [c for c in leading_columns() if c in seen]
  return head + [c for c in seen if c not in head]


def model_columns(rows: Sequence[dict]) -> list[str]:
  """All columns of ``metrics.csv`` for these rows."""
  return list(KEY_COLUMNS + INFO_COLUMNS) + value_columns(rows)


def objective_of(row: dict) -> str:
  """A row's objective (``beta_vae`` when it has none)."""
  return str(row.get(OBJECTIVE) or DEFAULT_OBJECTIVE)


def sort_key(row: dict) -> tuple:
  return tuple(float(row[k]) for k in KEY_COLUMNS)


def write_csv(path: str, columns: Sequence[str], rows: Sequence[dict]) -> None:
  """:func:`lbvae.files.write_csv` at the tables' precision (8 significant digits)."""
  files.write_csv(path, columns, rows, digits=8)


def _parse(v: str):
  try:
    f = float(v)
  except ValueError:
    return v
  return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f


def read_csv(path: str) -> list[dict]:
  """Reads a CSV into dicts with numbers parsed (ints stay ints)."""
  return [{k: _parse(v) for k, v in row.items()} for row in files.read_csv(path)[1]]


def summarize(rows: Iterable[dict]) -> list[dict]:
  """Mean and std over seeds per (objective, phase, β, λ).

  Args:
    rows: model rows (``KEY_COLUMNS``, optionally ``objective``, plus numeric value
      columns).

  Returns:
    One dict per cell, sorted by objective, then phase, β, λ: ``phase, beta,
    lambda, num_seeds, objective, num_diverged`` and ``<col>_mean``, ``<col>_std``
    for every value column (finite values of the models that did not diverge;
    ``nan`` when a cell has none); ``<col>_std`` is absent (an empty CSV cell) when
    fewer than two values remain. Read cells with :func:`cell_value`.
  """
  rows = list(rows)
  cols = value_columns(rows)
  cells: dict[tuple, list[dict]] = {}
  for row in rows:
    key = (objective_of(row),) + tuple(row[k] for k in CELL_COLUMNS)
    cells.setdefault(key, []).append(row)
  out = []
  for key in sorted(cells, key=lambda k: (k[0],) + tuple(float(x) for x in k[1:])):
    members = cells[key]
    cell = dict(zip(CELL_COLUMNS, key[1:]))
    cell["num_seeds"] = len(members)
    cell[OBJECTIVE] = key[0]
    kept = [r for r in members if not int(r.get(DIVERGED) or 0)]
    cell[NUM_DIVERGED] = len(members) - len(kept)
    for c in cols:
      v = np.asarray([float(r.get(c, math.nan)) for r in kept], np.float64)
      v = v[np.isfinite(v)]
      cell[f"{c}_mean"] = float(v.mean()) if v.size else math.nan
      if v.size >= 2:
        cell[f"{c}_std"] = float(v.std())
    out.append(cell)
  return out


def cell_value(row: dict, column: str) -> float:
  """A summary cell as a float: NaN where it is absent or empty (the std of fewer
  than two values, in memory or read back from ``summary.csv``)."""
  v = row.get(column, "")
  return math.nan if v == "" or v is None else float(v)


def summary_columns(rows: Sequence[dict]) -> list[str]:
  """Columns of ``summary.csv`` for these model rows."""
  cols = list(CELL_COLUMNS) + ["num_seeds", OBJECTIVE, NUM_DIVERGED]
  for c in value_columns(rows):
    cols += [f"{c}_mean", f"{c}_std"]
  return cols

"""UDR in the evaluation pass: each model's agreement with the other seeds of its cell.

UDR (Duan et al., ICLR 2020; :func:`lbvae.metrics.udr`) compares the models of one
hyper-parameter setting -- here the seeds of one (objective, phase, β, λ) cell -- on the
same images: every model of the pass encodes the shared sample of
:func:`lbvae.evaluation.samples.draw_shared` (``config.eval.udr_samples`` images; cached
per model by :mod:`lbvae.evaluation.store`). :func:`add_udr` writes each model's
``udr`` (the Lasso variant) and ``udr_spearman`` into its ``metrics.csv`` row, so
that ``summary.csv`` carries their means over seeds. A cell needs at least two seeds
that did not diverge; anywhere else the value is NaN, and the returned lines say why.
It needs no factors: on unlabelled data it is the criterion left for choosing (β, λ).

Synopsis::

  notes = udr_cells.add_udr(rows, paths, enabled=True)   # rows gain "udr", ...
"""

from __future__ import annotations

import math

import jax
import numpy as np

from lbvae import metrics
from lbvae.metrics import disentanglement_ranking
from lbvae.evaluation import keys
from lbvae.evaluation import store
from lbvae.evaluation import tables

# column -> the correlation its UDR uses
COLUMNS = {c: correlation for c, _, correlation in disentanglement_ranking.COLUMNS}
MIN_SEEDS = 2
_udr = jax.jit(metrics.udr, static_argnames="correlation")


def add_udr(rows: list[dict], paths: store.EvalPaths, *, enabled: bool) -> list[str]:
  """Sets ``udr`` and ``udr_spearman`` of every model row (NaN where undefined).

  Args:
    rows: the ``metrics.csv`` rows (``KEY_COLUMNS``, ``objective``, ``diverged``).
    paths: the run's :class:`store.EvalPaths` (the models' shared codes).
    enabled: whether the pass encoded shared images (``config.eval.udr_samples``).

  Returns:
    One line per reason a value is NaN (for the report); empty when every model
    has both.
  """
  for r in rows:
    r.update(dict.fromkeys(COLUMNS, math.nan))
  if not enabled:
    return ["UDR is off (config.eval.udr_samples = 0): the udr columns are NaN."]
  cells: dict[tuple, list[tuple[dict, tuple]]] = {}
  for r in rows:
    shared = (
      None
      if int(r.get(tables.DIVERGED) or 0)
      else store.load_shared(paths, keys.key_of(r))
    )
    if shared is not None:
      cell = (tables.objective_of(r),) + tuple(r[k] for k in tables.CELL_COLUMNS)
      cells.setdefault(cell, []).append((r, shared))
  lonely = 0
  for members in cells.values():
    if len(members) < MIN_SEEDS:
      lonely += 1
      continue
    codes = np.stack([c for _, (c, _) in members])
    kl = np.stack([k for _, (_, k) in members])
    for column, correlation in COLUMNS.items():
      scores = np.asarray(_udr(codes, kl, correlation=correlation)["model_scores"])
      for (r, _), v in zip(members, scores):
        r[column] = float(v)
  if lonely:
    return [
      f"UDR compares the seeds of a (β, λ) cell and needs at least {MIN_SEEDS} "
      f"that did not diverge: {lonely} cell(s) have fewer, so their udr and "
      "udr_spearman are NaN."
    ]
  return []

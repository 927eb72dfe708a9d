"""Choosing (β, λ): the maths of the result views (arXiv 2602.09277, §4; docs/method.md §5).

Pure functions over per-cell values (one number per phase-2 (β, λ) cell, the mean over
seeds); the drawing is :mod:`lbvae.evaluation.selection_views`.
:func:`percent_change` (``100 (v - b) / |b|`` against β = 1, λ = 0),
:func:`pareto_front` (cells no other beats in both NLL, lower, and MIG, higher),
:func:`normalise`, :func:`tchebycheff` and :func:`best_cell` (augmented Tchebycheff
scalarisation of range-normalised NLL and MIG, minimised for a reconstruction weight
``w``). Cells with a non-finite NLL or MIG are never on the front, score NaN and are
never chosen. Without labels: :func:`highest` (the cell a score such as UDR prefers)
and :func:`rank_agreement` (Spearman's ρ between two scores' rankings of the cells).

Synopsis::

  front = selection.pareto_front(nll, mig)            # bool[N]
  f = selection.normalise(nll, mig)                   # float[N, 2] in [0, 1]
  k = selection.best_cell(selection.tchebycheff(f.values, 0.5))
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.stats

from lbvae.evaluation import tables

RHO = 0.001  # weight of the augmentation (the sum term) of the Tchebycheff score


@dataclasses.dataclass(frozen=True)
class Cells:
  """The (β, λ) cells of one phase, in ``summary.csv`` order (β, then λ).

  Attributes:
    beta, lam: float64[N] each cell's β and λ.
    num_seeds: int64[N].
    mean, std: column -> float64[N] mean and std over seeds (NaN where absent).
  """

  beta: np.ndarray
  lam: np.ndarray
  num_seeds: np.ndarray
  mean: dict
  std: dict

  def __len__(self) -> int:
    return int(self.beta.size)

  def index(self, beta: float, lam: float) -> int | None:
    """The index of cell (β, λ), or None when the grid lacks it."""
    hit = np.flatnonzero((self.beta == beta) & (self.lam == lam))
    return int(hit[0]) if hit.size else None

  def axes(self) -> tuple[list[float], list[float]]:
    """The sorted distinct β (rows of a map) and λ (its columns)."""
    return sorted(set(self.beta.tolist())), sorted(set(self.lam.tolist()))

  def grid(self, values: np.ndarray) -> np.ndarray:
    """float64[N] per-cell values -> float64[B, Λ] map (NaN where no cell)."""
    betas, lams = self.axes()
    out = np.full((len(betas), len(lams)), np.nan)
    for b, lam, v in zip(self.beta, self.lam, np.asarray(values, np.float64)):
      out[betas.index(b), lams.index(lam)] = v
    return out

  def position(self, k: int) -> tuple[int, int]:
    """(row, column) of cell ``k`` in :meth:`grid`."""
    betas, lams = self.axes()
    return betas.index(self.beta[k]), lams.index(self.lam[k])

  def name(self, k: int) -> str:
    return f"β={self.beta[k]:g}, λ={self.lam[k]:g}"


def cells_from_summary(summary, columns) -> Cells:
  """:class:`Cells` from the rows of ``summary.csv`` of one phase.

  Args:
    summary: dicts with ``beta, lambda, num_seeds`` and ``<col>_mean/_std``.
    columns: the value columns to keep (absent ones are all NaN).
  """

  def col(name):
    return np.asarray([tables.cell_value(r, name) for r in summary], np.float64)

  return Cells(
    beta=col("beta"),
    lam=col("lambda"),
    num_seeds=np.asarray([int(r["num_seeds"]) for r in summary]),
    mean={c: col(f"{c}_mean") for c in columns},
    std={c: col(f"{c}_std") for c in columns},
  )


def percent_change(values: np.ndarray, baseline: float) -> np.ndarray:
  """Percent change of ``values`` against ``baseline``: ``100 (v - b) / |b|``.

  Dividing by ``|b|`` keeps the sign meaningful for a negative baseline: a
  positive change always means "larger than the baseline".

  Args:
    values: float[...] cell values.
    baseline: the baseline cell's value.

  Returns:
    float64[...] the same shape; all NaN when ``baseline`` is 0 or not finite
    (the change is undefined), NaN where ``values`` is NaN.
  """
  values = np.asarray(values, np.float64)
  b = float(baseline)
  if not math.isfinite(b) or b == 0.0:
    return np.full(values.shape, np.nan)
  return 100.0 * (values - b) / abs(b)


def pareto_front(nll: np.ndarray, mig: np.ndarray) -> np.ndarray:
  """The Pareto-optimal cells for (minimise NLL, maximise MIG).

  Cell i is dominated when some cell j has ``nll[j] <= nll[i]`` and
  ``mig[j] >= mig[i]`` with at least one inequality strict. Cells with equal
  (NLL, MIG) do not dominate each other: both are on the front or neither is.

  Args:
    nll: float[N] cell NLLs.
    mig: float[N] cell MIGs.

  Returns:
    bool[N]: True for the non-dominated cells with finite NLL and MIG.
  """
  nll = np.asarray(nll, np.float64)
  mig = np.asarray(mig, np.float64)
  ok = np.isfinite(nll) & np.isfinite(mig)
  a, m = nll[ok], mig[ok]
  # dominates[j, i]: cell j dominates cell i.
  no_worse = (a[:, None] <= a[None, :]) & (m[:, None] >= m[None, :])
  better = (a[:, None] < a[None, :]) | (m[:, None] > m[None, :])
  dominated = (no_worse & better).any(axis=0)
  out = np.zeros(nll.shape, bool)
  out[np.flatnonzero(ok)] = ~dominated
  return out


@dataclasses.dataclass(frozen=True)
class Normalised:
  """Range-normalised objectives; 0 is the best observed value (the utopia point).

  Attributes:
    values: float64[N, 2]: column 0 is ``(nll - min nll) / range``, column 1 is
      ``(max mig - mig) / range`` (MIG flipped, so lower is better for both); NaN
      rows for cells that take no part.
    valid: bool[N]: cells with finite NLL and MIG.
    flat: (NLL, MIG): True where the objective has zero range over the valid
      cells; its column is then 0 for every valid cell (all are at the utopia
      value, so it does not tell cells apart).
  """

  values: np.ndarray
  valid: np.ndarray
  flat: tuple[bool, bool]


def normalise(nll: np.ndarray, mig: np.ndarray) -> Normalised:
  """Range-normalises NLL and (flipped) MIG over the cells where both are finite.

  Args:
    nll: float[N] cell NLLs (lower is better).
    mig: float[N] cell MIGs (higher is better).

  Returns:
    :class:`Normalised`.
  """
  nll = np.asarray(nll, np.float64)
  mig = np.asarray(mig, np.float64)
  valid = np.isfinite(nll) & np.isfinite(mig)
  out = np.full(nll.shape + (2,), np.nan)
  flat = []
  for k, loss in enumerate((nll, -mig)):
    if not valid.any():
      flat.append(False)
      continue
    lo, hi = loss[valid].min(), loss[valid].max()
    flat.append(bool(hi == lo))
    out[valid, k] = 0.0 if hi == lo else (loss[valid] - lo) / (hi - lo)
  return Normalised(values=out, valid=valid, flat=(flat[0], flat[1]))


def tchebycheff(values: np.ndarray, weight: float, *, rho: float = RHO) -> np.ndarray:
  """Augmented Tchebycheff scores of normalised objectives (utopia point 0).

  ``score = max_i w_i f_i + rho * sum_i w_i f_i`` with ``w = (weight, 1 - weight)``
  for (reconstruction, disentanglement); with the utopia point at 0 and
  ``f >= 0``, ``|f_i - z_i| = f_i``.

  Args:
    values: float[N, 2] normalised (NLL, flipped MIG), e.g.
      ``normalise(...).values``.
    weight: the reconstruction weight in [0, 1].
    rho: the augmentation weight.

  Returns:
    float64[N]: lower is better; NaN where a row is NaN.
  """
  if not 0.0 <= weight <= 1.0:
    raise ValueError(f"weight must be in [0, 1], got {weight}")
  f = np.asarray(values, np.float64)
  w = np.asarray([weight, 1.0 - weight])
  wf = w * f
  return wf.max(axis=-1) + rho * wf.sum(axis=-1)


def best_cell(scores: np.ndarray, front: np.ndarray | None = None) -> int | None:
  """Index of the lowest finite score.

  Ties (several cells at exactly the lowest score; e.g. at weight 1, cells of
  equal NLL) go to a cell of ``front``, then to the first in the cell order. A
  cell that dominates another never scores higher than it, so some cell of the
  front is always among the tied ones: with ``front`` given, the chosen cell is
  Pareto-optimal.

  Args:
    scores: float[N].
    front: bool[N] Pareto-optimal cells (:func:`pareto_front`), or None.

  Returns:
    The index, or None when no score is finite.
  """
  scores = np.asarray(scores, np.float64)
  finite = np.isfinite(scores)
  if not finite.any():
    return None
  tied = finite & (scores == scores[finite].min())
  if front is not None and (tied & front).any():
    tied &= front
  return int(np.flatnonzero(tied)[0])


def choices(
  nll: np.ndarray, mig: np.ndarray, weights_percent=range(101), *, rho: float = RHO
) -> tuple[np.ndarray, list[int | None]]:
  """Scores and chosen cells for many reconstruction weights (the slider).

  Args:
    nll: float[N] cell NLLs.
    mig: float[N] cell MIGs.
    weights_percent: reconstruction weights in percent (integers 0..100).
    rho: the augmentation weight.

  Returns:
    (float64[W, N] scores, the chosen cell index per weight; ties go to a
    Pareto-optimal cell, see :func:`best_cell`).
  """
  f = normalise(nll, mig).values
  front = pareto_front(nll, mig)
  scores = np.stack([tchebycheff(f, p / 100.0, rho=rho) for p in weights_percent])
  return scores, [best_cell(s, front) for s in scores]


def choice_runs(
  chosen: list[int | None], weights_percent=range(101)
) -> list[tuple[int, int, int | None]]:
  """Collapses per-weight choices into runs: [(first %, last %, cell index)]."""
  runs: list[list] = []
  for p, k in zip(weights_percent, chosen):
    if runs and runs[-1][2] == k:
      runs[-1][1] = p
    else:
      runs.append([p, p, k])
  return [tuple(r) for r in runs]


def highest(values: np.ndarray) -> int | None:
  """Index of the largest finite value (ties: the first in the cell order), or None
  when none is finite; e.g. the cell a label-free score such as UDR chooses."""
  values = np.asarray(values, np.float64)
  finite = np.isfinite(values)
  if not finite.any():
    return None
  return int(np.flatnonzero(finite & (values == values[finite].max()))[0])


def rank_agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
  """Spearman's rank correlation of two per-cell scores over the cells where both
  are finite (ties share their average rank).

  Args:
    a, b: float[N].

  Returns:
    (ρ in [-1, 1], the number of cells used); ρ is NaN with fewer than 3 cells or
    when either score is constant over them.
  """
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  both = np.isfinite(a) & np.isfinite(b)
  n = int(both.sum())
  if n < 3 or np.ptp(a[both]) == 0 or np.ptp(b[both]) == 0:
    return math.nan, n
  return float(scipy.stats.spearmanr(a[both], b[both])[0]), n

"""Static figures of the reference's result views (arXiv 2602.09277, §4).

* :func:`percent_change_maps` -- % change of each cell against the baseline cell,
  one panel per metric, coloured so that blue is better whatever the metric's
  direction (lower NLL, higher MIG / SAP / I_m), saturating at the largest
  |change| (at least :data:`MIN_SPAN` %);
* :func:`pareto_scatter` -- cell means in the NLL–MIG plane, the Pareto front
  drawn through its cells, each cell labelled without overlap;
* :func:`tchebycheff_maps` -- augmented Tchebycheff scores per (β, λ) at a few
  reconstruction weights, the chosen cell outlined; brighter is better, as in every
  quality map of the report (:func:`lbvae.evaluation.figures.better_cmap`).

Inputs are :class:`lbvae.evaluation.selection.Cells` and per-cell arrays from
:mod:`lbvae.evaluation.selection`; matplotlib's object-oriented API on the Agg
canvas, atomic writes (:mod:`lbvae.evaluation.figures`).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from matplotlib import patches
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lbvae.evaluation import figures
from lbvae.evaluation import selection

# pylint: disable=protected-access

# The % change colours saturate at the largest |change|, but never below 1 %, so
# that changes of a fraction of a percent stay pale.
MIN_SPAN = 1.0


def _percent(v: float) -> str:
  if not math.isfinite(v):
    return "–"
  if v == 0:
    return "0%"
  return (f"{v:+.0f}%" if abs(v) >= 10 else f"{v:+.1f}%" if abs(v) >= 0.1
          else f"{v:+.1g}%")


def _grid_axes(ax, cells: selection.Cells) -> None:
  betas, lams = cells.axes()
  ax.set_xticks(range(len(lams)), [figures.axis_value(v) for v in lams])
  ax.set_yticks(range(len(betas)), [figures.axis_value(v) for v in betas])
  ax.set_xlabel("λ")
  ax.set_ylabel("β")


def _print_values(ax, grid: np.ndarray, text: np.ndarray, shade: np.ndarray) -> None:
  """Writes ``text[i, j]`` in each cell: dark on light colours (``shade`` > 0.6)
  and on empty (NaN) cells, light on dark ones."""
  figures.print_cells(ax, text, ~np.isfinite(grid) | (shade > 0.6))


def _outline(ax, row: int, col: int, colour: str = "red") -> None:
  ax.add_patch(patches.Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False,
                                 edgecolor=colour, linewidth=3))


def _figsize(cells: selection.Cells, cols: int, rows: int = 1
             ) -> tuple[float, float]:
  betas, lams = cells.axes()
  return (cols * (0.9 * len(lams) + 1.9), rows * (0.7 * len(betas) + 1.2) + 0.7)


@figures.styled
def percent_change_maps(cells: selection.Cells, changes: dict[str, np.ndarray],
                        metrics: Sequence[tuple[str, str, bool]], baseline: int,
                        path: str) -> None:
  """% change heat maps over (β, λ), one panel per metric.

  Args:
    cells: the phase's cells.
    changes: column -> float[N] % change of each cell (NaN: undefined).
    metrics: (column, label, higher_is_better) per panel.
    baseline: the index of the baseline cell (outlined).
    path: output PNG.
  """
  cols = 2 if len(metrics) == 4 else len(metrics)
  rows = math.ceil(len(metrics) / cols)
  fig = Figure(figsize=_figsize(cells, cols, rows), layout="constrained")
  for k, (col, label, higher) in enumerate(metrics):
    ax = fig.add_subplot(rows, cols, k + 1)
    grid = cells.grid(changes[col])
    finite = grid[np.isfinite(grid)]
    span = max(float(np.abs(finite).max()) if finite.size else 0.0, MIN_SPAN)
    # Colour by improvement (blue = better), print the signed change.
    good = grid if higher else -grid
    im = ax.imshow(np.ma.masked_invalid(good), cmap="RdBu", vmin=-span,
                   vmax=span, aspect="auto")
    text = np.vectorize(_percent)(grid)
    _print_values(ax, grid, text, 1.0 - np.abs(good) / span)
    _outline(ax, *cells.position(baseline), colour="black")
    _grid_axes(ax, cells)
    arrow = "↑" if higher else "↓"
    ax.set_title(f"{label}: % change\n({arrow} is better)" if finite.size
                 else f"{label}: % change undefined")
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("improvement, % (better: blue)" if higher
                  else "improvement, % (= −change;\nbetter: blue)")
  fig.suptitle(f"phase 2: % change of the cell mean vs the baseline "
               f"{cells.name(baseline)} "
               "(outlined; same budget)\nblue = better, red = worse")
  figures.save(fig, path)


def _label_points(ax, xs, ys, labels) -> None:
  """Labels points to their upper right, moving a label down (then to the left of
  its point) until it overlaps no label placed before it."""
  canvas = FigureCanvasAgg(ax.get_figure())
  canvas.draw()                         # final layout, so that extents are right
  renderer = canvas.get_renderer()
  placed = []
  order = np.argsort(-np.asarray(ys), kind="stable")
  for k in order:
    for dx, ha in ((5, "left"), (-5, "right")):
      for step in range(8):
        note = ax.annotate(labels[k], (xs[k], ys[k]), textcoords="offset points",
                           xytext=(dx, 4 - step * 1.3 * figures.MIN_FONT_PT),
                           ha=ha, fontsize=figures.MIN_FONT_PT)
        box = note.get_window_extent(renderer)
        if not any(box.overlaps(b) for b in placed):
          placed.append(box)
          break
        note.remove()
      else:
        continue
      break
    else:                                # nowhere free: keep the first place
      placed.append(ax.annotate(labels[k], (xs[k], ys[k]), xytext=(5, 4),
                                textcoords="offset points",
                                fontsize=figures.MIN_FONT_PT
                                ).get_window_extent(renderer))


@figures.styled
def pareto_scatter(cells: selection.Cells, nll: str, mig: str,
                   front: np.ndarray, path: str, *, nll_label: str) -> None:
  """Cells in the NLL–MIG plane with the Pareto front drawn.

  Args:
    cells: the phase's cells (``mean``/``std`` hold ``nll`` and ``mig``).
    nll, mig: the two columns.
    front: bool[N] Pareto-optimal cells (:func:`selection.pareto_front`).
    path: output PNG.
    nll_label: x-axis label.
  """
  x, y = cells.mean[nll], cells.mean[mig]
  ok = np.isfinite(x) & np.isfinite(y)
  fig = Figure(figsize=(7.2, 5.2), layout="constrained")
  ax = fig.add_subplot(1, 1, 1)
  lams = sorted(set(cells.lam[ok].tolist()))
  colours = {lam: f"C{i % 10}" for i, lam in enumerate(lams)}
  for lam in lams:
    sel = ok & (cells.lam == lam)
    ax.errorbar(x[sel], y[sel], xerr=np.nan_to_num(cells.std[nll][sel]),
                yerr=np.nan_to_num(cells.std[mig][sel]), fmt="o",
                color=colours[lam], alpha=0.8, capsize=2, label=f"λ={lam:g}")
  order = np.flatnonzero(front)[np.argsort(x[front], kind="stable")]
  if order.size > 1:
    # The front as a staircase: each optimal cell covers the plane to its lower right.
    ax.step(x[order], y[order], where="post", color="black", linewidth=1.2,
            zorder=2, label="Pareto front")
  if order.size:
    ax.scatter(x[order], y[order], s=140, facecolors="none", edgecolors="black",
               linewidths=1.5, zorder=3, label="Pareto-optimal cell")
  ax.set_xlabel(f"{nll_label} (lower is better → left)")
  ax.set_ylabel("MIG (higher is better → up)")
  ax.grid(alpha=0.3)
  ax.margins(0.12)
  ax.legend()
  ax.set_title("phase 2: NLL–MIG trade-off, cell means ± std over seeds;\n"
               "circled: Pareto-optimal")
  idx = np.flatnonzero(ok)
  _label_points(ax, x[idx], y[idx], [f"β={cells.beta[k]:g}" for k in idx])
  figures.save(fig, path)


@figures.styled
def tchebycheff_maps(cells: selection.Cells, scores: dict[int, np.ndarray],
                     chosen: dict[int, int | None], path: str) -> None:
  """Tchebycheff score maps, one panel per reconstruction weight (percent).

  Args:
    cells: the phase's cells.
    scores: weight in percent -> float[N] scores (lower is better).
    chosen: weight in percent -> index of the chosen cell (None: no choice).
    path: output PNG.
  """
  weights = sorted(scores)
  fig = Figure(figsize=_figsize(cells, len(weights)), layout="constrained")
  every = np.concatenate([s[np.isfinite(s)] for s in scores.values()])
  hi = max(float(every.max()), 1e-9) if every.size else 1.0
  for k, p in enumerate(weights):
    ax = fig.add_subplot(1, len(weights), k + 1)
    grid = cells.grid(scores[p])
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=figures.better_cmap(False),
                   vmin=0.0, vmax=hi,
                   aspect="auto")
    text = np.vectorize(figures.short_number)(grid)
    _print_values(ax, grid, text, 1.0 - grid / hi)
    _grid_axes(ax, cells)
    c = chosen[p]
    if c is not None:
      _outline(ax, *cells.position(c))
    best = "no finite score" if c is None else f"best {cells.name(c)}"
    ax.set_title(f"reconstruction weight {p} %\n{best}")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).set_label(
        f"score (lower is better;\n{figures.BETTER})")
  fig.suptitle("phase 2: augmented Tchebycheff score of range-normalised NLL and "
               f"MIG (ρ = {selection.RHO:g});\nchosen cell outlined in red")
  figures.save(fig, path)

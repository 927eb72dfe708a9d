"""The PNG figures of the selection views (phase 2; docs/method.md §5).

:func:`percent_change_maps` (% change of each plotted score against the baseline
cell, one heat map per score), :func:`pareto_scatter` (the cells in the NLL–MIG plane
and their Pareto front, labels placed clear of every marker) and
:func:`tchebycheff_maps` (the augmented Tchebycheff score at a few weights, the chosen
cell outlined). :mod:`lbvae.evaluation.selection_views` calls them; the maths is
:mod:`lbvae.evaluation.selection`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from matplotlib import patches
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from lbvae.evaluation import figures
from lbvae.evaluation import selection

# The % change colours saturate at the largest |change|, but never below 1 %, so
# that changes of a fraction of a percent stay pale.
MIN_SPAN = 1.0


def percent_cmap(higher_is_better: bool) -> str:
  """The % change colour map: blue where the change is an improvement."""
  return "RdBu" if higher_is_better else "RdBu_r"


def _percent(v: float) -> str:
  if not math.isfinite(v):
    return "–"
  if v == 0:
    return "0%"
  return (
    f"{v:+.0f}%" if abs(v) >= 10 else f"{v:+.1f}%" if abs(v) >= 0.1 else f"{v:+.1g}%"
  )


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
  ax.add_patch(
    patches.Rectangle(
      (col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor=colour, linewidth=3
    )
  )


def _figsize(cells: selection.Cells, cols: int, rows: int = 1) -> tuple[float, float]:
  betas, lams = cells.axes()
  return (cols * (0.9 * len(lams) + 1.9), rows * (0.7 * len(betas) + 1.2) + 0.7)


@figures.styled
def percent_change_maps(
  cells: selection.Cells,
  changes: dict[str, np.ndarray],
  metrics: Sequence[tuple[str, str, bool]],
  baseline: int,
  path: str,
) -> None:
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
    # The cells print the signed change and the colour bar reads the same numbers;
    # the colour map runs the metric's way, so that blue is better either way.
    im = ax.imshow(
      np.ma.masked_invalid(grid),
      cmap=percent_cmap(higher),
      vmin=-span,
      vmax=span,
      aspect="auto",
    )
    text = np.vectorize(_percent)(grid)
    _print_values(ax, grid, text, 1.0 - np.abs(grid) / span)
    _outline(ax, *cells.position(baseline), colour="black")
    _grid_axes(ax, cells)
    arrow = "↑" if higher else "↓"
    ax.set_title(
      f"{label}: % change\n({arrow} is better)"
      if finite.size
      else f"{label}: % change undefined"
    )
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label(
      "% change (better: blue, up)" if higher else "% change (better: blue, down)"
    )
  fig.suptitle(
    f"phase 2: % change of the cell mean vs the baseline "
    f"{cells.name(baseline)} "
    "(outlined; same budget)\nblue = better, red = worse"
  )
  figures.save(fig, path)


# Half the side of the square around a point that its label keeps clear of (pixels).
MARKER_PX = 5


def _label_offsets():
  """Where a label may go, in points from its point, nearest first: the upper right,
  then rings of growing radius (16 directions each)."""
  yield 5.0, 4.0
  for radius in range(12, 400, 10):
    for angle in np.linspace(0, 2 * np.pi, 16, endpoint=False):
      yield radius * math.cos(angle), radius * math.sin(angle)


def _label_points(ax, xs, ys, labels) -> None:
  """Labels every point, no two labels overlapping, none on a point and none
  leaving the figure: at
  the point's upper right where that is free, else at the nearest free place around
  it, joined to its point by a thin line."""
  fig = ax.get_figure()
  canvas = FigureCanvasAgg(fig)
  canvas.draw()  # final layout, so that extents are right
  renderer = canvas.get_renderer()
  inside = fig.bbox.padded(-2)
  points = ax.transData.transform(np.column_stack([xs, ys]))
  placed = [
    Bbox.from_extents(px - MARKER_PX, py - MARKER_PX, px + MARKER_PX, py + MARKER_PX)
    for px, py in points
  ]  # the markers
  for k in np.argsort(-np.asarray(ys), kind="stable"):
    for dx, dy in _label_offsets():
      near = (dx, dy) == (5.0, 4.0)
      note = ax.annotate(
        labels[k],
        (xs[k], ys[k]),
        textcoords="offset points",
        xytext=(dx, dy),
        fontsize=figures.MIN_FONT_PT,
        ha="left" if dx >= 0 else "right",
        va="bottom" if dy >= 0 else "top",
        arrowprops=None if near else {"arrowstyle": "-", "lw": 0.5, "color": "0.4"},
      )
      note.update_positions(renderer)
      box = Text.get_window_extent(note, renderer)  # the text, not its line
      free = not any(box.overlaps(b) for b in placed)
      if free and inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1):
        placed.append(box)
        break
      note.remove()


@figures.styled
def pareto_scatter(
  cells: selection.Cells,
  nll: str,
  mig: str,
  front: np.ndarray,
  path: str,
  *,
  nll_label: str,
) -> None:
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
    ax.errorbar(
      x[sel],
      y[sel],
      xerr=np.nan_to_num(cells.std[nll][sel]),
      yerr=np.nan_to_num(cells.std[mig][sel]),
      fmt="o",
      color=colours[lam],
      alpha=0.8,
      capsize=2,
      label=f"λ={lam:g}",
    )
  order = np.flatnonzero(front)[np.argsort(x[front], kind="stable")]
  if order.size > 1:
    # The front as a staircase: each optimal cell covers the plane to its lower right.
    ax.step(
      x[order],
      y[order],
      where="post",
      color="black",
      linewidth=1.2,
      zorder=2,
      label="Pareto front",
    )
  if order.size:
    ax.scatter(
      x[order],
      y[order],
      s=140,
      facecolors="none",
      edgecolors="black",
      linewidths=1.5,
      zorder=3,
      label="Pareto-optimal cell",
    )
  ax.set_xlabel(f"{nll_label} (lower is better → left)")
  ax.set_ylabel("MIG (higher is better → up)")
  ax.grid(alpha=0.3)
  ax.margins(0.12)
  ax.legend()
  ax.set_title(
    "phase 2: NLL–MIG trade-off, cell means ± std over seeds;\ncircled: Pareto-optimal"
  )
  idx = np.flatnonzero(ok)
  _label_points(ax, x[idx], y[idx], [f"β={cells.beta[k]:g}" for k in idx])
  figures.save(fig, path)


@figures.styled
def tchebycheff_maps(
  cells: selection.Cells,
  scores: dict[int, np.ndarray],
  chosen: dict[int, int | None],
  path: str,
) -> None:
  """Tchebycheff score maps, one panel per reconstruction weight (percent); brighter
  is better, the chosen cell outlined.

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
    im = ax.imshow(
      np.ma.masked_invalid(grid),
      cmap=figures.better_cmap(False),
      vmin=0.0,
      vmax=hi,
      aspect="auto",
    )
    text = np.vectorize(figures.short_number)(grid)
    _print_values(ax, grid, text, 1.0 - grid / hi)
    _grid_axes(ax, cells)
    c = chosen[p]
    if c is not None:
      _outline(ax, *cells.position(c))
    best = "no finite score" if c is None else f"best {cells.name(c)}"
    ax.set_title(f"reconstruction weight {p} %\n{best}")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).set_label(
      f"score (lower is better;\n{figures.BETTER})"
    )
  fig.suptitle(
    "phase 2: augmented Tchebycheff score of range-normalised NLL and "
    f"MIG (ρ = {selection.RHO:g});\nchosen cell outlined in red"
  )
  figures.save(fig, path)

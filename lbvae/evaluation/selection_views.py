"""Choosing (β, λ): the result views of phase 2 (arXiv 2602.09277, §4; docs/method.md §5).

From the phase-2 rows of ``summary.csv`` (cell means over seeds), :func:`write` writes
under the run directory ``DIR``::

  DIR/eval/figures/phase2_percent_change.png  % change vs β = 1, λ = 0
  DIR/eval/figures/phase2_pareto.png          NLL–MIG plane and its Pareto front
  DIR/eval/figures/phase2_tchebycheff.png     scores at 10 / 50 / 90 % weight
  DIR/eval/selection.html                     the slider page (plotly inlined: no network)
  DIR/eval/selection.csv                      per cell: values, % change, Pareto, scores
  DIR/eval/selection_choices.csv              the chosen cell at 0, 1, ..., 100 %

and returns the report section's lines (:data:`TITLE`), e.g.
``report.write(..., sections=[(TITLE, write(rows, store.EvalPaths(DIR)))])``. NLL is
the trainer's window mean (``nll``), as in the reference's metrics. An undefined view
(no or zero baseline, no finite NLL or MIG, one cell, ...) is skipped and said so,
never filled in. The maths is :mod:`lbvae.evaluation.selection`.
"""

from __future__ import annotations

import html
import math
import os
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from matplotlib import patches
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from plotly.subplots import make_subplots

from lbvae import files
from lbvae import metrics
from lbvae.evaluation import figures
from lbvae.evaluation import selection
from lbvae.evaluation import store
from lbvae.evaluation import tables
from lbvae.evaluation import udr_choice

NLL = "nll"


def plotted() -> tuple[tuple[str, str, bool], ...]:
  """(column, label, higher is better) of the % change panels: the training NLL,
  then the registry's paper scores (``lbvae.metrics.entries``)."""
  return ((NLL, "NLL (train)", False),) + tuple(
      (e.name, e.label, e.higher_is_better) for e in metrics.entries() if e.paper)

TITLE = "Choosing (β, λ): the reference's result views (phase 2)"
BASELINE = (1.0, 0.0)          # (β, λ) of the same-budget baseline cell
STATIC_WEIGHTS = (10, 50, 90)  # reconstruction weights (percent) of the static maps
WEIGHTS = range(101)           # the slider's weights, percent
# How a cell is chosen: one paragraph, on the page and in the report's section.
SCALARISATION = (
    "NLL and MIG are range-normalised over the cells to [0, 1], MIG flipped, so 0 "
    "is the best observed value of each (the utopia point). With weight w on "
    "reconstruction: score = max(w·f_NLL, (1 − w)·f_MIG) + ρ·(w·f_NLL + "
    f"(1 − w)·f_MIG), ρ = {selection.RHO:g}; the outlined cell has the lowest score "
    "(ties: a Pareto-optimal cell, then the smallest β, then λ).")
PAGE_INTRO = ("Phase 2 of the run, cell means over seeds; NLL is the training-window "
              f"mean. {SCALARISATION} Move the slider to change w.")


# The static figures.

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
    # The cells print the signed change and the colour bar reads the same numbers;
    # the colour map runs the metric's way, so that blue is better either way.
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=percent_cmap(higher),
                   vmin=-span, vmax=span, aspect="auto")
    text = np.vectorize(_percent)(grid)
    _print_values(ax, grid, text, 1.0 - np.abs(grid) / span)
    _outline(ax, *cells.position(baseline), colour="black")
    _grid_axes(ax, cells)
    arrow = "↑" if higher else "↓"
    ax.set_title(f"{label}: % change\n({arrow} is better)" if finite.size
                 else f"{label}: % change undefined")
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("% change (better: blue, up)" if higher
                  else "% change (better: blue, down)")
  fig.suptitle(f"phase 2: % change of the cell mean vs the baseline "
               f"{cells.name(baseline)} "
               "(outlined; same budget)\nblue = better, red = worse")
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
  canvas.draw()                         # final layout, so that extents are right
  renderer = canvas.get_renderer()
  inside = fig.bbox.padded(-2)
  points = ax.transData.transform(np.column_stack([xs, ys]))
  placed = [Bbox.from_extents(px - MARKER_PX, py - MARKER_PX, px + MARKER_PX,
                              py + MARKER_PX) for px, py in points]   # the markers
  for k in np.argsort(-np.asarray(ys), kind="stable"):
    for dx, dy in _label_offsets():
      near = (dx, dy) == (5.0, 4.0)
      note = ax.annotate(labels[k], (xs[k], ys[k]), textcoords="offset points",
                         xytext=(dx, dy), fontsize=figures.MIN_FONT_PT,
                         ha="left" if dx >= 0 else "right",
                         va="bottom" if dy >= 0 else "top",
                         arrowprops=None if near else {"arrowstyle": "-", "lw": 0.5,
                                                       "color": "0.4"})
      note.update_positions(renderer)
      box = Text.get_window_extent(note, renderer)   # the text, not its line
      free = not any(box.overlaps(b) for b in placed)
      if free and inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1):
        placed.append(box)
        break
      note.remove()


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


# The interactive page.

DIV_ID = "selection"
# Markers of the Pareto-optimal cells on the page, one per cell (cycled).
PARETO_SYMBOLS = ("circle-open", "square-open", "diamond-open", "triangle-up-open",
                  "triangle-down-open", "star-open", "hexagon-open", "cross-open",
                  "x-open", "pentagon-open")
DEFAULT_WEIGHT = 50   # percent: where the slider starts


def _json_grid(grid: np.ndarray) -> list:
  """float[B, Λ] -> nested lists with None for NaN (JSON has no NaN)."""
  return [[None if not math.isfinite(v) else float(v) for v in row] for row in grid]


def _text_grid(grid: np.ndarray) -> list:
  return [["" if not math.isfinite(v) else figures.short_number(v) for v in row] for row in grid]


def _state(cells, scores, chosen, nll, p) -> tuple[dict, dict]:
  """The (data update, layout update) of the heat map at weight ``p`` percent."""
  grid = cells.grid(scores[p])
  k = chosen[p]
  data = {"z": [_json_grid(grid)], "text": [_text_grid(grid)]}
  if k is None:
    return data, {"shapes": [], "annotations": [],
                  "title.text": f"reconstruction weight {p} %: no finite score"}
  row, col = cells.position(k)
  x, y = float(cells.mean[nll][k]), float(cells.mean["mig"][k])
  layout = {
      "shapes": [{"type": "rect", "xref": "x", "yref": "y", "x0": col - 0.5,
                  "x1": col + 0.5, "y0": row - 0.5, "y1": row + 0.5,
                  "line": {"color": "red", "width": 4}}],
      "annotations": [{"x": x, "y": y, "xref": "x2", "yref": "y2",
                       "text": f"chosen: {cells.name(k)}", "showarrow": True,
                       "arrowcolor": "red", "font": {"color": "red"},
                       "ax": 40, "ay": -40}],
      "title.text": (f"reconstruction weight {p} %: best {cells.name(k)} "
                     f"(NLL {figures.short_number(x)}, MIG {figures.short_number(y)})")}
  return data, layout


def colour_range(scores: np.ndarray) -> tuple[float, float]:
  """The heat map's colour range: from 0 (or below, if a score is) to the largest
  finite score of any weight, so that every plotted score lies on the bar."""
  finite = scores[np.isfinite(scores)]
  if not finite.size:
    return 0.0, 1.0
  lo = min(0.0, float(finite.min()))
  return lo, max(float(finite.max()), lo + 1e-9)


def colour_ticks(lo: float, hi: float) -> np.ndarray:
  """Round ticks within [lo, hi] and the top of the bar itself (the largest score)."""
  nice = ticker.MaxNLocator(5).tick_values(lo, hi)
  nice = nice[(nice >= lo) & (nice <= hi - 0.1 * (hi - lo))]
  return np.r_[nice, hi]


def padded_range(v: np.ndarray, below: float, above: float) -> list[float] | None:
  """An axis range around ``v``, widened by these fractions of its span (or of
  ``|v|`` when flat) below and above, so that markers and labels stay inside."""
  v = v[np.isfinite(v)]
  if not v.size:
    return None
  lo, hi = float(v.min()), float(v.max())
  span = hi - lo or max(abs(hi), 1.0) * 1e-3
  return [lo - below * span, hi + above * span]


def page_figure(cells: selection.Cells, scores: np.ndarray,
           chosen: Sequence[int | None], front: np.ndarray, *, nll: str,
           nll_label: str) -> go.Figure:
  """The plotly figure with its 101-step slider.

  Args:
    cells: the phase's cells (``mean`` holds ``nll`` and ``mig``).
    scores: float[101, N] scores at weights 0..100 %.
    chosen: 101 chosen cell indices (None: no finite score).
    front: bool[N] Pareto-optimal cells.
    nll: the NLL column.
    nll_label: its label.

  Returns:
    The figure (heat map is trace 0).
  """
  betas, lams = cells.axes()
  x, y = cells.mean[nll], cells.mean["mig"]
  ok = np.isfinite(x) & np.isfinite(y)
  fig = make_subplots(rows=1, cols=2, column_widths=[0.5, 0.5],
                      horizontal_spacing=0.2)
  lo, hi = colour_range(scores)
  custom = np.stack([cells.grid(x), cells.grid(y)], axis=-1)
  ticks = colour_ticks(lo, hi)
  fig.add_trace(go.Heatmap(
      x=list(range(len(lams))), y=list(range(len(betas))),
      colorscale="Viridis", reversescale=True, zmin=lo, zmax=hi,
      texttemplate="%{text}", customdata=[[list(map(float, c)) for c in r]
                                          for r in custom],
      hovertemplate=("score %{z:.4f}<br>NLL %{customdata[0]:.4g}<br>"
                     "MIG %{customdata[1]:.4g}<extra></extra>"),
      colorbar={"title": {"text": f"score (lower<br>is better;<br>{figures.BETTER})"},
                "x": 0.41, "thickness": 15, "tickvals": ticks.tolist(),
                "ticktext": [f"{v:.4g}" for v in ticks]}),
      row=1, col=1)
  fig.add_trace(go.Scatter(
      x=x[ok].tolist(), y=y[ok].tolist(), mode="markers",
      text=[cells.name(k) for k in np.flatnonzero(ok)],
      marker={"size": 9, "color": "steelblue"}, name="cells",
      hovertemplate="%{text}<br>NLL %{x:.4g}<br>MIG %{y:.4g}<extra></extra>"),
      row=1, col=2)
  order = np.flatnonzero(front)[np.argsort(x[front], kind="stable")]
  fig.add_trace(go.Scatter(
      x=x[order].tolist(), y=y[order].tolist(), mode="lines",
      line={"shape": "hv", "color": "black"}, name="Pareto front",
      hoverinfo="skip"), row=1, col=2)
  # Each Pareto-optimal cell is named in the legend, by its own marker: text beside
  # the points could overlap wherever cells lie close, at any size of the page.
  for i, k in enumerate(order):
    fig.add_trace(go.Scatter(
        x=[float(x[k])], y=[float(y[k])], mode="markers", cliponaxis=False,
        marker={"size": 15, "symbol": PARETO_SYMBOLS[i % len(PARETO_SYMBOLS)],
                "color": "black", "line": {"width": 2}},
        name=f"Pareto-optimal: {cells.name(k)}", legendgroup="pareto",
        hovertemplate=f"{cells.name(k)}<br>NLL %{{x:.4g}}<br>MIG %{{y:.4g}}"
                      "<extra>Pareto-optimal</extra>"), row=1, col=2)
  fig.update_xaxes(tickvals=list(range(len(lams))),
                   ticktext=[f"{v:g}" for v in lams], title_text="λ", row=1, col=1)
  fig.update_yaxes(tickvals=list(range(len(betas))),
                   ticktext=[f"{v:g}" for v in betas], title_text="β",
                   autorange="reversed", row=1, col=1)
  fig.update_xaxes(title_text=f"{nll_label} (lower is better)",
                   range=padded_range(x[ok], 0.1, 0.35), row=1, col=2)
  fig.update_yaxes(title_text="MIG (higher is better)",
                   range=padded_range(y[ok], 0.12, 0.18), row=1, col=2)
  steps = []
  for p in range(scores.shape[0]):
    data, layout = _state(cells, scores, chosen, nll, p)
    steps.append({"method": "update", "label": str(p),
                  "args": [data, layout, [0]]})
  data, layout = _state(cells, scores, chosen, nll, DEFAULT_WEIGHT)
  fig.update_traces(z=data["z"][0], text=data["text"][0], selector=0)
  fig.update_layout(
      shapes=layout["shapes"], annotations=layout["annotations"],
      title={"text": layout["title.text"]}, height=560,
      legend={"x": 1.02, "y": 1.0, "xanchor": "left", "yanchor": "top"},
      sliders=[{"active": DEFAULT_WEIGHT, "steps": steps, "y": -0.12,
                "currentvalue": {"prefix": "reconstruction weight: ",
                                 "suffix": " %"},
                "pad": {"t": 30}}])
  return fig


def _cell_table(cells, front, nll) -> str:
  head = ("<tr><th>β</th><th>λ</th><th>seeds</th><th>NLL</th><th>MIG</th>"
          "<th>Pareto-optimal</th></tr>")
  rows = [f"<tr><td>{cells.beta[k]:g}</td><td>{cells.lam[k]:g}</td>"
          f"<td>{cells.num_seeds[k]}</td>"
          f"<td>{figures.short_number(cells.mean[nll][k], table=True)}</td>"
          f"<td>{figures.short_number(cells.mean['mig'][k], table=True)}</td>"
          f"<td>{'yes' if front[k] else ''}</td></tr>" for k in range(len(cells))]
  return "<table>" + head + "".join(rows) + "</table>"


def write_page(cells: selection.Cells, scores: np.ndarray,
               chosen: Sequence[int | None], front: np.ndarray, path: str, *,
               nll: str, nll_label: str, title: str, notes: Sequence[str]) -> None:
  """Writes the self-contained page atomically (arguments as :func:`page_figure`).

  Args:
    path: output HTML file.
    title: the page's heading.
    notes: paragraphs shown above the figure (plain text; escaped).
  """
  fig = page_figure(cells, scores, chosen, front, nll=nll, nll_label=nll_label)
  div = pio.to_html(fig, include_plotlyjs=True, full_html=False, div_id=DIV_ID,
                    config={"displaylogo": False})
  page = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
          f"<title>{html.escape(title)}</title>",
          "<style>body{font-family:sans-serif;margin:1.5em;max-width:1200px}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
          "padding:2px 8px;text-align:right}</style></head><body>",
          f"<h1>{html.escape(title)}</h1>"]
  page += [f"<p>{html.escape(n)}</p>" for n in notes]
  page += [div, "<h2>Cells (means over seeds)</h2>",
           _cell_table(cells, front, nll), "</body></html>"]
  files.write_text(path, "\n".join(page))


# The views: files and the report section.

def output_files(paths: store.EvalPaths) -> dict[str, str]:
  """The views' output files (absolute paths), by kind."""
  fig = lambda name: os.path.join(paths.figures, f"phase2_{name}.png")
  return {"percent_change": fig("percent_change"), "pareto": fig("pareto"),
          "tchebycheff": fig("tchebycheff"),
          "page": os.path.join(paths.eval, "selection.html"),
          "csv": os.path.join(paths.eval, "selection.csv"),
          "choices_csv": os.path.join(paths.eval, "selection_choices.csv")}


def _percent_section(cells, out, paths, written) -> tuple[list[str], dict]:
  b = cells.index(*BASELINE)
  lines = ["### % change against the same-budget baseline", ""]
  if b is None:
    return lines + ["The phase-2 grid has no β = 1, λ = 0 cell, so there is no "
                    "same-budget baseline: the % change maps are not drawn.",
                    ""], {}
  changes = {c: selection.percent_change(cells.mean[c], cells.mean[c][b])
             for c, _, _ in plotted()}
  percent_change_maps(cells, changes, plotted(), b, out["percent_change"])
  written.add("percent_change")
  lines += [f"Each cell's mean over seeds against the baseline {cells.name(b)} "
            "of phase 2 (the same number of training steps): "
            "change = 100 · (cell − baseline) / |baseline|. Lower NLL is better; "
            "higher MIG, SAP and I_m are better; in the figure blue is better, "
            "red worse, whatever the metric's direction.", ""]
  for c, label, _ in plotted():
    if not np.isfinite(changes[c]).any():
      lines += [f"- {label}: the baseline's value is {figures.short_number(cells.mean[c][b])}, so "
                "its % change is undefined (empty panel)."]
  if lines[-1] != "":
    lines.append("")
  lines += [f"![% change]({paths.relative(out['percent_change'])})", ""]
  return lines, changes


def _pareto_section(cells, front, out, paths, written) -> list[str]:
  pareto_scatter(cells, NLL, "mig", front, out["pareto"], nll_label="NLL (train)")
  written.add("pareto")
  order = np.flatnonzero(front)[np.argsort(cells.mean[NLL][front], kind="stable")]
  lines = ["### NLL–MIG Pareto front", "",
           "A cell is Pareto-optimal when no other cell has both a lower or equal "
           "NLL and a higher or equal MIG, one of them strictly.", "",
           f"![Pareto front]({paths.relative(out['pareto'])})", "",
           "| β | λ | NLL (train) | MIG |", "|---:|---:|---:|---:|"]
  num = figures.table_number
  lines += [f"| {cells.beta[k]:g} | {cells.lam[k]:g} | {num(cells.mean[NLL][k])} "
            f"| {num(cells.mean['mig'][k])} |" for k in order]
  return lines + [""]


def _notes(cells, norm) -> list[str]:
  """What makes the selection degenerate, one sentence each."""
  notes = []
  bad = [cells.name(k) for k in np.flatnonzero(~norm.valid)]
  if bad:
    notes.append("Cells without a finite NLL or MIG take no part in the Pareto "
                 "front or the choice: " + "; ".join(bad) + ".")
  if norm.valid.sum() == 1:
    notes.append("Only one cell has a finite NLL and MIG: it is chosen at every "
                 "weight, trivially.")
  else:
    for name, flat in zip(("NLL", "MIG"), norm.flat):
      if flat and norm.valid.any():
        notes.append(f"Every cell has the same {name}: its range is 0, so it is 0 "
                     "after normalisation everywhere and does not tell cells "
                     "apart.")
  return notes


def _tchebycheff_section(cells, scores, chosen, notes, out, paths,
                         written) -> list[str]:
  lines = ["### Best (β, λ) by augmented Tchebycheff scalarisation", "",
           SCALARISATION, ""]
  lines += [f"- {n}" for n in notes] + ([""] if notes else [])
  if all(k is None for k in chosen):
    return lines + ["No cell has a finite NLL and MIG: nothing to choose.", ""]
  tchebycheff_maps(
      cells, {p: scores[p] for p in STATIC_WEIGHTS},
      {p: chosen[p] for p in STATIC_WEIGHTS}, out["tchebycheff"])
  written.add("tchebycheff")
  lines += [f"![Tchebycheff]({paths.relative(out['tchebycheff'])})", ""]
  for p in STATIC_WEIGHTS:
    k = chosen[p]
    lines.append(f"- {p} % reconstruction weight: **{cells.name(k)}** (NLL "
                 f"{figures.table_number(cells.mean[NLL][k])}, MIG "
                 f"{figures.table_number(cells.mean['mig'][k])})")
  runs = selection.choice_runs(chosen, WEIGHTS)
  lines += ["", "Over the whole slider: " + "; ".join(
      f"{lo}–{hi} %: {cells.name(k)}" for lo, hi, k in runs) + ".", ""]
  return lines


def _write_tables(cells, changes, front, scores, chosen, out) -> None:
  rows = []
  for k in range(len(cells)):
    row = {"beta": cells.beta[k], "lambda": cells.lam[k],
           "num_seeds": cells.num_seeds[k]}
    row.update({c: cells.mean[c][k] for c, _, _ in plotted()})
    row.update({c: cells.mean[c][k] for c in udr_choice.COLUMNS})
    row.update({f"{c}_pct_change": v[k] for c, v in changes.items()})
    row["pareto"] = int(front[k])
    row.update({f"tchebycheff_w{p}": scores[p][k] for p in STATIC_WEIGHTS})
    rows.append(row)
  columns = (["beta", "lambda", "num_seeds"] + [c for c, _, _ in plotted()]
             + list(udr_choice.COLUMNS) + [f"{c}_pct_change" for c in changes]
             + ["pareto"] + [f"tchebycheff_w{p}" for p in STATIC_WEIGHTS])
  tables.write_csv(out["csv"], columns, rows)
  picks = [{"weight_percent": p, "beta": cells.beta[k], "lambda": cells.lam[k],
            "score": scores[p][k]} for p, k in zip(WEIGHTS, chosen) if k is not None]
  tables.write_csv(out["choices_csv"], ["weight_percent", "beta", "lambda", "score"],
                   picks)


def write(summary: Sequence[dict] | None, paths: store.EvalPaths) -> list[str]:
  """Writes the views of phase 2; returns the report section's Markdown lines.

  Args:
    summary: the phase-2 rows of ``summary.csv`` (None or empty: no phase 2).
    paths: the run's :class:`store.EvalPaths`.

  Returns:
    Markdown lines under the section's title :data:`TITLE` (links relative to
    the run directory).
  """
  out = output_files(paths)
  lines = []
  written: set[str] = set()
  if summary:
    cells = selection.cells_from_summary(
        summary, [c for c, _, _ in plotted()] + list(udr_choice.COLUMNS))
    lines += ["Cell means over seeds of phase 2 (`eval/summary.csv`); NLL is the "
              "training-window mean. Interactive page, self-contained (open it in "
              f"a browser, no network needed): [{paths.relative(out['page'])}]"
              f"({paths.relative(out['page'])}) — a slider sets the reconstruction "
              "weight from 0 to 100 % and shows the chosen cell. Per-cell numbers: "
              "`eval/selection.csv`; the choice at every weight: "
              "`eval/selection_choices.csv`.", ""]
    more, changes = _percent_section(cells, out, paths, written)
    lines += more
    front = selection.pareto_front(cells.mean[NLL], cells.mean["mig"])
    norm = selection.normalise(cells.mean[NLL], cells.mean["mig"])
    scores, chosen = selection.choices(cells.mean[NLL], cells.mean["mig"], WEIGHTS)
    notes = _notes(cells, norm)
    if front.any():
      lines += _pareto_section(cells, front, out, paths, written)
    else:
      lines += ["### NLL–MIG Pareto front", "", "No cell has a finite NLL and MIG: "
                "there is no front.", ""]
    lines += _tchebycheff_section(cells, scores, chosen, notes, out, paths, written)
    write_page(
        cells, scores, chosen, front, out["page"], nll=NLL, nll_label="NLL (train)",
        title="Choosing (β, λ): augmented Tchebycheff scalarisation of NLL and MIG",
        notes=[PAGE_INTRO] + notes
        + ["Without labels: " + " ".join(udr_choice.choices(cells))])
    _write_tables(cells, changes, front, scores, chosen, out)
    written |= {"page", "csv", "choices_csv"}
  else:
    lines += ["No phase-2 cell was evaluated: the views need phase 2.", ""]
  for kind, path in out.items():      # no stale view from an earlier pass
    if kind not in written and files.as_path(path).exists():
      files.as_path(path).unlink()
  return lines

"""The interactive page of the selection views: ``DIR/eval/selection.html``.

One self-contained HTML file (plotly inlined: it opens offline): the augmented
Tchebycheff score of every phase-2 cell as a heat map beside the NLL–MIG plane, with a
slider over the reconstruction weight that outlines the chosen cell, and a table of
the cells (docs/method.md §5). :func:`write_page` writes it;
:mod:`lbvae.evaluation.selection_views` calls it.
"""

from __future__ import annotations

import html
import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from matplotlib import ticker
from plotly.subplots import make_subplots

from lbvae import files
from lbvae.evaluation import figures
from lbvae.evaluation import selection

DIV_ID = "selection"
# Markers of the Pareto-optimal cells on the page, one per cell (cycled).
PARETO_SYMBOLS = (
  "circle-open",
  "square-open",
  "diamond-open",
  "triangle-up-open",
  "triangle-down-open",
  "star-open",
  "hexagon-open",
  "cross-open",
  "x-open",
  "pentagon-open",
)
DEFAULT_WEIGHT = 50  # percent: where the slider starts


def _json_grid(grid: np.ndarray) -> list:
  """float[B, Λ] -> nested lists with None for NaN (JSON has no NaN)."""
  return [[None if not math.isfinite(v) else float(v) for v in row] for row in grid]


def _text_grid(grid: np.ndarray) -> list:
  return [
    ["" if not math.isfinite(v) else figures.short_number(v) for v in row]
    for row in grid
  ]


def _state(cells, scores, chosen, nll, p) -> tuple[dict, dict]:
  """The (data update, layout update) of the heat map at weight ``p`` percent."""
  grid = cells.grid(scores[p])
  k = chosen[p]
  data = {"z": [_json_grid(grid)], "text": [_text_grid(grid)]}
  if k is None:
    return data, {
      "shapes": [],
      "annotations": [],
      "title.text": f"reconstruction weight {p} %: no finite score",
    }
  row, col = cells.position(k)
  x, y = float(cells.mean[nll][k]), float(cells.mean["mig"][k])
  layout = {
    "shapes": [
      {
        "type": "rect",
        "xref": "x",
        "yref": "y",
        "x0": col - 0.5,
        "x1": col + 0.5,
        "y0": row - 0.5,
        "y1": row + 0.5,
        "line": {"color": "red", "width": 4},
      }
    ],
    "annotations": [
      {
        "x": x,
        "y": y,
        "xref": "x2",
        "yref": "y2",
        "text": f"chosen: {cells.name(k)}",
        "showarrow": True,
        "arrowcolor": "red",
        "font": {"color": "red"},
        "ax": 40,
        "ay": -40,
      }
    ],
    "title.text": (
      f"reconstruction weight {p} %: best {cells.name(k)} "
      f"(NLL {figures.short_number(x)}, MIG {figures.short_number(y)})"
    ),
  }
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


def page_figure(
  cells: selection.Cells,
  scores: np.ndarray,
  chosen: Sequence[int | None],
  front: np.ndarray,
  *,
  nll: str,
  nll_label: str,
) -> go.Figure:
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
  fig = make_subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.2)
  lo, hi = colour_range(scores)
  custom = np.stack([cells.grid(x), cells.grid(y)], axis=-1)
  ticks = colour_ticks(lo, hi)
  fig.add_trace(
    go.Heatmap(
      x=list(range(len(lams))),
      y=list(range(len(betas))),
      colorscale="Viridis",
      reversescale=True,
      zmin=lo,
      zmax=hi,
      texttemplate="%{text}",
      customdata=[[list(map(float, c)) for c in r] for r in custom],
      hovertemplate=(
        "score %{z:.4f}<br>NLL %{customdata[0]:.4g}<br>"
        "MIG %{customdata[1]:.4g}<extra></extra>"
      ),
      colorbar={
        "title": {"text": f"score (lower<br>is better;<br>{figures.BETTER})"},
        "x": 0.41,
        "thickness": 15,
        "tickvals": ticks.tolist(),
        "ticktext": [f"{v:.4g}" for v in ticks],
      },
    ),
    row=1,
    col=1,
  )
  fig.add_trace(
    go.Scatter(
      x=x[ok].tolist(),
      y=y[ok].tolist(),
      mode="markers",
      text=[cells.name(k) for k in np.flatnonzero(ok)],
      marker={"size": 9, "color": "steelblue"},
      name="cells",
      hovertemplate="%{text}<br>NLL %{x:.4g}<br>MIG %{y:.4g}<extra></extra>",
    ),
    row=1,
    col=2,
  )
  order = np.flatnonzero(front)[np.argsort(x[front], kind="stable")]
  fig.add_trace(
    go.Scatter(
      x=x[order].tolist(),
      y=y[order].tolist(),
      mode="lines",
      line={"shape": "hv", "color": "black"},
      name="Pareto front",
      hoverinfo="skip",
    ),
    row=1,
    col=2,
  )
  # Each Pareto-optimal cell is named in the legend, by its own marker: text beside
  # the points could overlap wherever cells lie close, at any size of the page.
  for i, k in enumerate(order):
    fig.add_trace(
      go.Scatter(
        x=[float(x[k])],
        y=[float(y[k])],
        mode="markers",
        cliponaxis=False,
        marker={
          "size": 15,
          "symbol": PARETO_SYMBOLS[i % len(PARETO_SYMBOLS)],
          "color": "black",
          "line": {"width": 2},
        },
        name=f"Pareto-optimal: {cells.name(k)}",
        legendgroup="pareto",
        hovertemplate=f"{cells.name(k)}<br>NLL %{{x:.4g}}<br>MIG %{{y:.4g}}"
        "<extra>Pareto-optimal</extra>",
      ),
      row=1,
      col=2,
    )
  fig.update_xaxes(
    tickvals=list(range(len(lams))),
    ticktext=[f"{v:g}" for v in lams],
    title_text="λ",
    row=1,
    col=1,
  )
  fig.update_yaxes(
    tickvals=list(range(len(betas))),
    ticktext=[f"{v:g}" for v in betas],
    title_text="β",
    autorange="reversed",
    row=1,
    col=1,
  )
  fig.update_xaxes(
    title_text=f"{nll_label} (lower is better)",
    range=padded_range(x[ok], 0.1, 0.35),
    row=1,
    col=2,
  )
  fig.update_yaxes(
    title_text="MIG (higher is better)",
    range=padded_range(y[ok], 0.12, 0.18),
    row=1,
    col=2,
  )
  steps = []
  for p in range(scores.shape[0]):
    data, layout = _state(cells, scores, chosen, nll, p)
    steps.append({"method": "update", "label": str(p), "args": [data, layout, [0]]})
  data, layout = _state(cells, scores, chosen, nll, DEFAULT_WEIGHT)
  fig.update_traces(z=data["z"][0], text=data["text"][0], selector=0)
  fig.update_layout(
    shapes=layout["shapes"],
    annotations=layout["annotations"],
    title={"text": layout["title.text"]},
    height=560,
    legend={"x": 1.02, "y": 1.0, "xanchor": "left", "yanchor": "top"},
    sliders=[
      {
        "active": DEFAULT_WEIGHT,
        "steps": steps,
        "y": -0.12,
        "currentvalue": {"prefix": "reconstruction weight: ", "suffix": " %"},
        "pad": {"t": 30},
      }
    ],
  )
  return fig


def _cell_table(cells, front, nll) -> str:
  head = (
    "<tr><th>β</th><th>λ</th><th>seeds</th><th>NLL</th><th>MIG</th>"
    "<th>Pareto-optimal</th></tr>"
  )
  rows = [
    f"<tr><td>{cells.beta[k]:g}</td><td>{cells.lam[k]:g}</td>"
    f"<td>{cells.num_seeds[k]}</td>"
    f"<td>{figures.short_number(cells.mean[nll][k], table=True)}</td>"
    f"<td>{figures.short_number(cells.mean['mig'][k], table=True)}</td>"
    f"<td>{'yes' if front[k] else ''}</td></tr>"
    for k in range(len(cells))
  ]
  return "<table>" + head + "".join(rows) + "</table>"


def write_page(
  cells: selection.Cells,
  scores: np.ndarray,
  chosen: Sequence[int | None],
  front: np.ndarray,
  path: str,
  *,
  nll: str,
  nll_label: str,
  title: str,
  notes: Sequence[str],
) -> None:
  """Writes the self-contained page atomically (arguments as :func:`page_figure`).

  Args:
    path: output HTML file.
    title: the page's heading.
    notes: paragraphs shown above the figure (plain text; escaped).
  """
  fig = page_figure(cells, scores, chosen, front, nll=nll, nll_label=nll_label)
  div = pio.to_html(
    fig,
    include_plotlyjs=True,
    full_html=False,
    div_id=DIV_ID,
    config={"displaylogo": False},
  )
  page = [
    "<!DOCTYPE html>",
    '<html><head><meta charset="utf-8">',
    f"<title>{html.escape(title)}</title>",
    "<style>body{font-family:sans-serif;margin:1.5em;max-width:1200px}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
    "padding:2px 8px;text-align:right}</style></head><body>",
    f"<h1>{html.escape(title)}</h1>",
  ]
  page += [f"<p>{html.escape(n)}</p>" for n in notes]
  page += [
    div,
    "<h2>Cells (means over seeds)</h2>",
    _cell_table(cells, front, nll),
    "</body></html>",
  ]
  files.write_text(path, "\n".join(page))

"""Figures of the linear-Gaussian protocol of arXiv 2602.09277 (docs/theory.md).

Synopsis::

    from lbvae.linear import plots
    plots.boxplots(per_init_rows, collapse=11.7, n=50, path="box_n50.png")
    plots.heatmaps(summary_rows, n=50, path="heatmaps_n50.png")
    plots.contraction(contraction_rows, path="contraction.png")

Inputs are the row dicts that :mod:`lbvae.linear.protocol` produces (the same rows
written to CSV), so every figure can be redrawn from the files. Matplotlib's
object-oriented API in the report's house style (:func:`lbvae.evaluation.figures.
styled`: text of at least 9 pt at the saved size; brighter is better in heat maps).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from lbvae.evaluation import figures

# (key, label, higher is better)
METRICS = (
  ("recon", "R (NLL, nats)", False),
  ("sap", "SAP", True),
  ("im", "I_m (nats)", True),
)
Rows = Sequence[dict[str, Any]]


def _solvers(rows: Rows) -> list[str]:
  return sorted({r["solver"] for r in rows}, key=("fixed_point", "gradient").index)


def box_lambda(rows: Rows) -> float:
  """The lambda of the box plots: 0 when present, else the smallest one."""
  lams = sorted({r["lambda"] for r in rows})
  return 0.0 if 0.0 in lams else lams[0]


@figures.styled
def boxplots(rows: Rows, *, n: int, collapse: float, path: str) -> None:
  """Box plots over beta of R, SAP, I_m at :func:`box_lambda`, one column per solver.

  Args:
    rows: per-init rows (all solvers, all n; only this n is drawn).
    n: the instance dimension to draw.
    collapse: R of the collapsed solution, drawn as a dashed line.
    path: PNG path.
  """
  lam = box_lambda(rows)
  rows = [r for r in rows if r["n"] == n and r["lambda"] == lam]
  solvers = _solvers(rows)
  fig = Figure(figsize=(3.6 * len(solvers) + 0.8, 7.6), layout="constrained")
  axes = fig.subplots(len(METRICS), len(solvers), squeeze=False)
  for col, solver in enumerate(solvers):
    sub = [r for r in rows if r["solver"] == solver]
    betas = sorted({r["beta"] for r in sub})
    for row, (key, label, _) in enumerate(METRICS):
      ax = axes[row, col]
      data = [[r[key] for r in sub if r["beta"] == b] for b in betas]
      ax.boxplot(data, tick_labels=[f"{b:g}" for b in betas], widths=0.6)
      if key == "recon":
        ax.axhline(collapse, color="tab:red", ls="--", lw=1, label="collapse value")
        ax.legend(loc="lower right")
      if row == 0:
        ax.set_title(f"{solver}, n={n}, λ={lam:g}")
      if row == len(METRICS) - 1:
        ax.set_xlabel("β")
      if col == 0:
        ax.set_ylabel(label)
  figures.save(fig, path)


@figures.styled
def heatmaps(rows: Rows, *, n: int, path: str) -> None:
  """Heat maps over (beta, lambda) of mean R, SAP, I_m, one column per solver.

  Cells print three decimals, as the paper's figure does; brighter is better in
  every panel (low R, high SAP and I_m).

  Args:
    rows: summary rows (all solvers, all n; only this n is drawn).
    n: the instance dimension to draw.
    path: PNG path.
  """
  rows = [r for r in rows if r["n"] == n]
  solvers = _solvers(rows)
  betas = sorted({r["beta"] for r in rows})
  lams = sorted({r["lambda"] for r in rows})
  fig = Figure(
    figsize=(
      max(0.75 * len(lams), 2.5) * len(solvers) + 2.0 * len(solvers),
      3 * (0.45 * len(betas) + 1.1),
    ),
    layout="constrained",
  )
  axes = fig.subplots(len(METRICS), len(solvers), squeeze=False)
  for col, solver in enumerate(solvers):
    table = {(r["beta"], r["lambda"]): r for r in rows if r["solver"] == solver}
    for row, (key, label, higher) in enumerate(METRICS):
      grid = np.array(
        [
          [table[(b, l)][f"{key}_mean"] if (b, l) in table else np.nan for l in lams]
          for b in betas
        ]
      )
      ax = axes[row, col]
      finite = grid[np.isfinite(grid)]
      lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
      im = ax.imshow(
        grid, origin="lower", aspect="auto", cmap=figures.better_cmap(higher)
      )
      figures.print_cells(
        ax,
        [[f"{v:.3f}".replace("-0.000", "0.000") for v in row] for row in grid],
        [[figures.cell_shade(v, lo, hi, higher) > 0.6 for v in row] for row in grid],
      )
      ax.set_xticks(range(len(lams)), [f"{l:g}" for l in lams])
      ax.set_yticks(range(len(betas)), [f"{b:g}" for b in betas])
      ax.set_title(f"{label}: {solver}, n={n}")
      if row == len(METRICS) - 1:
        ax.set_xlabel("λ")
      if col == 0:
        ax.set_ylabel("β")
      fig.colorbar(im, ax=ax, label=figures.BETTER)
  figures.save(fig, path)


@figures.styled
def contraction(rows: Rows, *, path: str) -> None:
  """||B_k||_2 against k on a log scale, with the slope beta^-k for comparison.

  One colour per beta and one line style per lambda, with one legend for each
  (so the legend grows as beta + lambda, not beta x lambda).

  Args:
    rows: contraction rows (beta, lambda, iteration, gain).
    path: PNG path.
  """
  betas = sorted({r["beta"] for r in rows})
  lams = sorted({r["lambda"] for r in rows})
  colors = colormaps["viridis"](np.linspace(0, 0.9, len(betas)))
  styles = ["-", "--", ":", "-."]
  fig = Figure(figsize=(8.0, 5.2), layout="constrained")
  ax = fig.add_subplot(1, 1, 1)
  floor = np.finfo(np.float64).tiny
  for b, color in zip(betas, colors):
    for j, l in enumerate(lams):
      sub = sorted(
        (r for r in rows if r["beta"] == b and r["lambda"] == l),
        key=lambda r: r["iteration"],
      )
      k = np.array([r["iteration"] for r in sub])
      g = np.maximum([r["gain"] for r in sub], floor)
      ax.semilogy(k, g, styles[j % len(styles)], color=color, lw=1.6)
      if j == 0 and b > 1:
        ax.semilogy(
          k, 10 * g[0] * b ** -(k - k[0]), color="black", lw=0.8, ls=(0, (1, 2))
        )
  ax.set_xlabel("full fixed-point iteration k")
  ax.set_ylabel("gain ‖B_k‖₂")
  ax.set_title(f"Encoder gain; black dotted: 10 × gain₁ × β^−(k−1), λ={lams[0]:g}")
  by_beta = ax.legend(
    handles=[
      ax.plot([], [], color=c, lw=1.6, label=f"β={b:g}")[0]
      for b, c in zip(betas, colors)
    ],
    title="colour",
    loc="upper left",
    bbox_to_anchor=(1.01, 1.0),
  )
  ax.add_artist(by_beta)
  ax.legend(
    handles=[
      ax.plot([], [], styles[j % len(styles)], color="0.3", label=f"λ={l:g}")[0]
      for j, l in enumerate(lams)
    ],
    title="line",
    loc="lower left",
    bbox_to_anchor=(1.01, 0.0),
  )
  figures.save(fig, path)

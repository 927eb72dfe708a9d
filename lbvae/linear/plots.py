"""Figures of the linear-Gaussian protocol of arXiv 2602.09277 (docs/theory.md).

Synopsis::

    from lbvae.linear import plots
    plots.boxplots(per_init_rows, collapse=11.7, n=50, path="box_n50.png")
    plots.heatmaps(summary_rows, n=50, path="heatmaps_n50.png")
    plots.contraction(contraction_rows, path="contraction.png")

Inputs are the row dicts that :mod:`lbvae.linear.protocol` produces (the same rows
written to CSV), so every figure can be redrawn from the files. Matplotlib's Agg
backend; small PNGs.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

METRICS = (("recon", "R (NLL, nats)"), ("sap", "SAP"), ("im", "I_m (nats)"))
Rows = Sequence[dict[str, Any]]


def _solvers(rows: Rows) -> list[str]:
  return sorted({r["solver"] for r in rows}, key=("fixed_point", "gradient").index)


def box_lambda(rows: Rows) -> float:
  """The lambda of the box plots: 0 when present, else the smallest one."""
  lams = sorted({r["lambda"] for r in rows})
  return 0.0 if 0.0 in lams else lams[0]


def boxplots(rows: Rows, *, n: int, collapse: float, path: str) -> None:
  """Box plots over beta of R, SAP, I_m at lambda = 0, one column per solver.

  Args:
    rows: per-init rows (all solvers, all n; only this n is drawn).
    n: the instance dimension to draw.
    collapse: R of the collapsed solution, drawn as a dashed line.
    path: PNG path.
  """
  lam = box_lambda(rows)
  rows = [r for r in rows if r["n"] == n and r["lambda"] == lam]
  solvers = _solvers(rows)
  fig, axes = plt.subplots(len(METRICS), len(solvers), squeeze=False,
                           figsize=(3.2 * len(solvers) + 0.6, 6.4), dpi=80)
  for col, solver in enumerate(solvers):
    sub = [r for r in rows if r["solver"] == solver]
    betas = sorted({r["beta"] for r in sub})
    for row, (key, label) in enumerate(METRICS):
      ax = axes[row, col]
      data = [[r[key] for r in sub if r["beta"] == b] for b in betas]
      ax.boxplot(data, tick_labels=[f"{b:g}" for b in betas], widths=0.6)
      if key == "recon":
        ax.axhline(collapse, color="tab:red", ls="--", lw=1, label="collapse value")
        ax.legend(fontsize=7, loc="lower right")
      if row == 0:
        ax.set_title(f"{solver}, n={n}, lambda={lam:g}", fontsize=9)
      if row == len(METRICS) - 1:
        ax.set_xlabel("beta")
      if col == 0:
        ax.set_ylabel(label)
      ax.tick_params(labelsize=7)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def heatmaps(rows: Rows, *, n: int, path: str) -> None:
  """Heat maps over (beta, lambda) of mean R, SAP, I_m, one column per solver.

  Cells print three decimals, as the paper's figure does.

  Args:
    rows: summary rows (all solvers, all n; only this n is drawn).
    n: the instance dimension to draw.
    path: PNG path.
  """
  rows = [r for r in rows if r["n"] == n]
  solvers = _solvers(rows)
  betas = sorted({r["beta"] for r in rows})
  lams = sorted({r["lambda"] for r in rows})
  fig, axes = plt.subplots(len(METRICS), len(solvers), squeeze=False,
                           figsize=(3.8 * len(solvers) + 0.6, 7.6), dpi=100)
  for col, solver in enumerate(solvers):
    table = {(r["beta"], r["lambda"]): r for r in rows if r["solver"] == solver}
    for row, (key, label) in enumerate(METRICS):
      grid = np.array([[table[(b, l)][f"{key}_mean"] if (b, l) in table else np.nan
                        for l in lams] for b in betas])
      ax = axes[row, col]
      im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
      for i in range(len(betas)):
        for j in range(len(lams)):
          ax.text(j, i, f"{grid[i, j]:.3f}".replace("-0.000", "0.000"), ha="center",
                  va="center", fontsize=6,
                  color="white" if grid[i, j] < np.nanmean(grid) else "black")
      ax.set_xticks(range(len(lams)), [f"{l:g}" for l in lams], fontsize=7)
      ax.set_yticks(range(len(betas)), [f"{b:g}" for b in betas], fontsize=7)
      ax.set_title(f"{label}: {solver}, n={n}", fontsize=8)
      if row == len(METRICS) - 1:
        ax.set_xlabel("lambda")
      if col == 0:
        ax.set_ylabel("beta")
      fig.colorbar(im, ax=ax, shrink=0.8).ax.tick_params(labelsize=6)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def contraction(rows: Rows, *, path: str) -> None:
  """||B_k||_2 against k on a log scale, with the slope beta^-k for comparison.

  Args:
    rows: contraction rows (beta, lambda, iteration, gain).
    path: PNG path.
  """
  betas = sorted({r["beta"] for r in rows})
  lams = sorted({r["lambda"] for r in rows})
  colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(betas)))
  styles = ["-", "--", ":", "-."]
  fig, ax = plt.subplots(figsize=(6.0, 4.2), dpi=80)
  floor = np.finfo(np.float64).tiny
  for b, color in zip(betas, colors):
    for j, l in enumerate(lams):
      sub = sorted((r for r in rows if r["beta"] == b and r["lambda"] == l),
                   key=lambda r: r["iteration"])
      k = np.array([r["iteration"] for r in sub])
      g = np.maximum([r["gain"] for r in sub], floor)
      ax.semilogy(k, g, styles[j % len(styles)], color=color, lw=1.4,
                  label=f"beta={b:g}, lambda={l:g}")
      if j == 0 and b > 1:
        ax.semilogy(k, 10 * g[0] * b ** -(k - k[0]), color="black", lw=0.8,
                    ls=(0, (1, 2)))
  ax.set_xlabel("full fixed-point iteration k")
  ax.set_ylabel("gain ||B_k||_2")
  ax.set_title("Encoder gain; black dotted: 10 x gain_1 x beta^-(k-1), lambda=0",
               fontsize=9)
  ax.legend(fontsize=6, ncol=2, loc="lower left")
  ax.tick_params(labelsize=7)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)

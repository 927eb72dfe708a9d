"""Choosing (β, λ) without labels: UDR beside MIG, in the report and on the page.

Real data has no factor labels, so MIG cannot choose its (β, λ); UDR (Duan et al.,
ICLR 2020; :mod:`lbvae.evaluation.udr_cells`) needs none. From the phase-2 cells of
``summary.csv`` (means over seeds), :func:`choices` says which cell each UDR variant
(Lasso, Spearman) chooses (the highest mean), which MIG chooses where there are labels,
and how well each UDR ranking of the cells agrees with MIG's (Spearman's ρ,
:func:`lbvae.evaluation.selection.rank_agreement`); :func:`section` is the report's
section :data:`TITLE`; ``selection_views`` shows the same sentences on the page.

Synopsis::

  lines = udr_choice.section(phase2_summary_rows)      # Markdown lines
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from lbvae import metrics
from lbvae.evaluation import figures
from lbvae.evaluation import selection
from lbvae.metrics import entry

TITLE = "Choosing (β, λ) without labels: UDR (phase 2)"
# column -> label of the registry's UDR entries
COLUMNS = {e.name: e.label for e in metrics.entries(entry.CELLS)}
INTRO = (
  "UDR (Duan et al., 2020) scores a model by how well the other seeds of its "
  "(β, λ) cell recover its code's axes, up to permutation and sign, from the "
  "same images: |Lasso weights| (UDR) or |Spearman ρ| (UDR (Spearman)) between "
  "latents, inactive latents (mean KL ≤ 0.01) left out, median over the other "
  "seeds. It needs no labels; higher is better; a cell's value is the mean over "
  "its seeds (`udr_mean`, `udr_spearman_mean` in `eval/summary.csv`)."
)


def choices(cells: selection.Cells) -> list[str]:
  """Sentences: each UDR variant's chosen cell, MIG's, and their agreement.

  Args:
    cells: the phase-2 cells with means of ``udr``, ``udr_spearman`` and ``mig``.
  """
  out = []
  num = figures.table_number
  for column, label in COLUMNS.items():
    values = cells.mean[column]
    k = selection.highest(values)
    finite = values[np.isfinite(values)]
    if k is None:
      out.append(f"{label} chooses nothing: no cell has a value.")
    elif finite.size > 1 and np.ptp(finite) == 0:
      out.append(f"{label} is {num(values[k])} in every cell: it tells no cell apart.")
    else:
      out.append(
        f"{label} chooses {cells.name(k)} (mean {num(values[k])} over "
        f"{cells.num_seeds[k]} seeds)."
      )
  k = selection.highest(cells.mean["mig"])
  if k is None:
    out.append("No cell has a MIG (no factor labels): UDR is the criterion left.")
    return out
  out.append(
    f"MIG, which needs the labels, chooses {cells.name(k)} (mean "
    f"{num(cells.mean['mig'][k])})."
  )
  for column, label in COLUMNS.items():
    rho, n = selection.rank_agreement(cells.mean[column], cells.mean["mig"])
    if rho == rho:
      out.append(
        f"{label}'s ranking of the cells against MIG's: Spearman ρ = "
        f"{rho:.2f} over {n} cells."
      )
    else:
      why = (
        f"only {n} cells have both"
        if n < 3
        else "one of them is the same in every cell"
      )
      out.append(f"{label}'s ranking of the cells against MIG's: undefined ({why}).")
  return out


def section(summary: Sequence[dict] | None) -> list[str]:
  """The report section's Markdown lines (under :data:`TITLE`).

  Args:
    summary: the phase-2 rows of ``summary.csv`` (None or empty: no phase 2).
  """
  if not summary:
    return [INTRO, "", "No phase-2 cell was evaluated: the choice needs phase 2.", ""]
  cells = selection.cells_from_summary(summary, list(COLUMNS) + ["mig"])
  return [INTRO, ""] + [f"- {c}" for c in choices(cells)] + [""]

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
``report.Page(..., sections=[(TITLE, write(rows, store.EvalPaths(DIR)))])``. NLL is
the trainer's window mean (``nll``), as in the reference's metrics. An undefined view
(no or zero baseline, no finite NLL or MIG, one cell, ...) is skipped and said so,
never filled in. The maths is :mod:`lbvae.evaluation.selection`; the PNG figures are
drawn by :mod:`~lbvae.evaluation.selection_figures`, the page by
:mod:`~lbvae.evaluation.selection_page`; this module writes the CSVs and the report's
section.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from lbvae import files
from lbvae import metrics
from lbvae.evaluation import figures
from lbvae.evaluation import selection
from lbvae.evaluation import selection_figures
from lbvae.evaluation import selection_page
from lbvae.evaluation import store
from lbvae.evaluation import tables
from lbvae.evaluation import udr_choice

NLL = "nll"


def plotted() -> tuple[tuple[str, str, bool], ...]:
  """(column, label, higher is better) of the % change panels: the training NLL,
  then the registry's paper scores (``lbvae.metrics.entries``)."""
  return ((NLL, "NLL (train)", False),) + tuple(
    (e.name, e.label, e.higher_is_better) for e in metrics.entries() if e.paper
  )


TITLE = "Choosing (β, λ): the reference's result views (phase 2)"
BASELINE = (1.0, 0.0)  # (β, λ) of the same-budget baseline cell
STATIC_WEIGHTS = (10, 50, 90)  # reconstruction weights (percent) of the static maps
WEIGHTS = range(101)  # the slider's weights, percent
# How a cell is chosen: one paragraph, on the page and in the report's section.
SCALARISATION = (
  "NLL and MIG are range-normalised over the cells to [0, 1], MIG flipped, so 0 "
  "is the best observed value of each (the utopia point). With weight w on "
  "reconstruction: score = max(w·f_NLL, (1 − w)·f_MIG) + ρ·(w·f_NLL + "
  f"(1 − w)·f_MIG), ρ = {selection.RHO:g}; the outlined cell has the lowest score "
  "(ties: a Pareto-optimal cell, then the smallest β, then λ)."
)
PAGE_INTRO = (
  "Phase 2 of the run, cell means over seeds; NLL is the training-window "
  f"mean. {SCALARISATION} Move the slider to change w."
)


# The views: files and the report section.


def output_files(paths: store.EvalPaths) -> dict[str, str]:
  """The views' output files (absolute paths), by kind."""
  fig = lambda name: os.path.join(paths.figures, f"phase2_{name}.png")
  return {
    "percent_change": fig("percent_change"),
    "pareto": fig("pareto"),
    "tchebycheff": fig("tchebycheff"),
    "page": os.path.join(paths.eval, "selection.html"),
    "csv": os.path.join(paths.eval, "selection.csv"),
    "choices_csv": os.path.join(paths.eval, "selection_choices.csv"),
  }


def _percent_section(cells, out, paths, written) -> tuple[list[str], dict]:
  b = cells.index(*BASELINE)
  lines = ["### % change against the same-budget baseline", ""]
  if b is None:
    return lines + [
      "The phase-2 grid has no β = 1, λ = 0 cell, so there is no "
      "same-budget baseline: the % change maps are not drawn.",
      "",
    ], {}
  changes = {
    c: selection.percent_change(cells.mean[c], cells.mean[c][b])
    for c, _, _ in plotted()
  }
  selection_figures.percent_change_maps(
    cells, changes, plotted(), b, out["percent_change"]
  )
  written.add("percent_change")
  lines += [
    f"Each cell's mean over seeds against the baseline {cells.name(b)} "
    "of phase 2 (the same number of training steps): "
    "change = 100 · (cell − baseline) / |baseline|. Lower NLL is better; "
    "higher MIG, SAP and I_m are better; in the figure blue is better, "
    "red worse, whatever the metric's direction.",
    "",
  ]
  for c, label, _ in plotted():
    if not np.isfinite(changes[c]).any():
      lines += [
        f"- {label}: the baseline's value is {figures.short_number(cells.mean[c][b])}, so "
        "its % change is undefined (empty panel)."
      ]
  if lines[-1] != "":
    lines.append("")
  lines += [f"![% change]({paths.relative(out['percent_change'])})", ""]
  return lines, changes


def _pareto_section(cells, front, out, paths, written) -> list[str]:
  selection_figures.pareto_scatter(
    cells, NLL, "mig", front, out["pareto"], nll_label="NLL (train)"
  )
  written.add("pareto")
  order = np.flatnonzero(front)[np.argsort(cells.mean[NLL][front], kind="stable")]
  lines = [
    "### NLL–MIG Pareto front",
    "",
    "A cell is Pareto-optimal when no other cell has both a lower or equal "
    "NLL and a higher or equal MIG, one of them strictly.",
    "",
    f"![Pareto front]({paths.relative(out['pareto'])})",
    "",
    "| β | λ | NLL (train) | MIG |",
    "|---:|---:|---:|---:|",
  ]
  num = figures.table_number
  lines += [
    f"| {cells.beta[k]:g} | {cells.lam[k]:g} | {num(cells.mean[NLL][k])} "
    f"| {num(cells.mean['mig'][k])} |"
    for k in order
  ]
  return lines + [""]


def _notes(cells, norm) -> list[str]:
  """What makes the selection degenerate, one sentence each."""
  notes = []
  bad = [cells.name(k) for k in np.flatnonzero(~norm.valid)]
  if bad:
    notes.append(
      "Cells without a finite NLL or MIG take no part in the Pareto "
      "front or the choice: " + "; ".join(bad) + "."
    )
  if norm.valid.sum() == 1:
    notes.append(
      "Only one cell has a finite NLL and MIG: it is chosen at every weight, trivially."
    )
  else:
    for name, flat in zip(("NLL", "MIG"), norm.flat):
      if flat and norm.valid.any():
        notes.append(
          f"Every cell has the same {name}: its range is 0, so it is 0 "
          "after normalisation everywhere and does not tell cells "
          "apart."
        )
  return notes


def _tchebycheff_section(
  cells, scores, chosen, notes, out, paths, written
) -> list[str]:
  lines = [
    "### Best (β, λ) by augmented Tchebycheff scalarisation",
    "",
    SCALARISATION,
    "",
  ]
  lines += [f"- {n}" for n in notes] + ([""] if notes else [])
  if all(k is None for k in chosen):
    return lines + ["No cell has a finite NLL and MIG: nothing to choose.", ""]
  selection_figures.tchebycheff_maps(
    cells,
    {p: scores[p] for p in STATIC_WEIGHTS},
    {p: chosen[p] for p in STATIC_WEIGHTS},
    out["tchebycheff"],
  )
  written.add("tchebycheff")
  lines += [f"![Tchebycheff]({paths.relative(out['tchebycheff'])})", ""]
  for p in STATIC_WEIGHTS:
    k = chosen[p]
    lines.append(
      f"- {p} % reconstruction weight: **{cells.name(k)}** (NLL "
      f"{figures.table_number(cells.mean[NLL][k])}, MIG "
      f"{figures.table_number(cells.mean['mig'][k])})"
    )
  runs = selection.choice_runs(chosen, WEIGHTS)
  lines += [
    "",
    "Over the whole slider: "
    + "; ".join(f"{lo}–{hi} %: {cells.name(k)}" for lo, hi, k in runs)
    + ".",
    "",
  ]
  return lines


def _write_tables(cells, changes, front, scores, chosen, out) -> None:
  rows = []
  for k in range(len(cells)):
    row = {
      "beta": cells.beta[k],
      "lambda": cells.lam[k],
      "num_seeds": cells.num_seeds[k],
    }
    row.update({c: cells.mean[c][k] for c, _, _ in plotted()})
    row.update({c: cells.mean[c][k] for c in udr_choice.COLUMNS})
    row.update({f"{c}_pct_change": v[k] for c, v in changes.items()})
    row["pareto"] = int(front[k])
    row.update({f"tchebycheff_w{p}": scores[p][k] for p in STATIC_WEIGHTS})
    rows.append(row)
  columns = (
    ["beta", "lambda", "num_seeds"]
    + [c for c, _, _ in plotted()]
    + list(udr_choice.COLUMNS)
    + [f"{c}_pct_change" for c in changes]
    + ["pareto"]
    + [f"tchebycheff_w{p}" for p in STATIC_WEIGHTS]
  )
  tables.write_csv(out["csv"], columns, rows)
  picks = [
    {
      "weight_percent": p,
      "beta": cells.beta[k],
      "lambda": cells.lam[k],
      "score": scores[p][k],
    }
    for p, k in zip(WEIGHTS, chosen)
    if k is not None
  ]
  tables.write_csv(
    out["choices_csv"], ["weight_percent", "beta", "lambda", "score"], picks
  )


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
      summary, [c for c, _, _ in plotted()] + list(udr_choice.COLUMNS)
    )
    lines += [
      "Cell means over seeds of phase 2 (`eval/summary.csv`); NLL is the "
      "training-window mean. Interactive page, self-contained (open it in "
      f"a browser, no network needed): [{paths.relative(out['page'])}]"
      f"({paths.relative(out['page'])}) — a slider sets the reconstruction "
      "weight from 0 to 100 % and shows the chosen cell. Per-cell numbers: "
      "`eval/selection.csv`; the choice at every weight: "
      "`eval/selection_choices.csv`.",
      "",
    ]
    more, changes = _percent_section(cells, out, paths, written)
    lines += more
    front = selection.pareto_front(cells.mean[NLL], cells.mean["mig"])
    norm = selection.normalise(cells.mean[NLL], cells.mean["mig"])
    scores, chosen = selection.choices(cells.mean[NLL], cells.mean["mig"], WEIGHTS)
    notes = _notes(cells, norm)
    if front.any():
      lines += _pareto_section(cells, front, out, paths, written)
    else:
      lines += [
        "### NLL–MIG Pareto front",
        "",
        "No cell has a finite NLL and MIG: there is no front.",
        "",
      ]
    lines += _tchebycheff_section(cells, scores, chosen, notes, out, paths, written)
    selection_page.write_page(
      cells,
      scores,
      chosen,
      front,
      out["page"],
      nll=NLL,
      nll_label="NLL (train)",
      title="Choosing (β, λ): augmented Tchebycheff scalarisation of NLL and MIG",
      notes=[PAGE_INTRO]
      + notes
      + ["Without labels: " + " ".join(udr_choice.choices(cells))],
    )
    _write_tables(cells, changes, front, scores, chosen, out)
    written |= {"page", "csv", "choices_csv"}
  else:
    lines += ["No phase-2 cell was evaluated: the views need phase 2.", ""]
  for kind, path in out.items():  # no stale view from an earlier pass
    if kind not in written and files.as_path(path).exists():
      files.as_path(path).unlink()
  return lines

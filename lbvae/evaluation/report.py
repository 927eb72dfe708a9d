"""The human-readable page of an evaluation pass: ``DIR/report.md``.

One Markdown page (arXiv 2602.09277, §4 "Reports"): a reading of the run's numbers
in plain words (:mod:`lbvae.evaluation.reading`), what was evaluated and how long it took, problems found (missing or corrupt checkpoints, frozen members), the
mean ± std tables per β (phase 1) and per (β, λ) (phase 2) -- grouped by training
objective (``lbvae.objectives``; β is the objective's strength) --, the box plots
and heat maps, further sections (the selection views of
:mod:`lbvae.evaluation.selection_views`, the collapse curves), the per-model figures of
the first seed inline (links to every model's), and the configuration. Image links
are relative to the report, so the run directory can be moved or published as is.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Sequence

from lbvae import errors
from lbvae import files
from lbvae import metrics
from lbvae import objectives
from lbvae.evaluation import figures
from lbvae.evaluation import keys
from lbvae.evaluation import model_figures
from lbvae.evaluation import reading
from lbvae.evaluation import tables


def table_columns() -> tuple[tuple[str, str], ...]:
  """(column, header) of the summary tables, in order (missing columns are
  skipped): the training means, the registry's labelled scores
  (``lbvae.metrics.entries``), the objectives' own training parts."""
  return (
    tuple((f, objectives.FIELD_LABELS[f]) for f in objectives.REPORTED)
    + tuple((e.name, e.label) for e in metrics.entries() if e.label)
    + objectives.part_labels()
  )


def dataset_line(ds) -> str:
  """The report's line naming the dataset, its size and factors."""
  factors = (
    ", ".join(f"{n} {k}" for n, k in zip(ds.factor_names, ds.factor_sizes)) or "none"
  )
  return f"{ds.name} ({ds.source}): {len(ds)} images, factors {factors}"


def factor_notes(ds, settings: dict) -> list[str]:
  """One line for each group of scores the dataset cannot have, and why."""
  if not ds.num_factors:
    return [
      "No ground-truth factors: MIG, SAP, I_m, DCI, the FactorVAE score and the "
      "MI matrices need them and are absent (NaN, not 0); the held-out NLL and "
      "KL, the per-latent KL, UDR, the collapse curves' KL and active latents, "
      "the reconstructions and the traversals need none."
    ]
  if not ds.covers_grid and (
    settings.get("factor_vae_votes") or settings.get("posterior_samples")
  ):
    return [
      "Some factor combinations have no image, so the FactorVAE votes and the "
      "stratified sample of the posterior-aware MI cannot be drawn: those "
      "scores are NaN."
    ]
  return []


def objective_words(name: str) -> tuple[str, str]:
  """(title, what β holds) of an objective, e.g. ("β-TCVAE", "β (TC weight)")."""
  try:
    o = objectives.make(name)
  except errors.ConfigError:  # not one lbvae knows: name it as it is
    return name, "β"
  return o.title, o.strength_label


def objectives_title(rows: Sequence[dict]) -> str:
  """The titles of the objectives of ``rows``, e.g. "β-VAE" or "β-TCVAE"."""
  names = sorted({tables.objective_of(r) for r in rows}) or [tables.DEFAULT_OBJECTIVE]
  return ", ".join(objective_words(n)[0] for n in names)


def phase_title(phase: int, objective: str) -> str:
  """The heading of a phase's table, e.g. "Phase 2: λβ-VAE (continued from phase 1)"."""
  title = objective_words(objective)[0]
  if phase == 1:
    return f"Phase 1: {title}"
  if objective == tables.DEFAULT_OBJECTIVE:
    return "Phase 2: λβ-VAE (continued from phase 1)"
  return f"Phase {phase}: {title} + λ·E‖x − g(z)‖² (continued from phase 1)"


def summary_table(summary: Sequence[dict], *, with_lambda: bool) -> str:
  """A Markdown table of mean ± std per cell.

  Args:
    summary: rows of ``summary.csv`` of one phase.
    with_lambda: include a λ column (phase 2).

  Returns:
    Markdown text (no trailing newline).
  """
  cols = [(c, h) for c, h in table_columns() if summary and f"{c}_mean" in summary[0]]
  head = ["β"] + (["λ"] if with_lambda else []) + ["seeds"] + [h for _, h in cols]
  lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---:"] * len(head)) + "|"]
  for r in summary:
    cells = [f"{float(r['beta']):g}"]
    if with_lambda:
      cells.append(f"{float(r['lambda']):g}")
    cells.append(str(r["num_seeds"]))
    for c, _ in cols:
      m, s = tables.cell_value(r, f"{c}_mean"), tables.cell_value(r, f"{c}_std")
      cells.append(
        figures.table_number(m)
        if not math.isfinite(s) or r["num_seeds"] < 2
        else f"{figures.table_number(m)} ± {figures.table_number(s)}"
      )
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Page:
  """What report.md shows.

  Attributes:
    workdir: the run directory (shown in the title).
    config: the run's configuration as a plain dict (shown at the end).
    dataset: one line describing the dataset.
    grid_lines: lines describing the evaluated grid.
    timing: one line: how many models, how long.
    problems: one line per problem (skipped checkpoints, frozen members).
    summaries: phase -> its summary rows.
    overview: phase -> paths of its figures (box plots or heat maps, MI matrices),
      relative to the report.
    model_figures: (model key, {figure kind: relative path}) of the scored models
      (kinds of :data:`lbvae.evaluation.model_figures.FIGURES`).
    sections: (title, Markdown lines) of further sections, placed after the phase
      tables and before the per-model figures.
  """

  workdir: str
  config: dict
  dataset: str
  grid_lines: Sequence[str]
  timing: str
  problems: Sequence[str]
  summaries: dict[int, list[dict]]
  overview: dict[int, list[str]]
  model_figures: Sequence[tuple[keys.ModelKey, dict[str, str]]]
  sections: Sequence[tuple[str, Sequence[str]]] = ()


def _opening(page: Page) -> list[str]:
  """The title, the reading, what was evaluated and how long it took, problems,
  the dataset and the grid."""
  names = sorted(
    {tables.objective_of(r) for rows in page.summaries.values() for r in rows}
  ) or [tables.DEFAULT_OBJECTIVE]
  if names == [tables.DEFAULT_OBJECTIVE]:
    what = "β-VAE (phase 1) and λβ-VAE (phase 2)"
  else:
    what = "; ".join(
      f"{objective_words(n)[0]} (phase 1; β is {objective_words(n)[1]}) and the "
      "same objective + λ·E‖x − g(z)‖² (phase 2)"
      for n in names
    )
  out = [f"# λβ-VAE evaluation: `{os.path.basename(files.absolute(page.workdir))}`", ""]
  out += reading.lines(page.summaries, page.config)
  out += [
    f"{what} on the protocol of arXiv 2602.09277, "
    "§4. Scores are means ± std over seeds (`eval/summary.csv`); one row per "
    "model is in `eval/metrics.csv`. NLL, KL and L2 are the training-window "
    "means; the held-out NLL decodes one reparameterised sample of each test "
    "image (the training loss's estimator).",
    "",
    f"*{page.timing}*",
    "",
  ]
  if page.problems:
    out += ["## Problems", ""] + [f"- {p}" for p in page.problems] + [""]
  out += ["## Dataset and grid", "", f"- {page.dataset}"]
  return out + [f"- {line}" for line in page.grid_lines] + [""]


def _phase_tables(page: Page) -> list[str]:
  """Per phase, a table per objective, then the phase's figures."""
  out = []
  for phase in sorted(page.summaries):
    groups: dict[str, list[dict]] = {}
    for r in page.summaries[phase]:
      groups.setdefault(tables.objective_of(r), []).append(r)
    if len(groups) == 1:
      [(name, rows)] = groups.items()
      out += [f"## {phase_title(phase, name)}", ""]
      if name != tables.DEFAULT_OBJECTIVE:
        out += [f"β is {objective_words(name)[1]}.", ""]
      out += [summary_table(rows, with_lambda=phase == 2), ""]
    else:
      out += [f"## Phase {phase}", ""]
      for name, rows in groups.items():
        out += [
          f"### {phase_title(phase, name)}",
          "",
          f"β is {objective_words(name)[1]}.",
          "",
          summary_table(rows, with_lambda=phase == 2),
          "",
        ]
    for k, link in enumerate(page.overview.get(phase, ())):
      out += [f"![phase {phase}, figure {k + 1}]({link})", ""]
  return out


def _model_figures(page: Page) -> list[str]:
  """The first seed's models' inline figures, then a table linking every model's
  (the figures :data:`model_figures.FIGURES` declares)."""
  if not page.model_figures:
    return []
  declared = model_figures.FIGURES
  inline = [f for f in declared if f.inline]
  first_seed = min(k.seed for k, _ in page.model_figures)
  out = [
    "## Per-model figures",
    "",
    f"Inline: every model of seed {first_seed} ("
    + "; ".join(f.inline for f in inline)
    + "). All models are linked in "
    "the table below.",
    "",
  ]
  for key, figs in page.model_figures:
    if key.seed != first_seed:
      continue
    out += [f"### {key.name()}", ""]
    out += [f"![{f.kind}]({figs[f.kind]})" for f in inline if f.kind in figs]
    out.append("")
  out += [
    "### All models",
    "",
    "| model | " + " | ".join(f.caption for f in declared) + " |",
    "|---|" + "---|" * len(declared),
  ]
  for key, figs in page.model_figures:
    links = [f"[{f.link}]({figs[f.kind]})" if f.kind in figs else "–" for f in declared]
    out.append(f"| {key.name()} | " + " | ".join(links) + " |")
  return out + [""]


def write(path: str, page: Page) -> None:
  """Writes the report atomically to ``path`` (``DIR/report.md``)."""
  out = _opening(page) + _phase_tables(page)
  for title, lines in page.sections:
    out += [f"## {title}", ""] + list(lines) + [""]
  out += _model_figures(page)
  out += [
    "## Configuration",
    "",
    "```json",
    json.dumps(page.config, indent=2, sort_keys=True, default=str),
    "```",
    "",
  ]
  files.write_text(path, "\n".join(out))

"""Published metrics kept beside a run, and lbvae's re-evaluation next to them.

A workdir made by ``experiments.import_torch`` from the authors' released models
(arXiv 2602.09277, §4; docs/released_models.md) holds, besides the checkpoints::

  DIR/published_metrics.csv   phase,beta,lambda,seed,nll,kl,loss,mig,sap,im,file
  DIR/published_mi.npz        <model id> -> float64[L, F], the authors' MI matrices

(``<model id>`` as in :attr:`lbvae.evaluation.keys.ModelKey.id`; NaN where the authors'
file has no such metric). The evaluation pass adds their numbers to its model rows as
``published_<metric>`` columns (:func:`merge`) and writes a comparison section into
the report (:func:`section`).

Synopsis::

  released_scores.write(workdir, rows, mi)            # the importer
  table = released_scores.read(workdir)               # None for a trained run
  rows = released_scores.merge(model_rows, table)     # adds published_* columns
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

from lbvae import files
from lbvae import metrics
from lbvae.evaluation import figures
from lbvae.evaluation import keys
from lbvae.evaluation import tables

CSV_NAME = "published_metrics.csv"
MI_NAME = "published_mi.npz"
METRICS = ("nll", "kl", "loss", "mig", "sap", "im")
COLUMNS = tables.KEY_COLUMNS + METRICS + ("file",)
PREFIX = "published_"
# (our column, published column, header) compared in the report: the registry's
# paper scores (their files use our names), then our held-out NLL against theirs.
COMPARED = tuple((e.name, e.name, e.label) for e in metrics.entries() if e.paper) + (
  ("heldout_nll", "nll", "NLL"),
)


def write(workdir: str, rows: Sequence[dict], mi: dict) -> None:
  """Writes ``published_metrics.csv`` (rows with :data:`COLUMNS`) and the MI matrices."""
  tables.write_csv(os.path.join(workdir, CSV_NAME), COLUMNS, rows)
  if mi:
    files.write_npz(
      os.path.join(workdir, MI_NAME),
      **{k: np.asarray(v, np.float64) for k, v in mi.items()},
    )


def read(workdir: str) -> dict[str, dict] | None:
  """model id -> published metrics, or None when the workdir has none."""
  path = os.path.join(workdir, CSV_NAME)
  if not files.as_path(path).exists():
    return None
  return {
    keys.ModelKey.from_row(r).id: {
      m: float(r[m]) if r[m] != "" else math.nan for m in METRICS
    }
    for r in tables.read_csv(path)
  }


def read_mi(workdir: str) -> dict[str, np.ndarray]:
  """model id -> the authors' MI matrix (empty when there are none)."""
  path = os.path.join(workdir, MI_NAME)
  if not files.as_path(path).exists():
    return {}
  return files.read_npz(path)


def merge(rows: Sequence[dict], published: dict[str, dict]) -> list[dict]:
  """The model rows with ``published_<metric>`` added (NaN: a model not published)."""
  out = []
  for row in rows:
    values = published.get(keys.ModelKey.from_row(row).id, {})
    out.append({**row, **{PREFIX + m: values.get(m, math.nan) for m in METRICS}})
  return out


def section(rows: Sequence[dict], *, data_note: str) -> tuple[str, list[str]]:
  """The report section: lbvae's scores next to the published ones, a line per model.

  Args:
    rows: model rows with our metrics and the ``published_*`` columns.
    data_note: one sentence on which data the re-evaluation used.

  Returns:
    (title, Markdown lines) for ``lbvae.evaluation.report.write``'s ``sections``.
  """
  head = ["phase", "β", "λ", "seed"]
  for _, _, h in COMPARED:
    head += [f"{h} lbvae", f"{h} published"]
  title = "The authors' released models: lbvae's re-evaluation and their numbers"
  lines = [
    "The models are the authors' PyTorch state dicts, imported with "
    "`python -m experiments.import_torch` (docs/released_models.md). "
    f'{data_note} "published" is what their metrics file holds '
    f"(`{CSV_NAME}`; their MI matrices are in `{MI_NAME}`); NLL lbvae is the "
    "held-out NLL of this pass, theirs is their file's NLL. The same numbers "
    "are the `published_*` columns of `eval/metrics.csv`. With no training "
    "log to read, the phase tables' NLL and KL are also theirs and L2 is "
    "unknown.",
    "",
    "| " + " | ".join(head) + " |",
    "|" + "|".join(["---:"] * len(head)) + "|",
  ]
  for r in rows:
    cells = [
      str(r["phase"]),
      f"{float(r['beta']):g}",
      f"{float(r['lambda']):g}",
      str(r["seed"]),
    ]
    for ours, theirs, _ in COMPARED:
      cells += [
        figures.table_number(float(r.get(ours, math.nan))),
        figures.table_number(float(r.get(PREFIX + theirs, math.nan))),
      ]
    lines.append("| " + " | ".join(cells) + " |")
  return title, lines


def data_note(config, ds) -> str:
  """One sentence: which images the pass encoded, against the authors' training data.

  Args:
    config: the run's config; an import has ``released.dataset_folder``.
    ds: the dataset the pass used (``name``, ``source``).
  """
  folder = config.get("released", {}).get("dataset_folder", ds.name)
  note = (
    f"The authors trained on the original {folder} images; this pass encoded "
    f"`{ds.name}` from the `{ds.source}` source"
  )
  if ds.source == "procedural":
    return (
      note + ", a procedural re-rendering that is not their training data: "
      "read the gap to their numbers as that difference too, not only as one of "
      "method (evaluate on the original file for a like-for-like check, "
      "docs/released_models.md)."
    )
  return note + "."

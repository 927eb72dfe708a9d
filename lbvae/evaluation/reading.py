"""The reading that opens ``report.md``: what the run's own numbers say, in plain words.

Every sentence is computed from the summary rows of the pass and the run's config:
the β trend of MIG, SAP, I_m and the rate (KL) at λ = 0 (where it peaks, how far the
largest β falls below the peak, whether seeds resolve it); what λ changes at each β;
where the binned and the posterior-aware MI disagree; and how the run's length compares
with the paper's protocol (arXiv 2602.09277, §4; docs/method.md). Nothing is said that
the table does not show: a value that is missing is left out, one seed is called one
seed.

Synopsis::

    lines = reading.lines(summaries, config)     # Markdown lines
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from lbvae import metrics
from lbvae import objectives
from lbvae.evaluation import figures
from lbvae.evaluation import tables
from lbvae.train import config as config_lib

# (column, label) of what λ changes: MIG and I_m, then the training means.
LAMBDA = tuple((c, metrics.find(c).label) for c in ("mig", "im")) + (
  ("kl", "KL"),
  ("nll", "NLL"),
)
# The binned and the posterior-aware I_m disagree where they differ by more than
# this fraction of the larger and by more than DISAGREE_NATS.
DISAGREE_FRACTION = 0.5
DISAGREE_NATS = 0.1


def trend_columns() -> tuple[tuple[str, str], ...]:
  """(column, label) of the scores whose β trend is read: the registry's paper
  scores, then the rate."""
  return tuple((e.name, e.label) for e in metrics.entries() if e.paper) + (
    ("kl", "The rate (KL)"),
  )


def _num(v: float) -> str:
  return figures.short_number(v)


def _cell(row: dict, column: str) -> tuple[float, float]:
  return (
    tables.cell_value(row, f"{column}_mean"),
    tables.cell_value(row, f"{column}_std"),
  )


def _with_spread(mean: float, std: float) -> str:
  return _num(mean) if not math.isfinite(std) else f"{_num(mean)} ± {_num(std)}"


def _resolved(a: tuple[float, float], b: tuple[float, float], seeds: int) -> str:
  """Whether two cell means differ by more than their seeds' spread, in words."""
  if seeds < 2 or not (math.isfinite(a[1]) and math.isfinite(b[1])):
    return "one seed: no spread"
  if abs(a[0] - b[0]) > a[1] + b[1]:
    return "beyond the seed spread"
  return f"within the seed spread of {seeds} seeds"


def _seeds(rows: Sequence[dict]) -> int:
  return min(int(r["num_seeds"]) for r in rows)


def trend(rows: Sequence[dict], column: str, label: str, strength: str) -> str | None:
  """One sentence on how ``column`` moves with β over ``rows`` (one λ, ascending β);
  None when fewer than two β have a value."""
  rows = [r for r in rows if math.isfinite(_cell(r, column)[0])]
  if len(rows) < 2:
    return None
  cells = [_cell(r, column) for r in rows]
  betas = [float(r["beta"]) for r in rows]
  means = np.array([m for m, _ in cells])
  path = " → ".join(f"{_num(m)} ({strength} = {b:g})" for m, b in zip(means, betas))
  steps = np.diff(means)
  peak = int(np.argmax(means))
  if np.all(steps < 0):
    shape = f"falls as {strength} grows: {path}"
  elif np.all(steps > 0):
    shape = f"rises with {strength}: {path}"
  elif (
    0 < peak < len(means) - 1
    and np.all(steps[:peak] >= 0)
    and np.all(steps[peak:] <= 0)
  ):
    shape = f"peaks at {strength} = {betas[peak]:g}: {path}"
  else:
    shape = f"is not monotone in {strength}: {path}"
  text = f"{label} {shape}"
  if peak < len(means) - 1 and means[peak] > 0:
    share = 100 * means[-1] / means[peak]
    text += (
      f"; at the largest {strength} it is {share:.0f} % of its peak "
      f"({_resolved(cells[peak], cells[-1], _seeds(rows))})"
    )
  return text + "."


def _phase1_lines(rows: Sequence[dict], strength: str) -> list[str]:
  rows = sorted(rows, key=lambda r: float(r["beta"]))
  out = [
    s
    for column, label in trend_columns()
    if (s := trend(rows, column, label, strength)) is not None
  ]
  return [f"- {s}" for s in out]


def _lambda_lines(rows: Sequence[dict], strength: str) -> list[str]:
  out, raised, total = [], 0, 0
  for beta in sorted({float(r["beta"]) for r in rows}):
    at = {float(r["lambda"]): r for r in rows if float(r["beta"]) == beta}
    if 0.0 not in at:
      continue
    base = at[0.0]
    for lam in sorted(k for k in at if k > 0):
      r, seeds = at[lam], min(int(at[lam]["num_seeds"]), int(base["num_seeds"]))
      parts = []
      for column, label in LAMBDA:
        a, b = _cell(base, column), _cell(r, column)
        if math.isfinite(a[0]) and math.isfinite(b[0]):
          parts.append(
            f"{label} {_with_spread(*a)} → {_with_spread(*b)}"
            + (f" ({_resolved(a, b, seeds)})" if column == "mig" else "")
          )
          if column == "mig":
            total += 1
            raised += b[0] > a[0]
      if parts:
        out.append(
          f"- {strength} = {beta:g}: λ = {lam:g} against λ = 0: "
          + "; ".join(parts)
          + "."
        )
  if total:
    out.append(f"- λ > 0 raises MIG in {raised} of {total} (β, λ) cells.")
  return out


def _estimator_lines(rows: Sequence[dict], strength: str) -> list[str]:
  """Where the binned I_m of μ and the posterior-aware I_m disagree."""
  both = [
    r
    for r in rows
    if math.isfinite(_cell(r, "im")[0]) and math.isfinite(_cell(r, "im_posterior")[0])
  ]
  if not both:
    return []
  apart = []
  for r in sorted(both, key=lambda r: float(r["beta"])):
    a, b = _cell(r, "im")[0], _cell(r, "im_posterior")[0]
    if abs(a - b) > max(DISAGREE_FRACTION * max(abs(a), abs(b)), DISAGREE_NATS):
      apart.append(
        f"{strength} = {float(r['beta']):g}: binned {_num(a)}, posterior "
        f"{_num(b)} nats (KL {_num(_cell(r, 'kl')[0])})"
      )
  if not apart:
    return [
      f"- The binned I_m of μ and the posterior-aware I_m agree (within "
      f"{100 * DISAGREE_FRACTION:.0f} % or {DISAGREE_NATS:g} nats) at every "
      f"{strength}."
    ]
  return [
    "- The binned I_m of μ and the posterior-aware I_m disagree at "
    + "; ".join(apart)
    + ". Where the rate is low, believe the posterior-aware "
    "one: binning stretches a collapsed latent's small variation of μ to full "
    "scale (docs/method.md §4)."
  ]


def _length_lines(config) -> list[str]:
  paper = config_lib.defaults()
  p1, p2 = int(config.get("phase1_steps", 0)), int(config.get("phase2_steps", 0))
  q1, q2 = paper.phase1_steps, paper.phase2_steps
  if (p1, p2) == (q1, q2):
    return [f"- This run has the paper's length: {p1:,} + {p2:,} steps per model."]
  share = 100 * (p1 + p2) / (q1 + q2)
  return [
    f"- This run trained {p1:,} + {p2:,} steps per model, {share:.2g} % of the "
    f"paper's {q1:,} + {q2:,}. The paper's account is that MIG and SAP peak at "
    "an intermediate β and then collapse as training goes on; a run this much "
    "shorter shows an earlier stage of training, so its β trend need not be the "
    'paper\'s (docs/results.md, "How long until the β trend", measures how long '
    "it takes on procedural dSprites)."
  ]


def lines(summaries: dict[int, list[dict]], config) -> list[str]:
  """The reading, as Markdown lines (a "## Reading" section, blank line at the end).

  Args:
    summaries: phase -> its summary rows (``tables.summarize``).
    config: the run's config (``phase1_steps``, ``phase2_steps``).
  """
  out = ["## Reading", "", "Generated from this run's numbers (the tables below).", ""]
  for phase, rows in sorted(summaries.items()):
    groups: dict[str, list[dict]] = {}
    for r in rows:
      groups.setdefault(tables.objective_of(r), []).append(r)
    for name, group in groups.items():
      title = objectives.make(name).title if name in objectives.NAMES else name
      strength = "β"
      base = [r for r in group if float(r["lambda"]) == 0.0]
      if phase == 1:
        out += [f"**{title}, phase 1 (λ = 0)**, over {strength}:", ""]
        out += _phase1_lines(base, strength) + _estimator_lines(base, strength)
      else:
        body = _lambda_lines(group, strength)
        if body:
          out += [f"**{title}, phase 2: what λ changes** (same budget):", ""] + body
      out.append("")
  return out + ["**The run's length**:", ""] + _length_lines(config) + [""]

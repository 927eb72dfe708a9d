"""Collapse over training, drawn: the collapse probe's records as curves per (β, λ).

Reads both phases' ``phaseN/collapse.csv`` (:mod:`lbvae.train.collapse`: per member and
checkpoint, the rate, the active latents, and MIG / I_m from the binned and the
posterior-aware MI) and draws one panel per quantity against the global step, means
over seeds: one colour and marker per β (the first β's line widest); phase 1 solid,
then one line style per λ, each continuing its β's phase-1 curve. The active-latents
panel spans 0 to L and says so when the count never changes.

What to look for (the paper's claim): at λ = 0 and large β the rate and I_m fall
during phase 1; in phase 2, λ > 0 raises them again while λ = 0 does not.

Synopsis::

  rows = collapse_curves.read(workdir)             # [] when the probe was off
  collapse_curves.draw(rows, "eval/figures/collapse.png")
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from lbvae import files
from lbvae import metrics
from lbvae.evaluation import figures
from lbvae.train import workdir as workdir_lib

# (column, axis label): the rate, then the registry's probed scores.
PANELS = (("kl", "rate: total KL (nats)"),) + tuple(
  (e.name, e.probe_label) for e in metrics.entries() if e.probe_label
)
REPORT_TEXT = [
  "The trainer's collapse probe (`phaseN/collapse.csv`, one row per member and "
  "checkpoint) on a fixed stratified sample: the rate (total KL to the prior, an "
  "upper bound on I(x; z)), the latents whose KL exceeds the threshold, and MIG / "
  "I_m from two MI estimators: the paper's, binning the encoder means, and the "
  "posterior-aware one of Chen et al. (2018), which draws z from q(z|x). A "
  "collapsed latent's mean still varies a little and its bins stretch that to "
  "full scale, so the binned estimate can stay high while the rate says no "
  "information gets through; the posterior estimate cannot exceed the rate."
]
LINE_STYLES = ("--", ":", "-.", (0, (5, 1)), (0, (1, 3)), (0, (3, 1, 1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def read(workdir: str) -> list[dict]:
  """Rows of both phases' ``collapse.csv`` with a ``phase`` field, numbers parsed.

  Args:
    workdir: the trainer's run directory.

  Returns:
    One dict per member and recorded step (empty if the probe was off).
  """
  paths = workdir_lib.Paths(workdir)
  out = []
  for phase in (1, 2):
    path = os.path.join(paths.phase(phase), "collapse.csv")
    if not files.as_path(path).exists():
      continue
    columns = files.read_csv(path)[0]
    for row in files.read_csv(path, numbers=columns)[1]:
      row["phase"] = phase
      out.append(row)
  return out


def _mean_curves(rows: Sequence[dict], key) -> dict:
  """(cell) -> (steps, {quantity: means over seeds}) for rows grouped by ``key``."""
  groups = defaultdict(lambda: defaultdict(list))
  for r in rows:
    groups[key(r)][r["step"]].append(r)
  out = {}
  for cell, by_step in groups.items():
    steps = sorted(by_step)
    out[cell] = (
      np.asarray(steps),
      {
        q: np.asarray([_finite_mean([r[q] for r in by_step[t]]) for t in steps])
        for q, _ in PANELS
      },
    )
  return out


def _finite_mean(values) -> float:
  """The mean of the finite values, NaN when there is none (MIG without factors)."""
  values = np.asarray(values, np.float64)
  finite = values[np.isfinite(values)]
  return float(finite.mean()) if finite.size else float("nan")


def _widths(betas) -> dict:
  """Line width per β, widest first: a later curve drawn on an earlier one leaves
  the earlier one's edges in sight."""
  return {b: 3.6 - 2.2 * i / max(len(betas) - 1, 1) for i, b in enumerate(betas)}


def num_latents(rows: Sequence[dict]) -> int:
  """L: the ``kl_z<i>`` columns of the probe's rows."""
  return sum(1 for k in (rows[0] if rows else {}) if k.startswith("kl_z"))


@figures.styled
def draw(
  rows: Sequence[dict], path: str, title: str = "", *, threshold: float | None = None
) -> None:
  """Draws the curves of :func:`read`'s rows into one PNG (see the module docstring).

  Args:
    rows: from :func:`read` (must not be empty).
    path: output PNG.
    title: figure title.
    threshold: the probe's ``active_threshold`` (nats), named on its panel.
  """
  phase1 = _mean_curves([r for r in rows if r["phase"] == 1], lambda r: r["beta"])
  phase2 = _mean_curves(
    [r for r in rows if r["phase"] == 2], lambda r: (r["beta"], r["lambda"])
  )
  betas = sorted(set(phase1) | {b for b, _ in phase2})
  lams = sorted({lam for _, lam in phase2})
  colours = {b: f"C{i % 10}" for i, b in enumerate(betas)}
  markers = {b: MARKERS[i % len(MARKERS)] for i, b in enumerate(betas)}
  widths = _widths(betas)
  styles = {lam: LINE_STYLES[i % len(LINE_STYLES)] for i, lam in enumerate(lams)}
  dim = num_latents(rows)
  fig = Figure(figsize=(13, 7.6), layout="constrained")
  axes = fig.subplots(2, 3).ravel()
  end1 = max((s[-1] for s, _ in phase1.values()), default=None)
  for ax, (q, label) in zip(axes, PANELS):
    drawn = []
    for b, (steps, values) in sorted(phase1.items()):
      ax.plot(
        steps,
        values[q],
        color=colours[b],
        lw=widths[b],
        marker=markers[b],
        ms=2 * widths[b] + 2,
        mfc="none",
      )
      drawn.append(values[q])
    for (b, lam), (steps, values) in sorted(phase2.items()):
      if b in phase1:  # continue from the parent's last phase-1 point
        s1, v1 = phase1[b]
        steps, series = np.r_[s1[-1], steps], np.r_[v1[q][-1], values[q]]
      else:
        series = values[q]
      ax.plot(
        steps,
        series,
        color=colours[b],
        ls=styles[lam],
        lw=widths[b] * 0.8,
        marker=markers[b],
        ms=2 * widths[b] + 2,
        mfc="none",
        markevery=[-1],
      )
      drawn.append(series)
    if q == "active_latents" and dim:
      ax.set_ylim(-0.5, dim + 0.5)
      values = np.concatenate(drawn) if drawn else np.zeros(0)
      values = values[np.isfinite(values)]
      if values.size and values.min() == values.max():
        ax.text(
          0.5,
          0.5,
          f"{values[0]:g} of {dim} active at every probe,\nfor every model",
          transform=ax.transAxes,
          ha="center",
          va="center",
          bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.7"},
        )
      label = (
        f"{label} of {dim} (KL > {threshold:g} nats)"
        if threshold is not None
        else f"{label} of {dim}"
      )
    if not any(np.isfinite(v).any() for v in drawn):
      ax.text(
        0.5,
        0.5,
        "no values: the dataset has no factors",
        ha="center",
        va="center",
        transform=ax.transAxes,
      )
    if end1 is not None and phase2:
      ax.axvline(end1, color="0.6", lw=0.8)
    ax.set_title(label)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
  handles = [
    axes[0].plot(
      [],
      [],
      color=colours[b],
      lw=widths[b],
      marker=markers[b],
      mfc="none",
      label=f"β={b:g}",
    )[0]
    for b in betas
  ]
  handles += [
    axes[0].plot([], [], color="0.3", ls=styles[lam], label=f"phase 2, λ={lam:g}")[0]
    for lam in lams
  ]
  fig.legend(handles=handles, loc="outside right center")
  fig.suptitle(
    title
    or "collapse over training (means over seeds; phase 1 solid, "
    "phase 2 continues from the grey line)"
  )
  figures.save(fig, path)

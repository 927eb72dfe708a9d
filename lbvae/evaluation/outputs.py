"""The pass's outputs from its per-model results (arXiv 2602.09277, §4 reports).

* :func:`model_figures` — one scored model's MI heat map, reconstruction grid and
  traversals (PNG and GIF), drawn as soon as the model is scored;
* :func:`model_rows` — the rows of ``metrics.csv`` from the cache entries, with the
  trainer's training-window means and one line per problem member;
* :func:`phase_figures` — box plots over β (phase 1), heat maps over (β, λ)
  (phase 2) and the first seed's MI matrices side by side, per phase.

File names come from :mod:`lbvae.evaluation.store`.
"""

from __future__ import annotations

import numpy as np

from lbvae.evaluation import checkpoints
from lbvae.evaluation import compute
from lbvae.evaluation import figures
from lbvae.evaluation import report
from lbvae.evaluation import result_views
from lbvae.evaluation import store
from lbvae.evaluation import tables

# (column, label, higher is better) of the overview figures: the selection views'.
PLOTTED = result_views.METRICS


def key_of(m: dict) -> dict:
  """The ``phase, beta, lambda, seed`` of a member dict."""
  return {k: m[k] for k in tables.KEY_COLUMNS}


def model_figures(paths: store.EvalPaths, key: dict, res: dict, factor_names) -> None:
  """Writes one model's figures from its results (:func:`compute.evaluate_stack`)."""
  name = report.model_name(key)
  figures.mi_heatmap(res["mi"], factor_names, paths.figure(key, "mi"),
                     f"MI (nats), {name}", posterior=res.get("mi_posterior"))
  figures.reconstruction_grid(res["originals"], res["reconstructions"],
                              paths.figure(key, "recon"), name)
  kl = res["kl_per_latent"]
  order = list(np.argsort(-kl, kind="stable"))
  labels = [f"z{i}  KL {kl[i]:.2f}" for i in order]
  figures.traversal_grid(res["traversals"], order, labels,
                         compute.TRAVERSAL_VALUES, paths.figure(key, "traversal"),
                         f"traversals, {name}")
  figures.traversal_gif(res["traversals"], order, paths.figure(key, "gif"))


def model_rows(entries, paths, settings, problems):
  """Rows of ``metrics.csv`` for every model with a valid cache entry.

  Args:
    entries: model id -> (:class:`checkpoints.Phase`, member dict).
    paths: the run's :class:`store.EvalPaths`.
    settings: the evaluation settings entries must match.
    problems: list that one line per diverged member is appended to (a member
      the trainer froze, one with non-finite parameters or held-out NLL: its
      scores are NaN and ``diverged`` is 1).

  Returns:
    (rows sorted by phase, β, λ, seed; [(key, {figure kind: relative path})] of
    the scored models; {model id: float[L, F] MI matrix}; the seconds each
    scored model's evaluation took, None where unknown).
  """
  rows, model_figs, mi, seconds = [], [], {}, []
  for ph, m in sorted(entries.values(), key=lambda e: tables.sort_key(e[1])):
    hit = store.load_entry(paths, m, step=ph.step, settings=settings,
                           checkpoint=ph.fingerprint)
    if hit is None:
      continue
    row = dict(key_of(m), step=ph.step, finite=int(bool(m["finite"])),
               objective=ph.objective)
    row.update(dict.fromkeys(tables.TRAIN_COLUMNS, float("nan")))
    row.update(ph.train_means.get(checkpoints.member_key(m), {}))
    name = report.model_name(m)
    why = _divergence(m, hit["scores"])
    row[tables.DIVERGED] = int(why is not None)
    if why is not None:
      problems.append(f"{name}: diverged ({why}); NaN scores, left out of the "
                      "summary means")
      row.update(dict.fromkeys(tables.SCORE_COLUMNS + tuple(hit["scores"] or ()),
                               float("nan")))
    else:
      row.update(hit["scores"])
      mi[store.model_id(m)] = np.asarray(hit.get("mi"), np.float64)
      seconds.append(hit.get("seconds"))
      model_figs.append((key_of(m), {k: paths.relative(paths.figure(m, k))
                                   for k in store.FIGURE_KINDS}))
    rows.append(row)
  return rows, model_figs, mi, seconds


def _divergence(member: dict, scores: dict | None) -> str | None:
  """Why a member counts as diverged, or None when it does not."""
  if not member["finite"]:
    return (f"frozen by the trainer after a non-finite loss at step "
            f"{member.get('frozen_step')}")
  if scores is None:
    return "non-finite parameters"
  if not np.isfinite(scores.get("heldout_nll", np.nan)):
    return "non-finite held-out NLL"
  return None


def _mi_overviews(rows, mi, paths, factor_names) -> dict[int, str]:
  """Per phase, the MI matrices of the first seed's models on one scale."""
  out = {}
  for phase in sorted({int(r["phase"]) for r in rows}):
    mine = [r for r in rows if int(r["phase"]) == phase]
    seed = min(int(r["seed"]) for r in mine)
    betas = sorted({float(r["beta"]) for r in mine})
    lams = sorted({float(r["lambda"]) for r in mine})
    get = lambda b, lam, p=phase, s=seed: mi.get(store.model_id(
        {"phase": p, "beta": b, "lambda": lam, "seed": s}))
    if phase == 1:      # one row, β across
      grid = [[get(b, 0.0) for b in betas]]
      row_labels = [report.objectives_title(mine)]
      col_labels = [f"β={b:g}" for b in betas]
    else:               # β down, λ across
      grid = [[get(b, lam) for lam in lams] for b in betas]
      row_labels = [f"β={b:g}" for b in betas]
      col_labels = [f"λ={lam:g}" for lam in lams]
    out[phase] = paths.mi_overview(phase, seed)
    figures.mi_grid(grid, row_labels, col_labels, factor_names, out[phase],
                    f"phase {phase}, seed {seed}: MI (nats), latents × factors")
  return out


def phase_figures(rows, summary_by_phase, mi, paths, factor_names) -> dict:
  """Writes the per-phase figures; returns phase -> their paths (relative)."""
  title = report.objectives_title(rows)
  if 1 in summary_by_phase:
    figures.box_over_beta([r for r in rows if int(r["phase"]) == 1], PLOTTED,
                          paths.overview(1), f"phase 1 ({title}): one point per seed")
  if 2 in summary_by_phase:
    lam = "λβ-VAE" if title == "β-VAE" else f"{title} + λ·L2"
    figures.cell_heatmaps(summary_by_phase[2], PLOTTED, paths.overview(2),
                          f"phase 2 ({lam}): mean over seeds")
  mi_figs = _mi_overviews(rows, mi, paths, factor_names)
  return {p: [paths.relative(paths.overview(p))]
          + ([paths.relative(mi_figs[p])] if p in mi_figs else [])
          for p in summary_by_phase}

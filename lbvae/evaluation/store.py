"""Where the evaluation pass keeps its outputs, and its per-model cache.

Layout under a training run's directory ``DIR`` (arXiv 2602.09277, §4 reports)::

  DIR/report.md                               the page a person reads
  DIR/eval/metrics.csv, DIR/eval/summary.csv  the tables (lbvae.evaluation.tables)
  DIR/eval/figures/phase1_boxplots.png        box plots over β (phase 1)
  DIR/eval/figures/phase2_heatmaps.png        heat maps over (β, λ) (phase 2)
  DIR/eval/figures/phaseN_mi_seedS.png        MI matrices of seed S's models
  DIR/eval/figures/models/<id>_mi.png         per model: MI matrix,
  DIR/eval/figures/models/<id>_recon.png        reconstructions,
  DIR/eval/figures/models/<id>_traversal.png    traversals (and .gif)
  DIR/eval/cache/<id>.json                    per model: scores, MI matrix, per-latent
                                              KL, checkpoint step and fingerprint,
                                              settings

``<id>`` is e.g. ``p2_b16_l4_s0`` (phase 2, β = 16, λ = 4, seed 0). A cache entry is
valid when its checkpoint step, the checkpoint's content (its fingerprint: file
sizes and mtimes) and the evaluation settings match and the model's figures exist; anything else (absent, stale, unreadable) means "evaluate again". Writes are
atomic, so an interrupted pass leaves only whole entries.

Synopsis::

  paths = store.EvalPaths("runs/default")
  entry = store.load_entry(paths, key, step=2000, settings=settings,
                           checkpoint=fingerprint)                   # or None
"""

from __future__ import annotations

import os

from lbvae import files

FIGURE_KINDS = ("mi", "recon", "traversal", "gif")


def model_id(key: dict) -> str:
  """File-name stem of a model (``phase, beta, lambda, seed``): ``p2_b16_l4_s0``."""
  return (f"p{int(key['phase'])}_b{float(key['beta']):g}_"
          f"l{float(key['lambda']):g}_s{int(key['seed'])}")


class EvalPaths:
  """File names of the pass's outputs under a run directory (see module docstring)."""

  def __init__(self, workdir: str):
    self.root = files.absolute(workdir)
    self.eval = os.path.join(self.root, "eval")
    self.cache = os.path.join(self.eval, "cache")
    self.figures = os.path.join(self.eval, "figures")
    self.models = os.path.join(self.figures, "models")
    self.report = os.path.join(self.root, "report.md")
    self.metrics_csv = os.path.join(self.eval, "metrics.csv")
    self.summary_csv = os.path.join(self.eval, "summary.csv")

  def figure(self, key: dict, kind: str) -> str:
    """A per-model figure: ``kind`` in :data:`FIGURE_KINDS`."""
    ext = "gif" if kind == "gif" else "png"
    name = "traversal" if kind == "gif" else kind
    return os.path.join(self.models, f"{model_id(key)}_{name}.{ext}")

  def overview(self, phase: int) -> str:
    """The box-plot (phase 1) or heat-map (phase 2) figure."""
    name = "boxplots" if phase == 1 else "heatmaps"
    return os.path.join(self.figures, f"phase{phase}_{name}.png")

  def mi_overview(self, phase: int, seed: int) -> str:
    """The MI matrices of one seed's models of a phase, side by side."""
    return os.path.join(self.figures, f"phase{phase}_mi_seed{seed}.png")

  @property
  def collapse(self) -> str:
    """The collapse curves (``lbvae.evaluation.collapse_curves``)."""
    return os.path.join(self.figures, "collapse.png")

  def entry(self, key: dict) -> str:
    return os.path.join(self.cache, f"{model_id(key)}.json")

  def relative(self, path: str) -> str:
    """``path`` relative to the run directory (for links in the report)."""
    return os.path.relpath(path, self.root)


def load_entry(paths: EvalPaths, key: dict, *, step: int, settings: dict,
               checkpoint: str):
  """A model's cache entry, or None when absent, stale, unreadable or incomplete.

  Args:
    paths: the run's :class:`EvalPaths`.
    key: the model (``phase, beta, lambda, seed``).
    step: the checkpoint step the entry must come from.
    settings: the evaluation settings it must have been computed with.
    checkpoint: the checkpoint's fingerprint it must have been computed from.

  Returns:
    The entry dict (``scores`` is None for a model with non-finite parameters),
    or None.
  """
  try:
    entry = files.read_json(paths.entry(key))
  except (OSError, ValueError):
    return None
  if not isinstance(entry, dict):
    return None
  if (entry.get("step") != step or entry.get("settings") != settings
      or entry.get("checkpoint") != checkpoint):
    return None
  if entry.get("scores") is not None and not all(
      files.as_path(paths.figure(key, k)).exists() for k in FIGURE_KINDS):
    return None
  return entry


def save_entry(paths: EvalPaths, key: dict, *, step: int, settings: dict,
               checkpoint: str, scores: dict | None, mi=None, kl_per_latent=None,
               seconds: float | None = None, mi_posterior=None) -> None:
  """Writes a model's cache entry (``scores=None``: not scorable).

  ``seconds`` is the wall time its evaluation took (its share of the seed's
  samples, encoding and metrics, plus its own figures).
  """
  entry = {"key": {k: key[k] for k in ("phase", "beta", "lambda", "seed")},
           "step": step, "checkpoint": checkpoint, "settings": settings,
           "scores": scores,
           "seconds": seconds}
  if mi is not None:
    entry["mi"] = [[float(v) for v in row] for row in mi]
  if mi_posterior is not None:
    entry["mi_posterior"] = [[float(v) for v in row] for row in mi_posterior]
  if kl_per_latent is not None:
    entry["kl_per_latent"] = [float(v) for v in kl_per_latent]
  files.write_json(paths.entry(key), entry)

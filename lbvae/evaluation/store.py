"""Where the evaluation pass keeps its outputs, and its per-model cache.

Layout under a training run's directory ``DIR`` (arXiv 2602.09277, §4 reports)::

  DIR/report.md, DIR/eval/{metrics,summary}.csv   the page; the tables (tables.py)
  DIR/eval/figures/phase1_boxplots.png, phase2_heatmaps.png, phaseN_mi_seedS.png
  DIR/eval/figures/models/<id>_<file>   per model: model_figures.FIGURES
  DIR/eval/cache/<id>.json   per model: scores, MI, per-latent KL, step, fingerprint, settings
  DIR/eval/cache/<id>.codes.npz    per model: the encoder means it was scored on
  DIR/eval/cache/<id>.shared.npz   per model: codes float32[N, L], kl float64[L] of the
                                   images all models share (UDR)

``<id>`` is e.g. ``p2_b16_l4_s0`` (:attr:`keys.ModelKey.id`). A model is named by a ``ModelKey``, a
``PhaseMember`` or a row with ``phase, beta, lambda, seed`` (:func:`keys.key_of`).
A cache entry (:class:`CacheEntry`) is valid when its checkpoint step, the checkpoint's
content (its fingerprint: file sizes and mtimes) and the evaluation settings match
and the model's figures (no MI figure for a dataset without factors) and, when the
pass asks for UDR, its codes of that many shared images exist; else "evaluate
again". Writes are
atomic. Synopsis::

  paths = store.EvalPaths("runs/default")
  entry = store.load_entry(paths, key, step=2000, settings=settings,
                           checkpoint=fingerprint)        # an CacheEntry, or None
  entry.scores["mig"], entry.mi                           # float, float64[L, F]
"""

from __future__ import annotations

import dataclasses
import os
import zipfile

import numpy as np

from lbvae import files
from lbvae.evaluation import keys
from lbvae.evaluation import model_figures


def _matrix(rows) -> np.ndarray | None:
  """JSON lists as a float64 array (None stays None)."""
  return None if rows is None else np.asarray(rows, np.float64)


def _json_floats(values) -> list | None:
  """A vector or matrix as JSON lists of floats (None stays None)."""
  if values is None:
    return None
  values = np.asarray(values, np.float64)
  if values.ndim > 1:
    return [_json_floats(v) for v in values]
  return [float(v) for v in values]


@dataclasses.dataclass(frozen=True)
class CacheEntry:
  """A model's cache entry (``DIR/eval/cache/<id>.json``).

  Attributes:
    key: the model.
    step: the checkpoint step it was computed from.
    checkpoint: that checkpoint's fingerprint.
    settings: the evaluation settings it was computed with.
    scores: metric -> float, or None for a model that was not scorable.
    seconds: the wall time its evaluation took (its share of the seed's samples,
      encoding and metrics, plus its own figures), or None.
    mi, mi_posterior: float64[L, F] MI matrices, or None.
    kl_per_latent: float64[L], or None.
  """

  key: keys.ModelKey
  step: int
  checkpoint: str
  settings: dict
  scores: dict | None
  seconds: float | None = None
  mi: np.ndarray | None = None
  mi_posterior: np.ndarray | None = None
  kl_per_latent: np.ndarray | None = None

  def __getitem__(self, name: str):
    """A field by its JSON key, e.g. ``entry["scores"]``."""
    return getattr(self, name)

  def to_json(self) -> dict:
    """The JSON object: ``key, step, checkpoint, settings, scores, seconds``, then
    ``mi, mi_posterior, kl_per_latent`` where present."""
    out = {
      "key": self.key.as_row(),
      "step": self.step,
      "checkpoint": self.checkpoint,
      "settings": self.settings,
      "scores": self.scores,
      "seconds": self.seconds,
    }
    for name in ("mi", "mi_posterior", "kl_per_latent"):
      if getattr(self, name) is not None:
        out[name] = _json_floats(getattr(self, name))
    return out

  @classmethod
  def from_json(cls, obj: dict) -> "CacheEntry":
    """The entry of a JSON object written by :meth:`to_json`.

    Raises:
      KeyError, TypeError, ValueError: ``obj`` is not such an object.
    """
    return cls(
      key=keys.ModelKey.from_row(obj["key"]),
      step=obj["step"],
      checkpoint=obj["checkpoint"],
      settings=obj["settings"],
      scores=obj["scores"],
      seconds=obj.get("seconds"),
      mi=_matrix(obj.get("mi")),
      mi_posterior=_matrix(obj.get("mi_posterior")),
      kl_per_latent=_matrix(obj.get("kl_per_latent")),
    )


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

  def figure(self, model: keys.ModelLike, kind: str) -> str:
    """A per-model figure: ``kind`` of :data:`model_figures.FIGURES`."""
    return os.path.join(
      self.models, f"{keys.key_of(model).id}_{model_figures.find(kind).file}"
    )

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

  def entry(self, model: keys.ModelLike) -> str:
    return os.path.join(self.cache, f"{keys.key_of(model).id}.json")

  def codes(self, model: keys.ModelLike) -> str:
    """The encoder means of a model's evaluation samples (:func:`save_codes`)."""
    return os.path.join(self.cache, f"{keys.key_of(model).id}.codes.npz")

  def shared(self, model: keys.ModelLike) -> str:
    """The model's codes of the shared images (UDR)."""
    return os.path.join(self.cache, f"{keys.key_of(model).id}.shared.npz")

  def relative(self, path: str) -> str:
    """``path`` relative to the run directory (for links in the report)."""
    return os.path.relpath(path, self.root)


def load_entry(
  paths: EvalPaths,
  model: keys.ModelLike,
  *,
  step: int,
  settings: dict,
  checkpoint: str,
  shared_rows: int = 0,
) -> CacheEntry | None:
  """A model's cache entry, or None when absent, stale, unreadable or incomplete.

  Args:
    paths: the run's :class:`EvalPaths`.
    model: the model.
    step: the checkpoint step the entry must come from.
    settings: the evaluation settings it must have been computed with.
    checkpoint: the checkpoint's fingerprint it must have been computed from.
    shared_rows: the number of shared images (UDR) whose codes a scored model's
      entry must hold (0: none needed).

  Returns:
    The :class:`CacheEntry` (``scores`` is None for a model with non-finite
    parameters), or None.
  """
  try:
    entry = CacheEntry.from_json(files.read_json(paths.entry(model)))
  except (OSError, ValueError, KeyError, TypeError):
    return None
  if entry.step != step or entry.settings != settings or entry.checkpoint != checkpoint:
    return None
  if entry.scores is not None and not all(
    files.as_path(paths.figure(model, k)).exists()
    for k in model_figures.kinds(entry.mi)
  ):
    return None
  if entry.scores is not None and shared_rows:
    shared = load_shared(paths, model)
    if shared is None or shared[0].shape[0] != shared_rows:
      return None
  return entry


def _read_arrays(path: str, names: tuple[str, ...]) -> tuple[np.ndarray, ...] | None:
  """The arrays ``names`` of a cache ``.npz``, or None when it is absent or damaged."""
  try:
    arrays = files.read_npz(path)
    return tuple(arrays[n] for n in names)
  except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
    return None


def load_shared(
  paths: EvalPaths, model: keys.ModelLike
) -> tuple[np.ndarray, np.ndarray] | None:
  """A model's (codes float32[N, L], kl float64[L]) of the shared images, or None."""
  return _read_arrays(paths.shared(model), ("codes", "kl"))


def save_entry(
  paths: EvalPaths,
  model: keys.ModelLike,
  *,
  step: int,
  settings: dict,
  checkpoint: str,
  scores: dict | None,
  mi=None,
  kl_per_latent=None,
  seconds: float | None = None,
  mi_posterior=None,
  shared: tuple[np.ndarray, np.ndarray] | None = None,
  codes: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
  """Writes a model's cache :class:`CacheEntry` (``scores=None``: not scorable), and
  first the arrays it serves: ``shared`` (codes, kl) of the shared images and
  ``codes`` (float32[N, L] train, float32[M, L] test) the scores were computed on
  (:func:`load_codes`), where given."""
  if shared is not None:
    files.write_npz(
      paths.shared(model),
      codes=np.asarray(shared[0], np.float32),
      kl=np.asarray(shared[1], np.float64),
    )
  if codes is not None:
    files.write_npz(
      paths.codes(model),
      codes_train=np.asarray(codes[0], np.float32),
      codes_test=np.asarray(codes[1], np.float32),
    )
  entry = CacheEntry(
    key=keys.key_of(model),
    step=step,
    checkpoint=checkpoint,
    settings=settings,
    scores=scores,
    seconds=seconds,
    mi=mi,
    mi_posterior=mi_posterior,
    kl_per_latent=kl_per_latent,
  )
  files.write_json(paths.entry(model), entry.to_json())


def load_codes(
  paths: EvalPaths,
  model: keys.ModelLike,
  *,
  step: int,
  settings: dict,
  checkpoint: str,
  latent_dim: int,
) -> tuple[np.ndarray, np.ndarray] | None:
  """The (train, test) codes the pass scored for ``model``, or None unless its cache
  entry is valid (:func:`load_entry`) and the codes file holds float32 arrays of
  the settings' sample sizes and ``latent_dim`` columns."""
  entry = load_entry(paths, model, step=step, settings=settings, checkpoint=checkpoint)
  if entry is None or entry.scores is None:
    return None
  stored = _read_arrays(paths.codes(model), ("codes_train", "codes_test"))
  if stored is None:
    return None
  sizes = (settings["num_train"], settings["num_test"])
  if any(
    a.dtype != np.float32 or a.shape != (n, latent_dim) for a, n in zip(stored, sizes)
  ):
    return None
  return stored

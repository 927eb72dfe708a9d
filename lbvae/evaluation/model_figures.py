"""The per-model figures, each declared once: kind, file, caption and how it is drawn.

The pass draws every figure of :data:`FIGURES` for each scored model as soon as it is
scored (:func:`draw`), its cache entry is valid only while they all exist
(:mod:`lbvae.evaluation.store`), and report.md shows the inline ones for the first
seed and links every one per model (:mod:`lbvae.evaluation.report`). A figure that
needs factors (the MI heat map) is not drawn for a dataset without them (:func:`kinds`).
A new figure is one :class:`ModelFigure` line here and its drawing function.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from lbvae.evaluation import compute
from lbvae.evaluation import figures


@dataclasses.dataclass(frozen=True)
class ModelFigure:
  """One per-model figure.

  Attributes:
    kind: its name in the cache's checks and the report's links.
    file: its file name after the model's id (``<id>_<file>``, under
      ``DIR/eval/figures/models``); the extension is the report's link text.
    caption: its column in the report's table of every model's figures.
    inline: what the report says of it where it shows it inline (the first
      seed's models), or "" when it only links it.
    needs_factors: drawn only for a dataset with factors.
    draw: ``(path, result, factor_names, title)`` draws it from a
      :class:`lbvae.evaluation.compute.ModelResult`.
  """

  kind: str
  file: str
  caption: str
  inline: str
  needs_factors: bool
  draw: Callable[[str, compute.ModelResult, Sequence[str], str], None]

  @property
  def link(self) -> str:
    """The report's link text: the file's extension."""
    return self.file.rsplit(".", 1)[1]


def _mi(path, result, factor_names, title) -> None:
  figures.mi_heatmap(
    result.mi, factor_names, path, f"MI (nats), {title}", posterior=result.mi_posterior
  )


def _reconstructions(path, result, factor_names, title) -> None:
  del factor_names
  figures.reconstruction_grid(
    result.images.originals, result.images.reconstructions, path, title
  )


def _by_kl(result) -> list[int]:
  """The latents, largest mean KL first."""
  return list(np.argsort(-result.kl_per_latent, kind="stable"))


def _traversal(path, result, factor_names, title) -> None:
  del factor_names
  order, kl = _by_kl(result), result.kl_per_latent
  figures.traversal_grid(
    result.images.traversals,
    order,
    [f"z{i}  KL {kl[i]:.2f}" for i in order],
    compute.TRAVERSAL_VALUES,
    path,
    f"traversals, {title}",
  )


def _animation(path, result, factor_names, title) -> None:
  del factor_names, title
  figures.traversal_gif(result.images.traversals, _by_kl(result), path)


FIGURES = (
  ModelFigure("mi", "mi.png", "MI", "MI matrix in nats, latents × factors", True, _mi),
  ModelFigure(
    "recon",
    "recon.png",
    "reconstructions",
    "8 × 8 test images and reconstructions",
    False,
    _reconstructions,
  ),
  ModelFigure(
    "traversal",
    "traversal.png",
    "traversal",
    "latent traversals, latents sorted by KL, values −2.5…2.5 with the "
    "others at the code of one test image",
    False,
    _traversal,
  ),
  ModelFigure("gif", "traversal.gif", "animation", "", False, _animation),
)


def find(kind: str) -> ModelFigure:
  """The figure of ``kind`` (KeyError for an undeclared one)."""
  return {f.kind: f for f in FIGURES}[kind]


def kinds(mi) -> tuple[str, ...]:
  """The figures a scored model has: none that needs factors when its MI matrix
  (float[L, F]) has no factor column."""
  without_factors = (
    mi is not None and np.asarray(mi).ndim == 2 and np.asarray(mi).shape[1] == 0
  )
  return tuple(f.kind for f in FIGURES if not (f.needs_factors and without_factors))


def draw(paths, key, result: compute.ModelResult, factor_names) -> None:
  """Draws one scored model's figures (``paths``: its run's
  :class:`~lbvae.evaluation.store.EvalPaths`; ``key``: its ``ModelKey``)."""
  for kind in kinds(result.mi):
    find(kind).draw(paths.figure(key, kind), result, factor_names, key.name())

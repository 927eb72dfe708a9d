"""The figures of the evaluation report (arXiv 2602.09277, §4 and its Figs. 3–5).

* :func:`box_over_beta` — per-seed values of a few metrics as box plots over β
  (phase 1), points overlaid (with few seeds a box alone hides them);
* :func:`cell_heatmaps` — mean over seeds on the (β, λ) grid, value printed in each
  cell (phase 2);
* :func:`mi_heatmap` — one model's MI matrix, latents × factors, annotated (nats);
* :func:`mi_grid` — many models' MI matrices on one scale (collapse at a glance);
* :func:`reconstruction_grid` — 8 × 8 test images beside their reconstructions;
* :func:`traversal_grid` / :func:`traversal_gif` — decoder outputs as one latent
  sweeps a range of values while the others stay at a base code.

Everything uses matplotlib's object-oriented API on the Agg canvas (no pyplot
state), draws inside :func:`styled` (one house style: every text at least
:data:`MIN_FONT_PT` points at the saved :data:`DPI`, no offset tick labels) and
writes atomically through :func:`lbvae.files.write_bytes` (rendered in memory, so a
URL workdir works too). Maps of a quality share one colour direction: brighter is
better (:func:`better_cmap`, :data:`BETTER`).
"""

from __future__ import annotations

import functools
import io
import math
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from lbvae import files

DPI = 100  # pixels per inch of every saved PNG
MIN_FONT_PT = 9.0  # the smallest text of any figure, in points at DPI
# The house style: text readable at 100 % zoom, plain tick labels (no "+2.8e3"
# offsets, which hide the values of flat metrics).
STYLE = {
  "font.size": 10.0,
  "axes.titlesize": 10.0,
  "axes.labelsize": 10.0,
  "xtick.labelsize": MIN_FONT_PT,
  "ytick.labelsize": MIN_FONT_PT,
  "legend.fontsize": MIN_FONT_PT,
  "legend.title_fontsize": MIN_FONT_PT,
  "figure.titlesize": 11.0,
  "axes.formatter.useoffset": False,
  "savefig.dpi": DPI,
}
CELL_FONT_PT = MIN_FONT_PT  # values printed inside heat-map cells
BETTER = "better: bright"  # colour-bar note of every quality map


def styled(draw):
  """Runs a drawing function under :data:`STYLE` (rcParams are read as artists
  are made, so the style must hold while the figure is built and saved)."""

  @functools.wraps(draw)
  def wrapper(*args, **kwargs):
    with matplotlib.rc_context(STYLE):
      return draw(*args, **kwargs)

  return wrapper


def better_cmap(higher_is_better: bool) -> str:
  """The colormap of a quality map: brighter is better either way."""
  return "viridis" if higher_is_better else "viridis_r"


def cell_shade(v: float, lo: float, hi: float, higher_is_better: bool) -> float:
  """Where ``v`` falls on :func:`better_cmap`'s brightness, 0 (dark) to 1 (bright)."""
  if not math.isfinite(v) or not hi > lo:
    return 0.0
  t = (v - lo) / (hi - lo)
  return t if higher_is_better else 1.0 - t


def print_cells(ax, text, dark_text) -> None:
  """Writes ``text[i][j]`` at the centre of each heat-map cell at
  :data:`CELL_FONT_PT`: black where ``dark_text[i][j]`` (a light cell), white
  elsewhere."""
  for i, row in enumerate(text):
    for j, t in enumerate(row):
      ax.text(
        j,
        i,
        t,
        ha="center",
        va="center",
        fontsize=CELL_FONT_PT,
        color="black" if dark_text[i][j] else "white",
      )


def save(fig: Figure, path: str) -> None:
  """Writes ``fig`` as a PNG at :data:`DPI` atomically (:func:`lbvae.files.write_bytes`)."""
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
  files.write_bytes(path, buffer.getvalue())


def short_number(v: float, *, table: bool = False) -> str:
  """A number in few characters ("–" for NaN or inf).

  Figure cells (default) keep 3 significant digits down to 1 and 3 decimals below;
  ``table`` cells of the report keep one more digit from 10 up.
  """
  if not math.isfinite(v):
    return "–"
  a = abs(v)
  if a >= 100:
    return f"{v:.1f}" if table else f"{v:.0f}"
  if a >= 10:
    return f"{v:.2f}" if table else f"{v:.1f}"
  if a >= 1:
    return f"{v:.2f}"
  return f"{v:.3f}"


def table_number(v: float) -> str:
  """:func:`short_number` of a report table cell."""
  return short_number(v, table=True)


def axis_value(v: float) -> str:
  """A grid value (β, λ) as a tick label: ``4.0`` -> ``4``."""
  return f"{float(v):g}"


def tile(images: np.ndarray, rows: int, cols: int, pad: int = 2) -> np.ndarray:
  """Tiles images into one mosaic.

  Args:
    images: float[rows * cols, H, W, C] in [0, 1] (fewer are padded with white).
    rows, cols: mosaic layout, row-major.
    pad: pixels of white between tiles.

  Returns:
    float32[rows * (H + pad) - pad, cols * (W + pad) - pad, C].
  """
  images = np.asarray(images, np.float32)
  n, h, w, c = images.shape
  out = np.ones((rows * (h + pad) - pad, cols * (w + pad) - pad, c), np.float32)
  for k in range(min(n, rows * cols)):
    r, q = divmod(k, cols)
    out[r * (h + pad) : r * (h + pad) + h, q * (w + pad) : q * (w + pad) + w] = images[
      k
    ]
  return out


def _show(ax, mosaic: np.ndarray) -> None:
  if mosaic.shape[-1] == 1:
    ax.imshow(mosaic[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
  else:
    ax.imshow(np.clip(mosaic, 0.0, 1.0), interpolation="nearest")


@styled
def box_over_beta(
  rows: Sequence[dict], metrics: Sequence[tuple[str, str, bool]], path: str, title: str
) -> None:
  """Box plots over β of per-model values, one panel per metric.

  A β with fewer than two finite values gets its points only: a box of one value
  is a flat line that reads as "no spread".

  Args:
    rows: model rows with ``beta`` and the metric columns (one per seed).
    metrics: (column, axis label, higher is better) triples, e.g.
      ``[("mig", "MIG", True)]``.
    path: output PNG.
    title: figure title.
  """
  betas = sorted({float(r["beta"]) for r in rows})
  fig = Figure(figsize=(3.6 * len(metrics), 3.4), layout="constrained")
  rng = np.random.default_rng(0)
  for k, (col, label, higher) in enumerate(metrics):
    ax = fig.add_subplot(1, len(metrics), k + 1)
    data = []
    for b in betas:
      v = np.asarray([float(r.get(col, np.nan)) for r in rows if float(r["beta"]) == b])
      data.append(v[np.isfinite(v)])
    boxed = [i for i, v in enumerate(data) if v.size >= 2]
    if boxed:
      ax.boxplot([data[i] for i in boxed], positions=boxed, widths=0.6)
    for i, v in enumerate(data):
      jitter = rng.uniform(-0.12, 0.12, v.size) if v.size >= 2 else np.zeros(v.size)
      ax.scatter(
        i + jitter, v, s=28 if v.size < 2 else 12, alpha=0.8, color="tab:blue", zorder=3
      )
    ax.set_xticks(range(len(betas)), [axis_value(b) for b in betas])
    ax.set_xlim(-0.6, len(betas) - 0.4)
    ax.set_xlabel("β")
    ax.set_title(f"{label} ({'↑' if higher else '↓'} is better)")
    ax.grid(axis="y", alpha=0.3)
  fig.suptitle(title)
  save(fig, path)


@styled
def cell_heatmaps(
  summary: Sequence[dict],
  metrics: Sequence[tuple[str, str, bool]],
  path: str,
  title: str,
) -> None:
  """Heat maps over (β, λ) of cell means, one panel per metric, values printed.

  Brighter is better in every panel (:func:`better_cmap`).

  Args:
    summary: summary rows (``beta``, ``lambda``, ``<col>_mean``).
    metrics: (column, label, higher is better) triples.
    path: output PNG.
    title: figure title.
  """
  betas = sorted({float(r["beta"]) for r in summary})
  lams = sorted({float(r["lambda"]) for r in summary})
  fig = Figure(
    figsize=(
      0.9 * len(lams) * len(metrics) + 1.9 * len(metrics),
      0.7 * len(betas) + 1.8,
    ),
    layout="constrained",
  )
  for k, (col, label, higher) in enumerate(metrics):
    grid = np.full((len(betas), len(lams)), np.nan)
    for r in summary:
      grid[betas.index(float(r["beta"])), lams.index(float(r["lambda"]))] = float(
        r[f"{col}_mean"]
      )
    ax = fig.add_subplot(1, len(metrics), k + 1)
    finite = grid[np.isfinite(grid)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    flat = hi - lo <= 1e-6 * max(abs(lo), abs(hi), 1e-30)  # rounding noise only
    if flat:
      hi = lo
    im = ax.imshow(
      np.ma.masked_invalid(grid),
      cmap=better_cmap(higher),
      vmin=lo,
      vmax=hi if hi > lo else lo + 1e-9,
      aspect="auto",
    )
    print_cells(
      ax,
      [[short_number(v) for v in row] for row in grid],
      [[cell_shade(v, lo, hi, higher) > 0.6 for v in row] for row in grid],
    )
    ax.set_xticks(range(len(lams)), [axis_value(v) for v in lams])
    ax.set_yticks(range(len(betas)), [axis_value(v) for v in betas])
    ax.set_xlabel("λ")
    ax.set_ylabel("β")
    ax.set_title(f"{label} ({'↑' if higher else '↓'} is better)")
    bar = fig.colorbar(
      im,
      ax=ax,
      fraction=0.046,
      pad=0.04,
      label=f"{BETTER} (all cells equal)" if flat else BETTER,
    )
    if flat:
      bar.set_ticks([lo], labels=[short_number(lo)])
  fig.suptitle(title)
  save(fig, path)


def _latent_ticks(ax, num_latents: int, labelled: bool = True) -> None:
  """One y tick per latent, each labelled ``z<i>`` (or none, for a panel whose
  left neighbour carries them)."""
  ax.set_yticks(
    range(num_latents), [f"z{i}" for i in range(num_latents)] if labelled else []
  )


@styled
def mi_heatmap(
  mi: np.ndarray,
  factor_names: Sequence[str],
  path: str,
  title: str,
  posterior: np.ndarray | None = None,
) -> None:
  """One model's MI matrix as an annotated heat map (two, side by side, with the
  posterior-aware estimate).

  Args:
    mi: float[L, F] binned plug-in MI of the encoder means, in nats.
    factor_names: F names.
    path: output PNG.
    title: figure title.
    posterior: optional float[L, F] posterior-aware MI (Chen et al., 2018), drawn
      on the same colour scale to the right.
  """
  panels = [("binned μ (paper)", np.asarray(mi, np.float64))]
  if posterior is not None:
    panels.append(("posterior z ~ q(z|x)", np.asarray(posterior, np.float64)))
  num_latents, num_factors = panels[0][1].shape
  fig = Figure(
    figsize=(len(panels) * (1.1 * num_factors + 1.2) + 0.8, 0.38 * num_latents + 1.9),
    layout="constrained",
  )
  finite = [m[np.isfinite(m)] for _, m in panels]
  hi = max([float(f.max()) for f in finite if f.size] or [1.0])
  axes = [fig.add_subplot(1, len(panels), k + 1) for k in range(len(panels))]
  for k, (ax, (name, m)) in enumerate(zip(axes, panels)):
    im = ax.imshow(m, cmap="magma", vmin=0.0, vmax=max(hi, 1e-6), aspect="auto")
    print_cells(
      ax, [[short_number(v) for v in row] for row in m], np.isfinite(m) & (m > 0.6 * hi)
    )
    ax.set_xticks(range(num_factors), list(factor_names), rotation=30, ha="right")
    _latent_ticks(ax, num_latents, labelled=k == 0)
    ax.set_title(name if len(panels) > 1 else title)
  if len(panels) > 1:
    fig.suptitle(title)
  fig.colorbar(im, ax=axes, fraction=0.046, pad=0.04, label="MI (nats)")
  save(fig, path)


@styled
def mi_grid(
  matrices: Sequence[Sequence[np.ndarray | None]],
  row_labels: Sequence[str],
  col_labels: Sequence[str],
  factor_names: Sequence[str],
  path: str,
  title: str,
) -> None:
  """Many models' MI matrices side by side, on one colour scale.

  Informational collapse (arXiv 2602.09277) shows as columns of the grid going
  dark: every latent–factor MI near 0. Every latent and factor tick is labelled;
  the colour bar spans all rows.

  Args:
    matrices: rows × cols of float[L, F] (nats), or None for an empty panel.
    row_labels, col_labels: panel labels (e.g. β down, λ across).
    factor_names: F names (x tick labels of the bottom row).
    path: output PNG.
    title: figure title.
  """
  rows, cols = len(row_labels), len(col_labels)
  shapes = [m.shape for r in matrices for m in r if m is not None]
  num_latents = shapes[0][0] if shapes else 1
  finite = [m[np.isfinite(m)] for r in matrices for m in r if m is not None]
  hi = max([float(f.max()) for f in finite if f.size] + [1e-6])
  # A latent row and a factor column each get room for one 9-pt label.
  panel_w = max(0.22 * len(factor_names), 1.2)
  panel_h = max(0.2 * num_latents, 1.2)
  names_h = 0.075 * max((len(n) for n in factor_names), default=1)
  fig = Figure(
    figsize=(cols * (panel_w + 0.15) + 1.9, rows * (panel_h + 0.15) + names_h + 1.0),
    layout="constrained",
  )
  axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
  im = None
  for i in range(rows):
    for j in range(cols):
      ax, m = axes[i, j], matrices[i][j]
      if m is not None:
        im = ax.imshow(m, cmap="magma", vmin=0.0, vmax=hi, aspect="auto")
      ax.set_xticks(range(len(factor_names)), list(factor_names), rotation=90)
      _latent_ticks(ax, num_latents)
      ax.tick_params(length=0)
      if i == 0:
        ax.set_title(col_labels[j])
      if j == 0:
        ax.set_ylabel(row_labels[i])
  if im is not None:
    # As long as the rows: the bar is fraction × the panels' width wide and
    # aspect × its width long.
    fraction = 0.04
    aspect = rows * (panel_h + 0.15) / (fraction * cols * (panel_w + 0.15))
    fig.colorbar(
      im, ax=axes, fraction=fraction, pad=0.02, aspect=aspect, label="MI (nats)"
    )
  fig.suptitle(title)
  save(fig, path)


@styled
def reconstruction_grid(
  originals: np.ndarray, reconstructions: np.ndarray, path: str, title: str
) -> None:
  """Two 8 × 8 mosaics side by side: test images and their reconstructions.

  Args:
    originals: float[64, H, W, C] in [0, 1].
    reconstructions: float[64, H, W, C] in [0, 1] (decoder means).
    path: output PNG.
    title: figure title.
  """
  fig = Figure(figsize=(9.0, 4.9), layout="constrained")
  for k, (imgs, name) in enumerate(
    [(originals, "test images"), (reconstructions, "reconstructions")]
  ):
    ax = fig.add_subplot(1, 2, k + 1)
    _show(ax, tile(imgs, 8, 8))
    ax.set_title(name)
    ax.axis("off")
  fig.suptitle(title)
  save(fig, path)


@styled
def traversal_grid(
  traversals: np.ndarray,
  order: Sequence[int],
  row_labels: Sequence[str],
  values: np.ndarray,
  path: str,
  title: str,
) -> None:
  """Latent traversals: one row per latent, one column per value.

  Args:
    traversals: float[L, K, H, W, C] in [0, 1]; ``[i, k]`` decodes the base code
      with latent i set to ``values[k]``.
    order: the latents to show, top to bottom (e.g. by decreasing KL).
    row_labels: one label per entry of ``order``.
    values: float[K].
    path: output PNG.
    title: figure title.
  """
  trav = np.asarray(traversals)[list(order)]
  rows, cols, h, w, _ = trav.shape
  pad = 2
  fig = Figure(figsize=(0.75 * cols + 1.6, 0.75 * rows + 0.9), layout="constrained")
  ax = fig.add_subplot(1, 1, 1)
  _show(ax, tile(trav.reshape((rows * cols,) + trav.shape[2:]), rows, cols, pad))
  ax.set_xticks(
    [k * (w + pad) + w / 2 for k in range(cols)], [f"{v:.1f}" for v in values]
  )
  ax.set_yticks([i * (h + pad) + h / 2 for i in range(rows)], list(row_labels))
  ax.tick_params(length=0)
  for side in ("top", "right", "bottom", "left"):
    ax.spines[side].set_visible(False)
  ax.set_title(title)
  save(fig, path)


def traversal_gif(
  traversals: np.ndarray,
  order: Sequence[int],
  path: str,
  scale: int = 1,
  frame_ms: int = 120,
) -> None:
  """An animated traversal: frame k shows every latent (in ``order``) at value k.

  The values run forth and back, so the loop has no jump.

  Args:
    traversals: float[L, K, H, W, C] in [0, 1].
    order: latents to show, left to right.
    path: output GIF.
    scale: nearest-neighbour upscaling factor.
    frame_ms: duration of one frame.
  """
  trav = np.asarray(traversals)[list(order)]
  num_rows, k_vals = trav.shape[:2]
  frames = []
  for k in list(range(k_vals)) + list(range(k_vals - 2, 0, -1)):
    strip = tile(trav[:, k], 1, num_rows, pad=2)
    strip = np.repeat(np.repeat(strip, scale, 0), scale, 1)
    pixels = np.round(255 * np.clip(strip, 0, 1)).astype(np.uint8)
    frames.append(Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels))
  buffer = io.BytesIO()
  frames[0].save(
    buffer,
    format="GIF",
    save_all=True,
    append_images=frames[1:],
    duration=frame_ms,
    loop=0,
  )
  files.write_bytes(path, buffer.getvalue())

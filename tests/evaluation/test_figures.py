"""Every figure of the report read as a researcher reads it: text size at the saved
size, a label on every tick, one colour direction for "better", no hidden lines or
overlapping labels, points instead of one-value boxes.

Figures are drawn from made-up inputs (no training); each drawing function's Figure
is caught at :func:`lbvae.evaluation.figures.save`, after it is drawn.
"""

import itertools
import math

import numpy as np
from matplotlib.text import Text
import pytest
from matplotlib import image as mimage
from matplotlib import text as mtext
from PIL import Image

from lbvae.evaluation import collapse_curves
from lbvae.evaluation import figures
from lbvae.evaluation import selection
from lbvae.evaluation import selection_figures
from lbvae.evaluation import selection_page
from lbvae.evaluation import selection_views
from lbvae.evaluation import tables
from lbvae.linear import plots

from tests.evaluation import test_selection_views

FACTORS = ("shape", "scale", "orientation", "position_x", "position_y")
LATENTS = 10


@pytest.fixture
def saved(monkeypatch):
  """The Figures passed to ``figures.save``, in order (they are saved too)."""
  caught = []
  original = figures.save

  def save(fig, path):
    original(fig, path)
    caught.append(fig)

  monkeypatch.setattr(figures, "save", save)
  return caught


def texts(fig):
  """Every visible, non-empty text of a drawn figure (tick labels included)."""
  return [
    t
    for t in fig.findobj(mtext.Text)
    if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
  ]


def assert_readable(fig, path):
  """Every text is at least MIN_FONT_PT points, and the PNG has the figure's size at
  DPI (so the points are points at 100 % zoom)."""
  small = [
    (t.get_text(), t.get_fontsize())
    for t in texts(fig)
    if t.get_fontsize() < figures.MIN_FONT_PT
  ]
  assert not small, small
  w, h = Image.open(path).size
  fw, fh = fig.get_size_inches() * figures.DPI
  assert 0.6 * fw <= w <= 1.2 * fw and 0.6 * fh <= h <= 1.2 * fh, ((w, h), (fw, fh))


def mi(seed=0):
  return np.random.default_rng(seed).uniform(0, 1.1, (LATENTS, len(FACTORS)))


def model_rows(num_seeds):
  rows = []
  for b, s in itertools.product((1, 4, 16), range(num_seeds)):
    rows.append(
      {
        "phase": 1,
        "beta": b,
        "lambda": 0,
        "seed": s,
        "step": 4,
        "finite": 1,
        "objective": "beta_vae",
        "diverged": 0,
        "nll": 100.0 + b + s,
        "mig": 0.1 / b + 0.01 * s,
        "sap": 0.05 + 0.01 * s,
        "im": 2.0 - 0.1 * b,
      }
    )
  return rows


def luminance(rgba):
  r, g, b = rgba[:3]
  return 0.2126 * r + 0.7152 * g + 0.0722 * b


def cell_brightness(ax):
  """float[rows, cols]: the luminance of each cell of the axes' heat map."""
  im = [a for a in ax.get_children() if isinstance(a, mimage.AxesImage)][0]
  rgba = im.cmap(im.norm(np.ma.masked_invalid(im.get_array())))
  return np.apply_along_axis(luminance, -1, rgba)


# -- sizes, fonts, ticks ------------------------------------------------------------


def test_mi_grids_label_every_latent_and_factor_at_a_readable_size(tmp_path, saved):
  for rows, name in ((1, "phase1"), (2, "phase2")):
    path = str(tmp_path / f"{name}.png")
    grid = [[mi(i + j) for j in range(2)] for i in range(rows)]
    figures.mi_grid(
      grid,
      [f"β={b}" for b in (1, 8)][:rows],
      ["λ=0", "λ=4"],
      FACTORS,
      path,
      f"{name}: MI",
    )
    fig = saved[-1]
    assert_readable(fig, path)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    for ax in panels:  # the left column names every latent
      if ax.get_subplotspec().is_first_col():
        assert [t.get_text() for t in ax.get_yticklabels()] == [
          f"z{i}" for i in range(LATENTS)
        ]
    bottom = panels[-1]
    assert [t.get_text() for t in bottom.get_xticklabels()] == list(FACTORS)
    # The colour bar spans the rows of panels (it does not float between them).
    fig.canvas.draw()
    bar = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"][
      0
    ].get_window_extent()
    top = max(ax.get_window_extent().y1 for ax in panels)
    low = min(ax.get_window_extent().y0 for ax in panels)
    assert bar.height >= 0.9 * (top - low), (bar.height, top - low)


def test_every_report_figure_has_readable_text(tmp_path, saved):
  summary = tables.summarize(
    [dict(r, phase=2, **{"lambda": lam}) for r in model_rows(2) for lam in (0, 4)]
  )
  figures.box_over_beta(
    model_rows(2), selection_views.plotted(), str(tmp_path / "box.png"), "box"
  )
  figures.cell_heatmaps(
    summary, selection_views.plotted(), str(tmp_path / "heat.png"), "heat"
  )
  figures.mi_heatmap(
    mi(), FACTORS, str(tmp_path / "mi.png"), "one model", posterior=0.01 * mi(1)
  )
  images = np.random.default_rng(0).uniform(size=(64, 16, 16, 1))
  figures.reconstruction_grid(images, images, str(tmp_path / "recon.png"), "recon")
  figures.traversal_grid(
    np.random.default_rng(0).uniform(size=(LATENTS, 7, 16, 16, 1)),
    range(LATENTS),
    [f"z{i}" for i in range(LATENTS)],
    np.linspace(-2, 2, 7),
    str(tmp_path / "trav.png"),
    "trav",
  )
  collapse_curves.draw(collapse_rows(), str(tmp_path / "collapse.png"), threshold=0.01)
  cells = selection.cells_from_summary(
    test_selection_views.make_summary(), ("nll", "mig", "sap", "im")
  )
  front = selection.pareto_front(cells.mean["nll"], cells.mean["mig"])
  selection_figures.pareto_scatter(
    cells, "nll", "mig", front, str(tmp_path / "pareto.png"), nll_label="NLL"
  )
  names = ["box", "heat", "mi", "recon", "trav", "collapse", "pareto"]
  assert len(saved) == len(names)
  for fig, name in zip(saved, names):
    assert_readable(fig, str(tmp_path / f"{name}.png"))


def test_the_selection_views_have_readable_text(tmp_path, saved):
  test_selection_views.write(tmp_path, test_selection_views.make_summary())
  assert len(saved) == 3  # % change, Pareto, Tchebycheff
  for fig, name in zip(saved, ("percent_change", "pareto", "tchebycheff")):
    assert_readable(fig, str(tmp_path / "eval" / "figures" / f"phase2_{name}.png"))


# -- one colour direction --------------------------------------------------------------


def test_the_best_cell_is_the_brightest_in_every_quality_map(tmp_path, saved):
  rows = [dict(r, phase=2, **{"lambda": lam}) for r in model_rows(1) for lam in (0, 4)]
  summary = tables.summarize(rows)
  figures.cell_heatmaps(
    summary, selection_views.plotted(), str(tmp_path / "heat.png"), "heat"
  )
  fig = saved[-1]
  panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
  for ax, (col, _, higher) in zip(panels, selection_views.plotted()):
    values = selection.cells_from_summary(summary, [col]).mean[col].reshape(3, 2)
    best = np.unravel_index(np.argmax(values if higher else -values), values.shape)
    bright = cell_brightness(ax)
    assert np.unravel_index(np.argmax(bright), bright.shape) == best, col
  bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
  assert all(figures.BETTER in ax.get_ylabel() for ax in bars)

  cells = selection.cells_from_summary(
    test_selection_views.make_summary(), ("nll", "mig")
  )
  scores = {p: np.linspace(0.9, 0.0, len(cells)) + 0.01 * p for p in (10, 50)}
  selection_figures.tchebycheff_maps(
    cells, scores, {10: 8, 50: 8}, str(tmp_path / "tch.png")
  )
  ax = saved[-1].axes[0]
  bright = cell_brightness(ax)
  assert np.unravel_index(np.argmax(bright), bright.shape) == cells.position(8)


def test_linear_heat_maps_are_bright_where_better(tmp_path, monkeypatch):
  caught = []
  monkeypatch.setattr(figures, "save", lambda fig, path: caught.append(fig))
  rows = [
    {
      "solver": "fixed_point",
      "n": 12,
      "beta": b,
      "lambda": lam,
      "recon_mean": 10.0 + b - lam,
      "sap_mean": 0.1 * lam + 0.01 * b,
      "im_mean": 1.0 + lam,
    }
    for b in (4.0, 8.0)
    for lam in (0.0, 2.0)
  ]
  plots.heatmaps(rows, n=12, path=str(tmp_path / "h.png"))
  panels = [ax for ax in caught[0].axes if ax.get_label() != "<colorbar>"]
  # origin="lower": row 0 is β = 4. Best R: β=4, λ=2; best SAP, I_m: β=8 / any, λ=2.
  for ax, best in zip(panels, ((0, 1), (1, 1), (0, 1))):
    bright = cell_brightness(ax)
    assert bright[best] == bright.max(), ax.get_title()


# -- one seed ----------------------------------------------------------------------------


def test_one_seed_draws_points_not_boxes(tmp_path, saved):
  figures.box_over_beta(
    model_rows(1), selection_views.plotted(), str(tmp_path / "b.png"), "b"
  )
  for ax in saved[-1].axes:
    assert not ax.lines  # no box, whisker or median
    assert sum(len(c.get_offsets()) for c in ax.collections) == 3
  figures.box_over_beta(
    model_rows(3), selection_views.plotted(), str(tmp_path / "b3.png"), "b"
  )
  assert all(ax.lines for ax in saved[-1].axes)  # three seeds: boxes


def test_summary_std_is_empty_for_one_seed(tmp_path):
  rows = model_rows(1) + [
    dict(r, seed=9, nll=r["nll"] + 2) for r in model_rows(1) if r["beta"] == 4
  ]
  summary = tables.summarize(rows)
  path = str(tmp_path / "summary.csv")
  tables.write_csv(path, tables.summary_columns(rows), summary)
  back = {r["beta"]: r for r in tables.read_csv(path)}
  assert back[1]["nll_std"] == "" and back[16]["mig_std"] == ""
  assert back[4]["nll_std"] == pytest.approx(1.0)
  assert math.isnan(tables.cell_value(back[1], "nll_std"))
  assert tables.cell_value(back[4], "nll_mean") == pytest.approx(105.0)
  cells = selection.cells_from_summary(list(back.values()), ["nll"])
  assert np.isnan(cells.std["nll"][0]) and cells.std["nll"][1] == pytest.approx(1.0)


# -- lines and labels that hide each other ------------------------------------------------


def collapse_rows(constant_active=True):
  rows = []
  for phase, steps in ((1, (0, 2, 4)), (2, (6,))):
    for b, lam in itertools.product((1.0, 4.0), (0.0, 4.0) if phase == 2 else (0.0,)):
      for t in steps:
        r = {
          "phase": phase,
          "step": t,
          "member": 0,
          "beta": b,
          "lambda": lam,
          "seed": 0,
          "kl": 5.0,
          "active_latents": 10 if constant_active else t,
          "mig": 0.1,
          "im": 1.0,
          "mig_posterior": 0.01,
          "im_posterior": 0.1,
        }
        r.update({f"kl_z{i}": 0.5 for i in range(LATENTS)})
        rows.append(r)
  return rows


def test_collapse_lines_stay_visible_when_equal(tmp_path, saved):
  collapse_curves.draw(collapse_rows(), str(tmp_path / "c.png"), threshold=0.01)
  fig = saved[-1]
  ax = fig.axes[1]  # active latents
  phase1 = [l for l in ax.lines if len(l.get_xdata()) == 3]
  assert len(phase1) == 2
  under, over = phase1  # β = 1 is drawn first
  assert under.get_linewidth() > over.get_linewidth() + 1.0
  assert under.get_marker() != over.get_marker()
  assert ax.get_ylim()[0] <= 0 and ax.get_ylim()[1] >= LATENTS
  assert "of 10" in ax.get_title() and "0.01 nats" in ax.get_title()
  assert any("10 of 10 active at every probe" in t.get_text() for t in ax.texts)
  collapse_curves.draw(collapse_rows(False), str(tmp_path / "c2.png"))
  assert not saved[-1].axes[1].texts  # it varies: no note


def label_boxes(ax):
  """The display boxes of the axes' annotations' text (not their leader lines)."""
  fig = ax.get_figure()
  fig.canvas.draw()
  renderer = fig.canvas.get_renderer()
  for t in ax.texts:
    t.update_positions(renderer)
  return [Text.get_window_extent(t, renderer) for t in ax.texts]


def test_pareto_labels_of_crowded_cells_do_not_overlap_or_leave_the_figure(
  tmp_path, saved
):
  grid = [(b, lam) for b in (1, 2, 4, 8) for lam in (0, 2, 4)]
  overrides = {c: {"nll": 98.0 + 1e-3 * i, "mig": 0.066} for i, c in enumerate(grid)}
  summary = test_selection_views.make_summary(cells=grid, overrides=overrides)
  cells = selection.cells_from_summary(summary, ("nll", "mig"))
  front = np.zeros(len(grid), bool)
  selection_figures.pareto_scatter(
    cells, "nll", "mig", front, str(tmp_path / "p.png"), nll_label="NLL"
  )
  fig = saved[-1]
  boxes = label_boxes(fig.axes[0])
  assert len(boxes) == len(grid)
  assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
  assert all(
    fig.bbox.contains(b.x0, b.y0) and fig.bbox.contains(b.x1, b.y1) for b in boxes
  )


def test_pareto_labels_do_not_overlap_and_the_legend_matches(tmp_path, saved):
  overrides = {(1, 0): {"nll": 98.0, "mig": 0.066}, (1, 4): {"nll": 98.0, "mig": 0.068}}
  summary = test_selection_views.make_summary(
    cells=[(1, 0), (1, 4), (4, 0), (4, 4)], overrides=overrides
  )
  cells = selection.cells_from_summary(summary, ("nll", "mig"))
  front = np.asarray([False, True, False, False])
  selection_figures.pareto_scatter(
    cells, "nll", "mig", front, str(tmp_path / "p.png"), nll_label="NLL"
  )
  fig = saved[-1]
  ax = fig.axes[0]
  boxes = label_boxes(ax)
  assert len(boxes) == 4
  assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
  legend = [t.get_text() for t in ax.get_legend().get_texts()]
  assert "Pareto front" not in legend and "Pareto-optimal cell" in legend  # one cell
  selection_figures.pareto_scatter(
    cells,
    "nll",
    "mig",
    np.asarray([True, True, False, False]),
    str(tmp_path / "p2.png"),
    nll_label="NLL",
  )
  assert "Pareto front" in [
    t.get_text() for t in saved[-1].axes[0].get_legend().get_texts()
  ]


def test_contraction_has_one_legend_entry_per_beta_and_per_lambda(tmp_path, saved):
  rows = [
    {"beta": b, "lambda": lam, "iteration": k, "gain": b**-k + lam}
    for b in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    for lam in (0.0, 2.0)
    for k in range(1, 11)
  ]
  path = str(tmp_path / "contraction.png")
  plots.contraction(rows, path=path)
  fig = saved[-1]
  assert_readable(fig, path)
  entries = [
    t.get_text()
    for leg in fig.axes[0].findobj(
      lambda a: hasattr(a, "get_texts") and hasattr(a, "legend_handles")
    )
    for t in leg.get_texts()
  ]
  assert len(entries) == 6 + 2, entries


# -- the interactive page -----------------------------------------------------------------


def test_the_page_colour_bar_holds_every_score_and_labels_are_not_clipped():
  summary = test_selection_views.make_summary()
  cells = selection.cells_from_summary(summary, ("nll", "mig"))
  scores, chosen = selection.choices(cells.mean["nll"], cells.mean["mig"])
  assert scores.max() > 1.0  # ρ lifts the 0 % score above 1
  front = selection.pareto_front(cells.mean["nll"], cells.mean["mig"])
  fig = selection_page.page_figure(
    cells, scores, chosen, front, nll="nll", nll_label="NLL"
  )
  heat = fig.data[0]
  assert heat.zmin <= np.nanmin(scores) and heat.zmax >= np.nanmax(scores)
  assert float(heat.colorbar.ticktext[-1]) >= np.nanmax(scores) - 1e-3
  # No text beside the points (it could overlap): the legend names every
  # Pareto-optimal cell, each by its own marker, and no other trace has text.
  assert not any("text" in (t.mode or "") for t in fig.data[1:])
  optimal = [t for t in fig.data if (t.name or "").startswith("Pareto-optimal: ")]
  assert [t.name for t in optimal] == [
    f"Pareto-optimal: {cells.name(k)}"
    for k in np.flatnonzero(front)[np.argsort(cells.mean["nll"][front], kind="stable")]
  ]
  assert len({t.marker.symbol for t in optimal}) == min(len(optimal), 10)
  assert all(t.cliponaxis is False for t in optimal)
  xr, yr = fig.layout.xaxis2.range, fig.layout.yaxis2.range
  assert xr[0] < np.nanmin(cells.mean["nll"]) and xr[1] > np.nanmax(cells.mean["nll"])
  assert yr[0] < np.nanmin(cells.mean["mig"]) and yr[1] > np.nanmax(cells.mean["mig"])


def test_a_flat_metric_gets_one_colour_bar_tick_not_rounding_noise(tmp_path, saved):
  rows = [
    dict(r, phase=2, sap=0.002 + 1e-12 * r["beta"], **{"lambda": lam})
    for r in model_rows(1)
    for lam in (0, 4)
  ]
  figures.cell_heatmaps(
    tables.summarize(rows), selection_views.plotted(), str(tmp_path / "h.png"), "h"
  )
  bars = [ax for ax in saved[-1].axes if ax.get_label() == "<colorbar>"]
  sap = bars[[c for c, _, _ in selection_views.plotted()].index("sap")]
  assert [t.get_text() for t in sap.get_yticklabels()] == ["0.002"]
  assert "all cells equal" in sap.get_ylabel()


def test_percent_change_cells_and_colour_bar_read_the_same_numbers(tmp_path, saved):
  """Each panel's colours are the printed changes on its colour bar's scale, and an
  improvement is blue whichever way the metric is better (NLL down, MIG up)."""
  summary = test_selection_views.make_summary(cells=[(1, 0), (1, 4), (4, 0), (4, 4)])
  cells = selection.cells_from_summary(summary, ("nll", "mig", "sap", "im"))
  b = cells.index(1.0, 0.0)
  changes = {
    c: selection.percent_change(cells.mean[c], cells.mean[c][b])
    for c, _, _ in selection_views.plotted()
  }
  selection_figures.percent_change_maps(
    cells, changes, selection_views.plotted(), b, str(tmp_path / "pc.png")
  )
  fig = saved[-1]
  panels = [ax for ax in fig.axes if ax.images]
  for ax, (column, _, higher) in zip(panels, selection_views.plotted()):
    image = ax.images[0]
    shown = np.ma.filled(image.get_array(), np.nan)
    np.testing.assert_allclose(shown, cells.grid(changes[column]))
    printed = {t.get_text() for t in ax.texts}
    assert {f"{v:+.1f}%" for v in changes[column] if 0.1 <= abs(v) < 10} <= printed
    bar = image.colorbar
    assert bar.vmin == -bar.vmax and "% change" in bar.ax.get_ylabel()
    for change in changes[column][np.abs(changes[column]) >= 1]:
      r, _, blue, _ = image.cmap(image.norm(change))
      assert (blue > r) == ((change > 0) == higher), (column, change)
    assert ("down" if not higher else "up") in bar.ax.get_ylabel()

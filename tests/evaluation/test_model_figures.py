"""Per-model figures declared once: the cache's check, the file names and the report
follow the declarations; a new one is one ModelFigure line and its drawing."""

import numpy as np

from lbvae import files
from lbvae.evaluation import keys
from lbvae.evaluation import model_figures
from lbvae.evaluation import report
from lbvae.evaluation import store

KEY = keys.ModelKey(2, 16.0, 4.0, 0)


def _kl_bars(path, result, factor_names, title):
  """A toy figure: the bytes of each latent's KL."""
  del factor_names, title
  files.write_bytes(path, np.asarray(result.kl_per_latent).tobytes())


KL_BARS = model_figures.ModelFigure(
  "kl", "kl.png", "KL per latent", "each latent's KL", False, _kl_bars
)


def _page(figs, workdir):
  return report.Page(
    workdir=workdir,
    config={},
    dataset="d",
    grid_lines=[],
    timing="t",
    problems=[],
    summaries={},
    overview={},
    model_figures=[(KEY, figs)],
  )


def test_todays_figures_and_their_report_table(tmp_path):
  assert [f.kind for f in model_figures.FIGURES] == ["mi", "recon", "traversal", "gif"]
  assert model_figures.kinds(np.zeros((10, 0))) == ("recon", "traversal", "gif")
  paths = store.EvalPaths(str(tmp_path))
  assert paths.relative(paths.figure(KEY, "gif")) == (
    "eval/figures/models/p2_b16_l4_s0_traversal.gif"
  )
  report.write(paths.report, _page({"recon": "r.png", "gif": "t.gif"}, str(tmp_path)))
  text = files.read_text(paths.report)
  assert "| model | MI | reconstructions | traversal | animation |" in text
  assert "| phase 2, β=16, λ=4, seed 0 | – | [png](r.png) | – | [gif](t.gif) |" in text
  assert "![recon](r.png)" in text and "![gif]" not in text


def test_a_declaration_is_all_a_new_figure_needs(tmp_path, monkeypatch):
  monkeypatch.setattr(model_figures, "FIGURES", model_figures.FIGURES + (KL_BARS,))
  paths = store.EvalPaths(str(tmp_path))
  assert paths.figure(KEY, "kl").endswith("models/p2_b16_l4_s0_kl.png")

  class Result:
    mi, mi_posterior, kl_per_latent = np.zeros((3, 0)), None, np.arange(3.0)

  drawn = []
  monkeypatch.setattr(
    model_figures,
    "FIGURES",
    tuple(
      f
      if f.kind == "kl"
      else model_figures.ModelFigure(
        f.kind,
        f.file,
        f.caption,
        f.inline,
        f.needs_factors,
        lambda path, *_: drawn.append(path) or files.write_bytes(path, b"x"),
      )
      for f in model_figures.FIGURES
    ),
  )
  model_figures.draw(paths, KEY, Result(), ())
  assert len(drawn) == 3  # no MI without factors
  assert np.frombuffer(files.read_bytes(paths.figure(KEY, "kl"))).tolist() == [0, 1, 2]
  # the cache wants it: an entry is valid only while it exists
  facts = {"step": 4, "settings": {}, "checkpoint": "c"}
  store.save_entry(paths, KEY, **facts, scores={"mig": 0.1}, mi=Result.mi)
  assert store.load_entry(paths, KEY, **facts) is not None
  files.as_path(paths.figure(KEY, "kl")).unlink()
  assert store.load_entry(paths, KEY, **facts) is None
  # the report shows it inline and links it
  report.write(paths.report, _page({"kl": "k.png"}, str(tmp_path)))
  text = files.read_text(paths.report)
  assert "test image; each latent's KL). All models" in text
  assert (
    "| model | MI | reconstructions | traversal | animation | KL per latent |" in text
  )
  assert "![kl](k.png)" in text and "| – | – | – | – | [png](k.png) |" in text

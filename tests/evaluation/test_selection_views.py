"""The selection views as files: figures, CSVs, the Markdown section, the HTML page.

Summaries are made by hand (no model is trained or evaluated here); the pass on a
real run is in ``tests/evaluation/test_runner.py`` and ``tests/test_sweep_cli.py``.
The page is parsed, and, where a Chromium is installed, loaded in it headless.
"""

import html.parser
import itertools
import json
import math
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from lbvae.evaluation import selection_views
from lbvae.evaluation import figures
from lbvae.evaluation import selection
from lbvae.evaluation import store
from lbvae.evaluation import tables

NAN = math.nan
BETAS, LAMBDAS = (1, 4, 16), (0, 4, 8)


def make_summary(cells=None, overrides=None):
  """Phase-2 summary rows over BETAS × LAMBDAS; ``overrides[(β, λ)] = {col: v}``."""
  overrides = overrides or {}
  rows = []
  for b, lam in cells or itertools.product(BETAS, LAMBDAS):
    v = {
      "nll": 100 + 5 * math.log2(b) - lam,
      "mig": 0.05 * math.log2(2 * b) + 0.01 * lam,
      "sap": 0.1 + 0.01 * b,
      "im": 1.0 + 0.1 * lam,
    }
    v.update(overrides.get((b, lam), {}))
    row = {"phase": 2, "beta": b, "lambda": lam, "num_seeds": 2}
    for c, x in v.items():
      row[f"{c}_mean"], row[f"{c}_std"] = x, 0.1 * abs(x)
    rows.append(row)
  return rows


def write(tmp_path, summary):
  """(the section's Markdown text, the output files)."""
  paths = store.EvalPaths(str(tmp_path))
  return "\n".join(selection_views.write(summary, paths)), selection_views.output_files(
    paths
  )


class _Scripts(html.parser.HTMLParser):
  """Collects the attributes and text of every <script>, and every tag's links
  (``src``, ``href``; script text is data to the parser, not tags)."""

  def __init__(self):
    super().__init__()
    self.scripts, self.links, self._inside = [], [], False

  def handle_starttag(self, tag, attrs):
    self.links += [v for k, v in attrs if k in ("src", "href")]
    if tag == "script":
      self.scripts.append([dict(attrs), ""])
      self._inside = True

  def handle_endtag(self, tag):
    if tag == "script":
      self._inside = False

  def handle_data(self, data):
    if self._inside:
      self.scripts[-1][1] += data


def plot_arguments(text):
  """The (data, layout) that the page passes to ``Plotly.newPlot``."""
  decoder = json.JSONDecoder()
  pos = text.index("Plotly.newPlot(") + len("Plotly.newPlot(")
  out = []
  for _ in range(3):  # div id, data, layout
    while text[pos] in " \n\t,":
      pos += 1
    value, pos = decoder.raw_decode(text, pos)
    out.append(value)
  assert out[0] == "selection"
  return out[1], out[2]


@pytest.fixture(scope="module")
def full(tmp_path_factory):
  """Views of a full 3 × 3 grid."""
  tmp = tmp_path_factory.mktemp("views")
  summary = make_summary()
  markdown, out = write(tmp, summary)
  return summary, markdown, out


def test_files_and_links(full):
  _, markdown, out = full
  for kind, path in out.items():
    assert os.path.exists(path), kind
  root = os.path.dirname(os.path.dirname(out["page"]))
  links = re.findall(r"\]\(([^)]+)\)", markdown)
  assert sorted(links) == sorted(
    os.path.relpath(out[k], root)
    for k in ("percent_change", "pareto", "tchebycheff", "page")
  )
  assert "nan" not in markdown.lower()


def test_percent_change_csv_is_the_direct_computation(full):
  summary, _, out = full
  rows = tables.read_csv(out["csv"])
  base = next(r for r in summary if (r["beta"], r["lambda"]) == (1, 0))
  for r, s in zip(rows, summary):
    assert (r["beta"], r["lambda"]) == (s["beta"], s["lambda"])
    for c in ("nll", "mig", "sap", "im"):
      want = 100 * (s[f"{c}_mean"] - base[f"{c}_mean"]) / abs(base[f"{c}_mean"])
      assert r[f"{c}_pct_change"] == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_pareto_table_and_choices(full):
  summary, markdown, out = full
  nll = np.array([r["nll_mean"] for r in summary])
  mig = np.array([r["mig_mean"] for r in summary])
  front = selection.pareto_front(nll, mig)
  rows = tables.read_csv(out["csv"])
  assert [r["pareto"] for r in rows] == front.astype(int).tolist()
  table = re.findall(r"^\| (\d+) \| (\d+) \| \S+ \| \S+ \|$", markdown, re.M)
  by_nll = np.flatnonzero(front)[np.argsort(nll[front])]
  assert table == [(str(summary[k]["beta"]), str(summary[k]["lambda"])) for k in by_nll]
  _, chosen = selection.choices(nll, mig)
  picks = tables.read_csv(out["choices_csv"])
  assert [p["weight_percent"] for p in picks] == list(range(101))
  for p, k in zip(picks, chosen):
    assert (p["beta"], p["lambda"]) == (summary[k]["beta"], summary[k]["lambda"])
  for w in (10, 50, 90):
    k = chosen[w]
    name = f"β={summary[k]['beta']}, λ={summary[k]['lambda']}"
    assert f"- {w} % reconstruction weight: **{name}**" in markdown


def test_the_page_and_the_report_explain_the_choice_in_the_same_words(full):
  _, markdown, out = full
  section = markdown.split("### Best (β, λ) by augmented Tchebycheff scalarisation")[1]
  rule = section.strip().split("\n")[0]
  assert "score = max(w·f_NLL, (1 − w)·f_MIG)" in rule
  page = open(out["page"], encoding="utf-8").read()
  intro = [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", page)]
  assert any(rule in p for p in intro), (rule, intro)


def test_page_is_self_contained_with_a_101_step_slider(full):
  summary, _, out = full
  text = open(out["page"], encoding="utf-8").read()
  parser = _Scripts()
  parser.feed(text)
  assert parser.scripts and all("src" not in attrs for attrs, _ in parser.scripts)
  assert parser.links == []  # nothing fetched from anywhere
  # plotly.js itself is inline (some 4 MB in the first script).
  assert max(len(body) for _, body in parser.scripts) > 1_000_000
  assert "Plotly.newPlot(" in parser.scripts[-1][1]
  data, layout = plot_arguments(text)
  steps = layout["sliders"][0]["steps"]
  assert [s["label"] for s in steps] == [str(p) for p in range(101)]
  cells = selection.cells_from_summary(summary, ["nll", "mig"])
  scores, chosen = selection.choices(cells.mean["nll"], cells.mean["mig"])
  for p in (0, 37, 100):
    update, relayout, traces = steps[p]["args"]
    assert traces == [0] and steps[p]["method"] == "update"
    np.testing.assert_allclose(
      np.array(update["z"][0], float), cells.grid(scores[p]), rtol=1e-12
    )
    row, col = cells.position(chosen[p])
    (rect,) = relayout["shapes"]
    assert (rect["x0"] + 0.5, rect["y0"] + 0.5) == (col, row)
    assert cells.name(chosen[p]) in relayout["title.text"]
  np.testing.assert_allclose(np.array(data[0]["z"], float), cells.grid(scores[50]))
  for k in range(len(cells)):  # the table of cells, at the report's precision
    assert f"<td>{cells.beta[k]:g}</td><td>{cells.lam[k]:g}</td>" in text
    for col in ("nll", "mig"):
      number = figures.short_number(cells.mean[col][k], table=True)
      assert f"<td>{number}</td>" in text
      assert len(number.replace("-", "").replace(".", "").lstrip("0")) <= 4


def test_no_baseline_cell_is_said_and_skipped(tmp_path, full):
  # Views written first with a baseline, then without: no stale % change figure.
  shutil.copytree(os.path.dirname(os.path.dirname(full[2]["page"])), tmp_path / "r")
  markdown, out = write(
    tmp_path / "r",
    make_summary([c for c in itertools.product(BETAS, LAMBDAS) if c != (1, 0)]),
  )
  assert "has no β = 1, λ = 0 cell" in markdown
  assert not os.path.exists(out["percent_change"])
  assert os.path.exists(out["pareto"]) and os.path.exists(out["page"])
  assert "pct_change" not in open(out["csv"]).readline()


def test_zero_baseline_value_is_undefined(tmp_path):
  markdown, out = write(tmp_path, make_summary(overrides={(1, 0): {"mig": 0.0}}))
  assert "MIG: the baseline's value is 0.000, so its % change is undefined" in markdown
  rows = tables.read_csv(out["csv"])
  assert all(math.isnan(r["mig_pct_change"]) for r in rows)
  assert all(math.isfinite(r["nll_pct_change"]) for r in rows)


def test_nan_cell_is_named_and_left_out(tmp_path):
  markdown, out = write(tmp_path, make_summary(overrides={(16, 8): {"mig": NAN}}))
  assert "take no part in the Pareto front or the choice: β=16, λ=8." in markdown
  rows = tables.read_csv(out["csv"])
  bad = next(r for r in rows if (r["beta"], r["lambda"]) == (16, 8))
  assert bad["pareto"] == 0 and math.isnan(bad["tchebycheff_w50"])
  assert all(math.isfinite(r["tchebycheff_w50"]) for r in rows if r is not bad)
  picks = tables.read_csv(out["choices_csv"])
  assert len(picks) == 101 and (16, 8) not in {(p["beta"], p["lambda"]) for p in picks}


def test_flat_objective_and_single_cell_are_said(tmp_path):
  flat = {c: {"mig": 0.2} for c in itertools.product(BETAS, LAMBDAS)}
  markdown, out = write(tmp_path / "flat", make_summary(overrides=flat))
  assert "Every cell has the same MIG" in markdown
  assert all(math.isfinite(r["tchebycheff_w10"]) for r in tables.read_csv(out["csv"]))
  markdown, _ = write(tmp_path / "one", make_summary([(1, 0)]))
  assert "Only one cell has a finite NLL and MIG" in markdown
  assert "Every cell has the same" not in markdown


def test_nothing_to_choose(tmp_path):
  nan = {c: {"nll": NAN} for c in itertools.product(BETAS, LAMBDAS)}
  markdown, out = write(tmp_path / "nan", make_summary(overrides=nan))
  assert "No cell has a finite NLL and MIG: nothing to choose." in markdown
  assert "there is no front" in markdown
  assert not os.path.exists(out["tchebycheff"]) and not os.path.exists(out["pareto"])
  assert os.path.exists(out["page"]) and "nan" not in markdown.lower()
  markdown, out = write(tmp_path / "none", None)
  assert "No phase-2 cell was evaluated" in markdown
  assert not any(os.path.exists(p) for p in out.values())


def _chromium():
  for name in ("chromium", "chromium-browser", "google-chrome"):
    if shutil.which(name):
      return shutil.which(name)
  return None


# After the page loads, apply slider step 10 the way the slider does
# (Plotly.update with the step's arguments) and write what plotly then shows.
PROBE = """<script>
window.addEventListener("load", function () {
  var gd = document.getElementById("selection");
  var step = gd.layout.sliders[0].steps[10];
  Plotly.update(gd, step.args[0], step.args[1], step.args[2]).then(function () {
    var out = document.createElement("pre");
    out.id = "probe";
    out.textContent = JSON.stringify({
      title: gd._fullLayout.title.text, z: gd._fullData[0].z,
      svg_title: document.querySelector(".gtitle").textContent});
    document.body.appendChild(out);
  });
});
</script>"""


def test_page_renders_in_a_headless_browser(full, tmp_path):
  browser = _chromium()
  if browser is None:
    pytest.skip("no Chromium installed (Debian: apt-get install chromium)")
  summary, _, out = full
  page = tmp_path / "probe.html"
  page.write_text(
    open(out["page"], encoding="utf-8").read().replace("</body>", PROBE + "</body>"),
    encoding="utf-8",
  )
  proc = subprocess.run(
    [
      browser,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--virtual-time-budget=10000",
      "--dump-dom",
      page.as_uri(),
    ],
    capture_output=True,
    text=True,
    timeout=120,
    check=False,
  )
  assert proc.returncode == 0, proc.stderr[-2000:]
  dom = proc.stdout
  assert 'class="main-svg"' in dom  # plotly drew the figure
  assert "slider-container" in dom
  probe = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
  assert probe, "the slider step did not apply"
  shown = json.loads(html.unescape(probe.group(1)))
  cells = selection.cells_from_summary(summary, ["nll", "mig"])
  scores, chosen = selection.choices(cells.mean["nll"], cells.mean["mig"])
  want = f"reconstruction weight 10 %: best {cells.name(chosen[10])}"
  assert shown["title"].startswith(want) and shown["svg_title"].startswith(want)
  np.testing.assert_allclose(
    np.array(shown["z"], float), cells.grid(scores[10]), rtol=1e-12
  )

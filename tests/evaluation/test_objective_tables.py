"""Tables and report of runs with other objectives: an ``objective`` column, cells
kept apart by objective, the report grouped by objective (lbvae.evaluation)."""

import math

from lbvae.evaluation import report
from lbvae.evaluation import tables


def model_rows():
  rows = []
  for objective, parts in (
    ("beta_tcvae", {"total_correlation": 1.5}),
    ("factor_vae", {"total_correlation": 0.5, "discriminator_accuracy": 0.6}),
  ):
    for seed in (0, 1):
      rows.append(
        {
          "phase": 1,
          "beta": 4.0,
          "lambda": 0.0,
          "seed": seed,
          "step": 10,
          "finite": 1,
          "objective": objective,
          "nll": 100.0 + seed,
          "kl": 5.0,
          "l2": 3.0,
          "mig": 0.1 * (seed + 1),
          **parts,
        }
      )
  return rows


def test_cells_are_kept_apart_by_objective():
  rows = model_rows()
  cols = tables.model_columns(rows)
  assert cols[:7] == ["phase", "beta", "lambda", "seed", "step", "finite", "objective"]
  assert "objective" not in tables.value_columns(rows)
  summary = tables.summarize(rows)
  assert [(c["objective"], c["num_seeds"]) for c in summary] == [
    ("beta_tcvae", 2),
    ("factor_vae", 2),
  ]
  assert summary[0]["total_correlation_mean"] == 1.5
  assert math.isnan(summary[0]["discriminator_accuracy_mean"])
  assert summary[1]["nll_mean"] == 100.5 and summary[1]["nll_std"] == 0.5
  assert tables.summary_columns(rows)[:5] == [
    "phase",
    "beta",
    "lambda",
    "num_seeds",
    "objective",
  ]
  # Rows without the column (runs older than the objectives) are β-VAE rows.
  old = [{k: v for k, v in r.items() if k != "objective"} for r in rows[:2]]
  assert {c["objective"] for c in tables.summarize(old)} == {"beta_vae"}


def test_report_groups_by_objective(tmp_path):
  rows = model_rows()
  summary = tables.summarize(rows)
  path = str(tmp_path / "report.md")
  report.write(
    path,
    report.Page(
      workdir=str(tmp_path),
      config={},
      dataset="d",
      grid_lines=[],
      timing="t",
      problems=[],
      summaries={1: summary},
      overview={},
      model_figures=[],
    ),
  )
  text = open(path).read()
  assert "## Phase 1\n" in text
  assert "### Phase 1: β-TCVAE" in text and "### Phase 1: FactorVAE" in text
  assert "β is β (TC weight)." in text and "β is γ (TC weight)." in text
  assert text.index("### Phase 1: β-TCVAE") < text.index("### Phase 1: FactorVAE")
  assert "| TC |" in text or " TC |" in text
  # One objective: its name in the phase heading; the β-VAE keeps its old titles.
  report.write(
    path,
    report.Page(
      workdir=str(tmp_path),
      config={},
      dataset="d",
      grid_lines=[],
      timing="t",
      problems=[],
      summaries={1: summary[:1]},
      overview={},
      model_figures=[],
    ),
  )
  assert "## Phase 1: β-TCVAE\n" in open(path).read()
  assert report.phase_title(2, "beta_vae") == "Phase 2: λβ-VAE (continued from phase 1)"
  assert report.phase_title(2, "dip_vae_ii").startswith("Phase 2: DIP-VAE-II + λ·")

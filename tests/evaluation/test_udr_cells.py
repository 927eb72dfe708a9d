"""UDR in the pass: per-cell scores from the models' cached shared codes, the cache's
rule for them, and the label-free choice beside MIG (report and page sentences)."""

import math

import numpy as np
import pytest
import scipy.stats

from lbvae import files
from lbvae.evaluation import keys
from lbvae.evaluation import model_figures
from lbvae.evaluation import selection
from lbvae.evaluation import store
from lbvae.evaluation import udr_cells
from lbvae.evaluation import udr_choice

N, L = 300, 4


def row(beta, lam, seed, diverged=0):
  return {
    "phase": 2,
    "beta": beta,
    "lambda": lam,
    "seed": seed,
    "objective": "beta_vae",
    "diverged": diverged,
  }


def save_shared(paths, r, codes, kl):
  files.write_npz(paths.shared(keys.key_of(r)), codes=codes.astype(np.float32), kl=kl)


@pytest.fixture
def run(tmp_path):
  """Rows of three cells: β=1 (three seeds that agree, one diverged), β=4 (three
  independent seeds), β=8 (one seed); the shared codes of each. (Cells of three: one
  compilation per UDR variant.)"""
  paths = store.EvalPaths(str(tmp_path))
  rng = np.random.default_rng(0)
  truth = rng.normal(size=(N, L))
  kl = np.full(L, 2.0)
  rows, codes = [], {}
  for seed in range(4):
    r = row(1.0, 0.0, seed, diverged=int(seed == 3))
    codes[seed] = truth[:, rng.permutation(L)] * rng.choice([-1, 1], L)
    save_shared(paths, r, codes[seed], kl)
    rows.append(r)
  for seed in range(3):
    rows.append(row(4.0, 0.0, seed))
    save_shared(paths, rows[-1], rng.normal(size=(N, L)), kl)
  rows.append(row(8.0, 0.0, 0))
  save_shared(paths, rows[-1], truth, kl)
  return paths, rows, codes, kl


def test_each_cell_scores_its_seeds_together(run):
  paths, rows, codes, kl = run
  notes = udr_cells.add_udr(rows, paths, enabled=True)
  # The cell's three seeds, scored together (the pass's compiled metrics.udr).
  want = udr_cells._udr(
    np.stack([codes[s] for s in range(3)]), np.stack([kl] * 3), correlation="lasso"
  )
  np.testing.assert_allclose(
    [r["udr"] for r in rows[:3]], want["model_scores"], atol=1e-6
  )
  assert all(r["udr"] > 0.85 and r["udr_spearman"] > 0.8 for r in rows[:3])
  assert math.isnan(rows[3]["udr"])  # the diverged model
  assert all(r["udr"] < 0.2 and r["udr_spearman"] < 0.3 for r in rows[4:7])
  assert math.isnan(rows[7]["udr"]) and math.isnan(rows[7]["udr_spearman"])
  assert notes == [
    "UDR compares the seeds of a (β, λ) cell and needs at least 2 "
    "that did not diverge: 1 cell(s) have fewer, so their udr and "
    "udr_spearman are NaN."
  ]


def test_off_is_nan_with_the_reason(run):
  paths, rows, _, _ = run
  notes = udr_cells.add_udr(rows, paths, enabled=False)
  assert all(math.isnan(r["udr"]) for r in rows) and "udr_samples = 0" in notes[0]


def test_a_cache_entry_needs_codes_of_the_pass_s_shared_images(tmp_path):
  paths = store.EvalPaths(str(tmp_path))
  key = keys.ModelKey(2, 1.0, 0.0, 0)
  mi = np.zeros((L, 0))  # a dataset without factors: no MI figure is expected
  assert model_figures.kinds(mi) == ("recon", "traversal", "gif")
  for kind in model_figures.kinds(mi):
    files.write_text(paths.figure(key, kind), "")
  store.save_entry(
    paths,
    key,
    step=6,
    settings={},
    checkpoint="c",
    scores={"a": 1.0},
    mi=mi,
    shared=(np.zeros((10, L)), np.ones(L)),
  )
  load = lambda rows: store.load_entry(
    paths, key, step=6, settings={}, checkpoint="c", shared_rows=rows
  )
  assert load(0) is not None and load(10) is not None
  assert load(11) is None  # codes of another number of images
  assert load(10).mi.shape == (L, 0)


def test_rank_agreement_is_spearman_over_cells_with_both():
  rng = np.random.default_rng(1)
  a, b = rng.normal(size=9), rng.normal(size=9)
  a[2], b[5] = np.nan, np.nan
  rho, n = selection.rank_agreement(a, b)
  keep = np.isfinite(a) & np.isfinite(b)
  assert n == 7
  np.testing.assert_allclose(rho, scipy.stats.spearmanr(a[keep], b[keep])[0])
  assert math.isnan(selection.rank_agreement(a[:2], b[:2])[0])
  assert math.isnan(selection.rank_agreement(np.ones(5), np.arange(5.0))[0])
  assert selection.highest(np.array([np.nan, 0.3, 0.7, 0.7])) == 2
  assert selection.highest(np.array([np.nan])) is None


def summary(udr, mig):
  out = []
  for k, (u, m) in enumerate(zip(udr, mig)):
    out.append(
      {
        "beta": float(1 + k // 2),
        "lambda": float(k % 2),
        "num_seeds": 3,
        "udr_mean": u,
        "udr_spearman_mean": u,
        "mig_mean": m,
      }
    )
  return out


def test_the_choice_without_labels_and_its_agreement_with_mig():
  lines = udr_choice.section(summary([0.2, 0.5, 0.4, 0.9], [0.1, 0.3, 0.2, 0.25]))
  text = "\n".join(lines)
  assert "- UDR chooses β=2, λ=1 (mean 0.900 over 3 seeds)." in text
  assert "- MIG, which needs the labels, chooses β=1, λ=1 (mean 0.300)." in text
  assert "UDR's ranking of the cells against MIG's: Spearman ρ = 0.80 over 4" in text
  unlabelled = "\n".join(
    udr_choice.section(summary([0.2, 0.5, 0.4, 0.9], [math.nan] * 4))
  )
  assert (
    "No cell has a MIG (no factor labels): UDR is the criterion left." in unlabelled
  )
  flat = "\n".join(udr_choice.section(summary([0.0] * 4, [math.nan] * 4)))
  assert "UDR is 0.000 in every cell: it tells no cell apart." in flat

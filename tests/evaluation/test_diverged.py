"""Diverged members: NaN scores, a ``diverged`` flag, left out of the summary means."""

import math

import numpy as np

from lbvae.evaluation import outputs
from lbvae.evaluation import tables


def row(seed, mig, diverged):
  return {
    "phase": 2,
    "beta": 1.0,
    "lambda": 0.0,
    "seed": seed,
    "step": 6,
    "finite": int(not diverged),
    "objective": "beta_vae",
    "diverged": int(diverged),
    "nll": 50.0 + seed,
    "mig": mig,
  }


def test_summary_leaves_diverged_models_out_and_counts_them():
  rows = [row(0, 0.2, False), row(1, 0.4, False), row(2, math.nan, True)]
  rows[2]["nll"] = 1e30  # a frozen member's training-window mean
  (cell,) = tables.summarize(rows)
  assert cell["num_seeds"] == 3 and cell[tables.NUM_DIVERGED] == 1
  np.testing.assert_allclose(cell["mig_mean"], 0.3)
  np.testing.assert_allclose(cell["nll_mean"], 50.5)
  assert tables.NUM_DIVERGED in tables.summary_columns(rows)
  assert "diverged" in tables.model_columns(rows)


def test_every_kind_of_divergence_is_named():
  fine = {"heldout_nll": 40.0, "mig": 0.1}
  assert outputs._divergence({"finite": 1}, fine) is None
  assert "step 7" in outputs._divergence({"finite": 0, "frozen_step": 7}, fine)
  assert "parameters" in outputs._divergence({"finite": 1}, None)
  assert "held-out NLL" in outputs._divergence({"finite": 1}, {"heldout_nll": math.nan})

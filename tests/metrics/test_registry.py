"""The metric registry: each metric's module declares its entries, and the pass, its
tables, the report and its views follow them."""

import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import data
from lbvae import metrics
from lbvae.evaluation import collapse_curves
from lbvae.evaluation import compute
from lbvae.evaluation import reading
from lbvae.evaluation import report
from lbvae.evaluation import rescore
from lbvae.evaluation import samples as samples_lib
from lbvae.evaluation import selection_views
from lbvae.evaluation import tables
from lbvae.evaluation import udr_choice
from lbvae.metrics import entry
from lbvae.train import collapse
from tests.evaluation import conftest


def spread(
  latents_train, factors_train, latents_test, factors_test, *, factor_sizes, num_bins
):
  """A toy compiled metric: the test codes' mean absolute value."""
  del latents_train, factors_train, factors_test, factor_sizes, num_bins
  return {"spread": jnp.mean(jnp.abs(latents_test))}


def first_factor_rate(latents_train, factors_train, latents_test, factors_test, **_):
  """A toy host metric: the share of test rows whose first factor is 0 (NumPy)."""
  del latents_train, factors_train, latents_test
  return {"first_factor_rate": float(np.mean(np.asarray(factors_test)[:, 0] == 0))}


TOY = (
  entry.Entry(
    "spread",
    "|z|",
    True,
    entry.COMPILED,
    needs_factors=False,
    paper=True,
    compute=spread,
  ),
  entry.Entry(
    "first_factor_rate",
    "v₀ = 0",
    None,
    entry.HOST,
    nan_if_diverged=True,
    compute=first_factor_rate,
  ),
)


def test_an_entry_is_all_a_new_metric_needs(monkeypatch):
  monkeypatch.setattr(metrics, "_ENTRIES", metrics._ENTRIES + TOY)
  assert metrics.names()[-2:] == ("spread", "first_factor_rate")
  # the tables, the report, the views and the reading
  labelled = [c for c, _ in report.table_columns()]
  assert labelled.index("udr_spearman") + 2 == labelled.index("first_factor_rate")
  assert ("spread", "|z|") in report.table_columns()
  assert "first_factor_rate" in tables.diverged_columns()
  assert "spread" not in tables.diverged_columns()
  assert selection_views.plotted()[-1] == ("spread", "|z|", True)
  assert reading.trend_columns()[-2] == ("spread", "|z|")
  assert compute.factor_scores()[-1] == "first_factor_rate"
  assert rescore.missing({"mig": 0.1}, {"factor_vae_votes": 0, "posterior_samples": 0})[
    -2:
  ] == ("spread", "first_factor_rate")
  # the pass computes both, jitted and on the host, from each model's codes
  ds = data.load("dsprites")
  s = samples_lib.draw(ds, seed=0, num_train=120, num_test=40)
  options = compute.StackOptions(latent_dim=10, num_bins=10, batch_size=64)
  results, _ = compute.evaluate_stack(conftest.random_params(2, seed=5), s, ds, options)
  for r in results:
    assert r.scores["spread"] == pytest.approx(np.abs(r.codes_test).mean(), rel=1e-5)
    assert r.scores["first_factor_rate"] == pytest.approx(
      np.mean(s.factors_test[:, 0] == 0)
    )
  # metrics.csv and summary.csv carry them
  rows = [
    {"phase": 1, "beta": 1.0, "lambda": 0.0, "seed": 0, "nll": 1.0, **r.scores}
    for r in results
  ]
  assert {"spread", "first_factor_rate"} <= set(tables.value_columns(rows))
  assert "spread_mean" in tables.summary_columns(rows)


def test_todays_registry():
  assert metrics.names() == (
    "heldout_nll",
    "heldout_kl",
    "active_latents",
    "mig",
    "sap",
    "im",
    "dci_lasso_disentanglement",
    "dci_lasso_completeness",
    "dci_lasso_informativeness",
    "mig_posterior",
    "im_posterior",
    "dci_disentanglement",
    "dci_completeness",
    "dci_informativeness",
    "factor_vae",
    "udr",
    "udr_spearman",
  )
  assert [c for c, _, _ in selection_views.plotted()] == ["nll", "mig", "sap", "im"]
  assert collapse.COLUMNS[5:] == (
    "kl",
    "active_latents",
    "mig",
    "im",
    "mig_posterior",
    "im_posterior",
  )
  assert [q for q, _ in collapse_curves.PANELS] == list(collapse.COLUMNS[5:])
  assert udr_choice.COLUMNS == {"udr": "UDR", "udr_spearman": "UDR (Spearman)"}
  assert compute.factor_scores() == (
    "mig",
    "sap",
    "im",
    "dci_lasso_disentanglement",
    "dci_lasso_completeness",
    "dci_lasso_informativeness",
    "dci_disentanglement",
    "dci_completeness",
    "dci_informativeness",
  )
  for e in metrics.entries():
    assert (e.compute is not None) == (e.runs in entry.FROM_CODES)


def test_a_bad_entry_is_refused():
  with pytest.raises(ValueError, match="runs must be one of"):
    entry.Entry("x", "X", True, "gpu")
  with pytest.raises(ValueError, match="a compiled entry needs compute"):
    entry.Entry("x", "X", True, entry.COMPILED)
  with pytest.raises(ValueError, match="a cells entry takes no compute"):
    entry.Entry("x", "X", True, entry.CELLS, compute=spread)

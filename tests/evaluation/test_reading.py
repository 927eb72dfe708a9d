"""report.md's reading: every sentence follows from the numbers it is given."""

import re

import numpy as np
import pytest

from lbvae.evaluation import reading
from lbvae.train import config as config_lib


def cell(beta, lam=0.0, seeds=1, phase=1, **values):
  row = {
    "phase": phase,
    "beta": beta,
    "lambda": lam,
    "num_seeds": seeds,
    "objective": "beta_vae",
  }
  for column, v in values.items():
    mean, std = v if isinstance(v, tuple) else (v, None)
    row[f"{column}_mean"] = mean
    if std is not None:
      row[f"{column}_std"] = std
  return row


def test_a_falling_score_with_one_seed_says_so():
  rows = [cell(1, mig=0.067), cell(4, mig=0.012), cell(16, mig=0.005)]
  text = reading.trend(rows, "mig", "MIG", "β")
  assert text == (
    "MIG falls as β grows: 0.067 (β = 1) → 0.012 (β = 4) → 0.005 "
    "(β = 16); at the largest β it is 7 % of its peak (one seed: no "
    "spread)."
  )


def test_a_peak_resolved_by_the_seeds():
  rows = [
    cell(1, seeds=2, mig=(0.05, 0.01)),
    cell(4, seeds=2, mig=(0.20, 0.02)),
    cell(16, seeds=2, mig=(0.02, 0.01)),
  ]
  text = reading.trend(rows, "mig", "MIG", "β")
  assert text.startswith("MIG peaks at β = 4: ")
  assert "10 % of its peak (beyond the seed spread)" in text
  rows[2] = cell(16, seeds=2, mig=(0.15, 0.05))
  assert "(within the seed spread of 2 seeds)" in reading.trend(rows, "mig", "MIG", "β")


@pytest.mark.parametrize("seed", range(20))
def test_the_named_shape_is_the_shape_of_the_numbers(seed):
  values = np.random.default_rng(seed).uniform(0, 1, size=4)
  rows = [cell(b, mig=float(v)) for b, v in zip((1, 2, 4, 8), values)]
  text = reading.trend(rows, "mig", "MIG", "β")
  steps = np.diff(values)
  if "falls as β grows" in text:
    assert np.all(steps < 0)
  elif "rises with β" in text:
    assert np.all(steps > 0)
  elif m := re.search(r"peaks at β = (\d+)", text):
    k = (1, 2, 4, 8).index(int(m.group(1)))
    assert values[k] == values.max() and 0 < k < 3
  else:
    assert "is not monotone" in text
    assert not (np.all(steps < 0) or np.all(steps > 0))
  shown = [float(x) for x in re.findall(r"([0-9.]+) \(β = ", text)]
  np.testing.assert_allclose(shown, values, rtol=0.05)  # printed to 2-3 digits


def test_missing_values_are_left_out_not_read():
  rows = [cell(1, mig=float("nan")), cell(4, mig=0.1)]
  assert reading.trend(rows, "mig", "MIG", "β") is None
  out = reading.lines(
    {1: [cell(1, kl=5.0), cell(4, kl=3.0)]}, config_lib.defaults().to_dict()
  )
  assert not any("MIG" in line for line in out)
  assert any(line.startswith("- The rate (KL) falls as β grows") for line in out)


def test_what_lambda_changes_counts_the_cells():
  rows = [
    cell(4, 0, phase=2, mig=0.01, kl=10.0),
    cell(4, 4, phase=2, mig=0.02, kl=12.0),
    cell(16, 0, phase=2, mig=0.02, kl=4.0),
    cell(16, 4, phase=2, mig=0.01, kl=7.0),
  ]
  out = reading.lines({2: rows}, config_lib.defaults().to_dict())
  assert (
    "- β = 4: λ = 4 against λ = 0: MIG 0.010 → 0.020 (one seed: no spread); "
    "KL 10.0 → 12.0."
  ) in out
  assert "- λ > 0 raises MIG in 1 of 2 (β, λ) cells." in out


def test_binned_and_posterior_mi_disagreement_is_named():
  rows = [
    cell(1, im=2.0, im_posterior=1.9, kl=20.0),
    cell(16, im=1.5, im_posterior=0.2, kl=1.0),
  ]
  out = " ".join(reading.lines({1: rows}, config_lib.defaults().to_dict()))
  assert "disagree at β = 16: binned 1.50, posterior 0.200 nats (KL 1.00)" in out
  assert "β = 1:" not in out
  rows[1] = cell(16, im=1.5, im_posterior=1.4, kl=1.0)
  out = " ".join(reading.lines({1: rows}, config_lib.defaults().to_dict()))
  assert "agree (within 50 % or 0.1 nats) at every β" in out


def test_the_run_length_is_set_against_the_paper():
  paper = config_lib.defaults()
  assert reading.lines({}, paper.to_dict())[-2] == (
    "- This run has the paper's length: 150,000 + 50,000 steps per model."
  )
  short = dict(paper.to_dict(), phase1_steps=1200, phase2_steps=300)
  assert (
    "trained 1,200 + 300 steps per model, 0.75 % of the paper's 150,000 + "
    "50,000" in reading.lines({}, short)[-2]
  )

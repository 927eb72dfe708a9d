"""The maths of the selection views: % change, Pareto front, augmented Tchebycheff.

Hand-computed small cases, then brute-force loops (written independently of the
vectorised library code) on random cells with ties.
"""

import itertools
import math

import numpy as np
import pytest

from lbvae.evaluation import selection

NAN = math.nan


def test_percent_change_against_direct_computation():
  v = np.array([10.0, 12.0, 7.5, NAN])
  np.testing.assert_allclose(selection.percent_change(v, 10.0), [0.0, 20.0, -25.0, NAN])
  # A negative baseline: "+" still means "larger than the baseline".
  np.testing.assert_allclose(
    selection.percent_change(np.array([-1.0, -3.0]), -2.0), [50.0, -50.0]
  )
  rng = np.random.default_rng(0)
  v, b = rng.normal(size=20), 0.37
  np.testing.assert_allclose(
    selection.percent_change(v, b), [100 * (x - b) / b for x in v], rtol=1e-12
  )


@pytest.mark.parametrize("baseline", [0.0, NAN, math.inf])
def test_percent_change_is_undefined_for_a_zero_or_missing_baseline(baseline):
  out = selection.percent_change(np.array([1.0, 2.0]), baseline)
  assert out.shape == (2,) and np.isnan(out).all()


def test_pareto_front_hand_made_set():
  #          0    1    2    3    4    5     6    7    8
  nll = [1.0, 2.0, 2.0, 3.0, 3.0, 1.0, 4.0, NAN, 0.5]
  mig = [0.1, 0.5, 0.5, 0.4, 0.9, 0.05, 0.9, 1.0, NAN]
  # 1 and 2 tie (both kept); 3 is beaten by 1; 5 by 0 (equal NLL, lower MIG);
  # 6 by 4 (equal MIG, higher NLL); 7, 8 have no finite pair.
  expected = [True, True, True, False, True, False, False, False, False]
  assert selection.pareto_front(nll, mig).tolist() == expected


def _front_by_loops(nll, mig):
  out = []
  for i in range(len(nll)):
    if not (math.isfinite(nll[i]) and math.isfinite(mig[i])):
      out.append(False)
      continue
    dominated = False
    for j in range(len(nll)):
      if not (math.isfinite(nll[j]) and math.isfinite(mig[j])):
        continue
      if nll[j] <= nll[i] and mig[j] >= mig[i] and (nll[j] < nll[i] or mig[j] > mig[i]):
        dominated = True
    out.append(not dominated)
  return out


@pytest.mark.parametrize("seed", range(5))
def test_pareto_front_matches_brute_force_with_ties(seed):
  rng = np.random.default_rng(seed)
  nll = rng.integers(0, 6, 30).astype(float)  # few values: many ties
  mig = rng.integers(0, 6, 30).astype(float)
  nll[rng.integers(0, 30, 3)] = NAN
  front = selection.pareto_front(nll, mig)
  assert front.tolist() == _front_by_loops(nll.tolist(), mig.tolist())
  assert front.any()


def test_normalise_range_and_flip():
  f = selection.normalise([10.0, 20.0, 30.0, 99.0], [0.1, 0.5, 0.3, NAN])
  # The NaN cell's NLL (99) does not stretch the range.
  np.testing.assert_allclose(f.values[:3], [[0, 1], [0.5, 0], [1, 0.5]])
  assert np.isnan(f.values[3]).all()
  assert f.valid.tolist() == [True, True, True, False] and f.flat == (False, False)


def test_tchebycheff_hand_computed():
  nll, mig = [10.0, 20.0, 30.0], [0.1, 0.5, 0.3]
  # f = [(0, 1), (0.5, 0), (1, 0.5)] (NLL; flipped MIG).
  f = selection.normalise(nll, mig).values
  rho = selection.RHO
  expected = {
    1.0: [0.0, 0.5 + rho * 0.5, 1.0 + rho * 1.0],
    0.0: [1.0 + rho * 1.0, 0.0, 0.5 + rho * 0.5],
    0.5: [0.5 + rho * 0.5, 0.25 + rho * 0.25, 0.5 + rho * 0.75],
    0.8: [0.2 + rho * 0.2, 0.4 + rho * 0.4, 0.8 + rho * 0.9],
  }
  chosen = {1.0: 0, 0.0: 1, 0.5: 1, 0.8: 0}
  for w, want in expected.items():
    s = selection.tchebycheff(f, w)
    np.testing.assert_allclose(s, want, rtol=1e-12, atol=1e-15)
    assert selection.best_cell(s) == chosen[w]


def test_augmentation_breaks_a_tie_of_the_max_term():
  # At w = 0.5 cells 2 and 3 have the same max term (0.25); cell 3 (which dominates
  # cell 2) wins by the ρ-weighted sum.
  f = selection.normalise([0.0, 1.0, 0.5, 0.5], [0.0, 1.0, 0.5, 1.0]).values
  s = selection.tchebycheff(f, 0.5)
  assert s[2] - s[3] == pytest.approx(selection.RHO * 0.25)
  assert selection.best_cell(s) == 3
  assert selection.best_cell(selection.tchebycheff(f, 0.5, rho=0.0)) == 2  # tie


def _scores_by_loops(nll, mig, w, rho):
  ok = [i for i in range(len(nll)) if math.isfinite(nll[i]) and math.isfinite(mig[i])]
  lo_n, hi_n = min(nll[i] for i in ok), max(nll[i] for i in ok)
  lo_m, hi_m = min(mig[i] for i in ok), max(mig[i] for i in ok)
  out = []
  for i in range(len(nll)):
    if i not in ok:
      out.append(NAN)
      continue
    f1 = 0.0 if hi_n == lo_n else (nll[i] - lo_n) / (hi_n - lo_n)
    f2 = 0.0 if hi_m == lo_m else (hi_m - mig[i]) / (hi_m - lo_m)
    terms = [w * abs(f1 - 0.0), (1 - w) * abs(f2 - 0.0)]
    out.append(max(terms) + rho * sum(terms))
  return out


@pytest.mark.parametrize("seed", range(4))
def test_choices_match_brute_force(seed):
  rng = np.random.default_rng(seed)
  nll = rng.normal(50, 5, 12)
  mig = rng.uniform(0, 0.4, 12)
  mig[3] = NAN
  scores, chosen = selection.choices(nll, mig)
  assert scores.shape == (101, 12) and len(chosen) == 101
  for p in range(101):
    want = _scores_by_loops(nll.tolist(), mig.tolist(), p / 100, selection.RHO)
    np.testing.assert_allclose(scores[p], want, rtol=1e-12, atol=1e-15)
    finite = [(s, i) for i, s in enumerate(want) if math.isfinite(s)]
    assert chosen[p] == min(finite)[1]
  # w = 1: the lowest NLL; w = 0: the highest MIG (no exact ties here).
  assert chosen[100] == int(np.nanargmin(np.where(np.isnan(mig), NAN, nll)))
  assert chosen[0] == int(np.nanargmax(mig))
  # Every choice is Pareto-optimal.
  front = selection.pareto_front(nll, mig)
  assert all(front[k] for k in chosen)


def test_degenerate_cells_give_no_nan_choice():
  # All NLL equal: NLL is 0 everywhere after normalisation; MIG decides.
  n = selection.normalise([5.0, 5.0, 5.0], [0.1, 0.3, 0.2])
  assert n.flat == (True, False) and np.isfinite(n.values).all()
  scores, chosen = selection.choices([5.0, 5.0, 5.0], [0.1, 0.3, 0.2])
  # w = 1 weighs only NLL: all three tie at 0; the tie goes to the front (cell 1).
  assert (scores[100] == 0).all() and set(chosen) == {1}
  # All equal in both: every score is 0, the first cell is chosen.
  scores, chosen = selection.choices([5.0, 5.0], [0.2, 0.2])
  assert (scores == 0).all() and set(chosen) == {0}
  # One cell, or one valid cell among NaN ones.
  scores, chosen = selection.choices([7.0], [0.1])
  assert (scores == 0).all() and set(chosen) == {0}
  _, chosen = selection.choices([NAN, 7.0, 1.0], [0.5, 0.1, NAN])
  assert set(chosen) == {1}
  # No valid cell at all: no choice, NaN scores (said as such, never picked).
  scores, chosen = selection.choices([NAN, 1.0], [0.1, NAN])
  assert np.isnan(scores).all() and set(chosen) == {None}
  assert selection.normalise([NAN], [NAN]).flat == (False, False)


def test_ties_go_to_a_pareto_optimal_cell_then_the_first():
  nll, mig = [3.0, 1.0, 1.0, 1.0], [0.9, 0.2, 0.5, 0.5]
  f = selection.normalise(nll, mig).values
  s = selection.tchebycheff(f, 1.0)  # cells 1, 2, 3 tie at 0
  assert (s[1:] == 0).all()
  assert selection.best_cell(s) == 1  # no front given: the first
  front = selection.pareto_front(nll, mig)  # 2 and 3 (equal) beat 1
  assert front.tolist() == [True, False, True, True]
  assert selection.best_cell(s, front) == 2
  _, chosen = selection.choices(nll, mig)
  assert chosen[100] == 2 and chosen[0] == 0


def test_weight_outside_unit_interval_is_refused():
  with pytest.raises(ValueError, match="weight"):
    selection.tchebycheff(np.zeros((2, 2)), 1.5)


def test_choice_runs():
  assert selection.choice_runs([0, 0, 2, 2, 2, 1], range(6)) == [
    (0, 1, 0),
    (2, 4, 2),
    (5, 5, 1),
  ]


def test_cells_grid_places_values_by_beta_and_lambda():
  summary = [
    {"beta": b, "lambda": lam, "num_seeds": 2, "nll_mean": 10 * b + lam, "nll_std": 0.0}
    for b, lam in itertools.product((1, 4), (0, 2, 8))
    if (b, lam) != (4, 2)
  ]  # a grid with a hole
  cells = selection.cells_from_summary(summary, ["nll", "mig"])
  assert cells.axes() == ([1.0, 4.0], [0.0, 2.0, 8.0])
  grid = cells.grid(cells.mean["nll"])
  np.testing.assert_array_equal(grid, [[10, 12, 18], [40, NAN, 48]])
  assert np.isnan(cells.mean["mig"]).all()  # an absent column
  k = cells.index(4.0, 8.0)
  assert cells.position(k) == (1, 2) and cells.name(k) == "β=4, λ=8"
  assert cells.index(4.0, 2.0) is None

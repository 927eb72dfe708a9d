"""UDR against known-good and known-bad seeds, and against a scikit-learn/scipy
transcription of disentanglement_lib's definition, jitted and not."""

import jax
import numpy as np
import pytest
import scipy.stats
from sklearn.linear_model import Lasso
from sklearn.preprocessing import StandardScaler

from lbvae import errors
from lbvae import metrics

N, L = 1000, 6
ACTIVE_KL, INACTIVE_KL = 1.5, 0.001


def reference_udr(codes, kl, correlation, threshold=0.01):
  """disentanglement_lib's steps with scikit-learn and scipy: (pairwise, scores)."""
  m = len(codes)
  active = [k > threshold for k in kl]
  reps = [
    StandardScaler().fit_transform(c.astype(np.float64)) * a
    for c, a in zip(codes, active)
  ]
  pairwise = np.zeros((m, m))
  for i in range(m):
    for j in range(m):
      if i == j:
        continue
      if correlation == "lasso":
        r = np.abs(Lasso(alpha=0.1).fit(reps[i], reps[j]).coef_).T
      else:
        r = np.array(
          [
            [
              abs(scipy.stats.spearmanr(reps[i][:, a], reps[j][:, b])[0])
              for b in range(L)
            ]
            for a in range(L)
          ]
        )
      r = r[active[i]][:, active[j]]
      sides = []
      for axis in (0, 1):
        if r.size == 0:
          sides.append(0.0)
          continue
        with np.errstate(invalid="ignore", divide="ignore"):
          ratio = np.nan_to_num(r.max(axis=axis) ** 2 / r.sum(axis=axis))
        sides.append(ratio.mean())
      pairwise[i, j] = sum(sides) / 2
  scores = np.array([np.median(np.delete(pairwise[:, i], i)) for i in range(m)])
  return pairwise, scores


def factors(rng):
  return rng.normal(size=(N, 4))


def copy_of(truth, rng, noise=0.05):
  """The factors in latents 0..3 permuted, sign-flipped and scaled; latents 4, 5
  collapsed (tiny variation, KL below the threshold)."""
  perm = rng.permutation(4)
  signs = rng.choice([-1.0, 1.0], 4)
  scale = rng.uniform(0.5, 3.0, 4)
  active = truth[:, perm] * signs * scale + noise * rng.normal(size=(N, 4))
  dead = 1e-3 * rng.normal(size=(N, 2))
  code = np.concatenate([active, dead], axis=1)
  order = rng.permutation(L)
  kl = np.r_[np.full(4, ACTIVE_KL), np.full(2, INACTIVE_KL)]
  return code[:, order].astype(np.float32), kl[order]


def rotated(truth, rng):
  """The factors mixed by a random rotation: informative, entangled."""
  q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
  code = np.concatenate([truth @ q, 1e-3 * rng.normal(size=(N, 2))], axis=1)
  return code.astype(np.float32), np.r_[np.full(4, ACTIVE_KL), np.full(2, INACTIVE_KL)]


def independent(rng):
  return rng.normal(size=(N, L)).astype(np.float32), np.full(L, ACTIVE_KL)


def stack(models):
  return (np.stack([c for c, _ in models]), np.stack([k for _, k in models]))


@pytest.fixture(scope="module")
def cases():
  rng = np.random.default_rng(0)
  truth = factors(rng)
  good = stack([copy_of(truth, rng) for _ in range(4)])
  bad = stack([independent(rng) for _ in range(4)])
  collapsed = (np.zeros((N, L), np.float32), np.zeros(L))
  mixed = stack(
    [
      copy_of(truth, rng),
      copy_of(truth, rng),
      rotated(truth, rng),
      independent(rng),
      collapsed,
    ]
  )
  return {"good": good, "bad": bad, "mixed": mixed}


JITTED = jax.jit(metrics.udr, static_argnames="correlation")


@pytest.fixture(scope="module")
def udr():
  return JITTED


@pytest.fixture(scope="module", params=["jit", "eager"])
def either_udr(request):
  """The compiled function and the function called as it is."""
  return JITTED if request.param == "jit" else metrics.udr


# The Lasso shrinks a unit-variance weight by α and zeroes the chance ones, so a
# copy scores 1 − α = 0.9 (max²/sum of one weight is the weight); Spearman gives the
# match |ρ| ≈ 1 but keeps the chance |ρ| ~ N^-1/2 of the other latents in each sum.
@pytest.mark.parametrize(
  "correlation,low,high", [("lasso", 0.89, 0.91), ("spearman", 0.9, 1.0)]
)
def test_seeds_that_agree_up_to_permutation_and_sign_score_near_the_top(
  cases, udr, correlation, low, high
):
  out = np.asarray(udr(*cases["good"], correlation=correlation)["model_scores"])
  assert np.all((out > low) & (out <= high))


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_independent_seeds_score_low(cases, udr, correlation):
  out = udr(*cases["bad"], correlation=correlation)
  assert np.all(np.asarray(out["model_scores"]) < 0.2)


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_equals_disentanglement_lib_definition(cases, either_udr, correlation):
  codes, kl = cases["mixed"]
  pairwise, scores = reference_udr(codes, kl, correlation)
  out = either_udr(codes, kl, correlation=correlation)
  np.testing.assert_allclose(out["pairwise"], pairwise, atol=1e-3)
  np.testing.assert_allclose(out["model_scores"], scores, atol=1e-3)
  # The copies agree with each other and with nothing else; the collapsed model
  # shares nothing with any other.
  assert np.asarray(out["pairwise"])[0, 1] > 0.85
  assert np.all(np.asarray(out["pairwise"])[4] == 0)
  assert np.all(np.diag(np.asarray(out["pairwise"])) == 0)


def test_one_model_has_no_pair_to_score(cases, udr):
  codes, kl = cases["good"]
  out = udr(codes[:1], kl[:1])
  assert np.isnan(np.asarray(out["model_scores"])).all()
  assert np.asarray(out["pairwise"]).shape == (1, 1)


def test_bad_arguments_are_config_errors(cases):
  codes, kl = cases["good"]
  with pytest.raises(errors.ConfigError, match="correlation must be one of"):
    metrics.udr(codes, kl, correlation="pearson")
  with pytest.raises(errors.ConfigError, match="codes float"):
    metrics.udr(codes, kl[:, :3])

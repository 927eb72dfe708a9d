"""FactorVAE score: known codes through the sampling helper, and the pure core."""

import functools

import jax
import numpy as np

from lbvae import metrics

SIZES = (3, 4, 5, 6)
VOTES = dict(num_global=2000, num_train_votes=400, num_eval_votes=400, batch_size=16)


def encoder(kind, seed=0):
  """Codes of int factors: the factors, plus noise latents and/or a constant."""
  rng = np.random.default_rng(seed)

  def encode(factors):
    factors = np.asarray(factors, np.float32)
    noise = rng.normal(size=(factors.shape[0], 3)).astype(np.float32)
    if kind == "identity":
      return np.concatenate([factors, noise], axis=1)
    if kind == "identity_and_constant":
      return np.concatenate([factors, noise, np.full_like(noise[:, :1], 2.0)], axis=1)
    if kind == "random":
      return rng.normal(size=(factors.shape[0], 7)).astype(np.float32)
    return np.zeros((factors.shape[0], 7), np.float32)

  return encode


def score(kind):
  arrays = metrics.factor_vae_inputs(
    jax.random.key(0), encoder(kind), factor_sizes=SIZES, **VOTES
  )
  core = jax.jit(
    functools.partial(
      metrics.factor_vae_score,
      num_factors=len(SIZES),
      num_train_votes=VOTES["num_train_votes"],
    )
  )
  return core(*arrays)


def test_inputs_hold_one_factor_fixed_per_batch():
  captured = []
  encode = lambda f: captured.append(np.asarray(f)) or np.asarray(f, np.float32)
  global_latents, votes, which = metrics.factor_vae_inputs(
    jax.random.key(1),
    encode,
    factor_sizes=SIZES,
    num_global=100,
    num_train_votes=30,
    num_eval_votes=20,
    batch_size=8,
    encode_chunk=64,
  )
  assert global_latents.shape == (100, 4) and votes.shape == (50, 8, 4)
  assert which.shape == (50,) and set(which) == set(range(4))
  for batch, k in zip(votes, which):
    assert np.all(batch[:, k] == batch[0, k])  # the chosen factor is fixed
    others = np.delete(batch, k, axis=1)
    assert len(np.unique(others, axis=0)) > 1  # the rest vary
  assert np.all(np.concatenate(captured).max(0) < np.array(SIZES))


def test_identity_code_scores_one_and_ignores_a_constant_latent():
  for kind in ("identity", "identity_and_constant"):
    got = score(kind)
    assert got["eval_accuracy"] == 1.0 and got["train_accuracy"] == 1.0
  assert score("identity_and_constant")["num_active"] == 7  # the constant is pruned


def test_random_code_scores_about_one_over_f():
  got = score("random")
  assert abs(got["eval_accuracy"] - 1 / len(SIZES)) < 0.08


def test_fully_collapsed_code_scores_zero():
  got = score("collapsed")
  assert got["num_active"] == 0 and got["eval_accuracy"] == 0.0


def test_jit_and_vmap_over_models_equal_eager_loop():
  rng = np.random.default_rng(5)
  global_latents = rng.normal(size=(3, 500, 6)).astype(np.float32)
  votes = rng.normal(size=(3, 60, 10, 6)).astype(np.float32)
  which = rng.integers(0, 4, size=60).astype(np.int32)
  votes[0, np.arange(60), :, which] = 0.0  # model 0: factor k is latent k, exactly
  core = functools.partial(metrics.factor_vae_score, num_factors=4, num_train_votes=40)
  batched = jax.jit(jax.vmap(core, in_axes=(0, 0, None)))(global_latents, votes, which)
  for m in range(3):
    eager = core(global_latents[m], votes[m], which)
    for key in eager:
      np.testing.assert_allclose(batched[key][m], eager[key], rtol=1e-6)
  assert batched["eval_accuracy"][0] == 1.0
  assert batched["eval_accuracy"][1] < 0.6

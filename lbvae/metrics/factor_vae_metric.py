"""The FactorVAE score: a majority-vote classifier's accuracy.

Kim & Mnih (2018), "Disentangling by Factorising" (ICML), with disentanglement_lib's
conventions. Each latent is normalised by its standard deviation over a global sample
of the data; latents whose global std is below ``prune_threshold`` (collapsed to the
prior mean) are left out. A *vote*: pick a factor k uniformly, draw a batch of B
samples that share the value of factor k (all other factors random), and record the
pair (argmin over active latents of the normalised in-batch variance, k). The
classifier maps each latent to the factor it collected most training votes for
(majority vote); the score is its accuracy on held-out votes. Variances use ddof = 1.
An identity code scores 1; a code unrelated to the factors scores about 1/F.

:func:`factor_vae_score` is the pure core over arrays (jit-able, vmaps over a model
axis); :func:`factor_vae_inputs` draws the votes' samples on the host and encodes them.

Synopsis::

  arrays = factor_vae_inputs(key, encode, factor_sizes=(3, 6, 40, 32, 32))
  scores = factor_vae_score(*arrays, num_factors=5, num_train_votes=10_000)
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lbvae.metrics import entry


def factor_vae_score(
  global_latents: jax.Array,
  vote_latents: jax.Array,
  vote_factors: jax.Array,
  *,
  num_factors: int,
  num_train_votes: int,
  prune_threshold: float = 0.05,
) -> dict[str, jax.Array]:
  """FactorVAE majority-vote accuracy from encoded samples.

  Args:
    global_latents: float[M, L] codes of a global sample (for the normalising std).
    vote_latents: float[V, B, L] codes of V batches, batch v sharing the value of
      factor ``vote_factors[v]``.
    vote_factors: int[V] the factor held fixed in each batch.
    num_factors: F, the number of factors (static).
    num_train_votes: the first this many votes train the classifier (static); the
      rest evaluate it.
    prune_threshold: latents with global std below this are ignored.

  Returns:
    dict of float32 scalars ``train_accuracy``, ``eval_accuracy`` and int32
    ``num_active`` (latents kept). Both accuracies are 0 if no latent is active.
  """
  global_latents = jnp.asarray(global_latents, jnp.float32)
  vote_latents = jnp.asarray(vote_latents, jnp.float32)
  num_latents = global_latents.shape[1]
  global_var = jnp.var(global_latents, axis=0, ddof=1)  # [L]
  active = jnp.sqrt(global_var) >= prune_threshold
  local_var = jnp.var(vote_latents, axis=1, ddof=1)  # [V, L]
  ratio = jnp.where(active, local_var / jnp.where(active, global_var, 1.0), jnp.inf)
  chosen = jax.nn.one_hot(jnp.argmin(ratio, axis=-1), num_latents, dtype=jnp.float32)
  factor = jax.nn.one_hot(vote_factors, num_factors, dtype=jnp.float32)
  train_votes = chosen[:num_train_votes].T @ factor[:num_train_votes]  # [L, F]
  eval_votes = chosen[num_train_votes:].T @ factor[num_train_votes:]  # [L, F]
  classifier = jnp.argmax(train_votes, axis=1)  # [L]
  train_accuracy = train_votes.max(axis=1).sum() / max(num_train_votes, 1)
  num_eval = vote_factors.shape[0] - num_train_votes
  eval_accuracy = jnp.take_along_axis(eval_votes, classifier[:, None], axis=1).sum()
  eval_accuracy = eval_accuracy / max(num_eval, 1)
  any_active = active.any()
  return {
    "train_accuracy": jnp.where(any_active, train_accuracy, 0.0),
    "eval_accuracy": jnp.where(any_active, eval_accuracy, 0.0),
    "num_active": active.sum().astype(jnp.int32),
  }


def uniform_factors(key: jax.Array, num: int, factor_sizes: Sequence[int]) -> jax.Array:
  """int32[num, F] factors drawn independently and uniformly (the datasets' grids)."""
  keys = jax.random.split(key, len(factor_sizes))
  return jnp.stack(
    [jax.random.randint(k, (num,), 0, size) for k, size in zip(keys, factor_sizes)],
    axis=1,
  )


def factor_vae_inputs(
  key: jax.Array,
  encode: Callable[[np.ndarray], jax.Array],
  *,
  factor_sizes: Sequence[int],
  num_global: int = 10_000,
  num_train_votes: int = 10_000,
  num_eval_votes: int = 5_000,
  batch_size: int = 64,
  sample_factors: Callable[[jax.Array, int], jax.Array] | None = None,
  encode_chunk: int = 16_384,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Draws and encodes the samples :func:`factor_vae_score` needs (host-side).

  All factors are drawn up front (V · B · F integers); ``encode`` then runs over
  chunks of rows, so it may be a jitted encoder with a fixed working-set size.

  Args:
    key: PRNG key; the same key gives the same samples for every model.
    encode: maps int32[n, F] factors (NumPy) to float[n, L] codes (e.g. render the
      images and take the encoder mean); called on at most ``encode_chunk`` rows.
    factor_sizes: number of classes per factor.
    num_global: size of the global sample for the normalising std.
    num_train_votes: votes that train the majority-vote classifier.
    num_eval_votes: votes that score it.
    batch_size: samples per vote (B).
    sample_factors: ``(key, num) -> int[num, F]`` draws from the data's factor
      distribution; defaults to :func:`uniform_factors`.
    encode_chunk: most rows per ``encode`` call.

  Returns:
    (global_latents float32[num_global, L], vote_latents float32[V, B, L],
    vote_factors int32[V]) with V = num_train_votes + num_eval_votes.
  """
  sizes = tuple(int(s) for s in factor_sizes)
  if sample_factors is None:
    sample_factors = lambda k, num: uniform_factors(k, num, sizes)
  num_votes = num_train_votes + num_eval_votes
  key_global, key_which, key_batches = jax.random.split(key, 3)
  which = jax.random.randint(key_which, (num_votes,), 0, len(sizes))
  which = np.asarray(which, np.int32)
  batches = np.array(sample_factors(key_batches, num_votes * batch_size), np.int32)
  batches = batches.reshape(num_votes, batch_size, len(sizes))
  votes = np.arange(num_votes)
  batches[votes, :, which] = batches[votes, :1, which]  # share factor k's value

  def encoded(factors):
    return np.concatenate(
      [
        np.asarray(encode(factors[i : i + encode_chunk]), np.float32)
        for i in range(0, factors.shape[0], encode_chunk)
      ]
    )

  global_latents = encoded(np.asarray(sample_factors(key_global, num_global), np.int32))
  vote_latents = encoded(batches.reshape(num_votes * batch_size, len(sizes)))
  return global_latents, vote_latents.reshape(num_votes, batch_size, -1), which


ENTRIES = (
  entry.Entry("factor_vae", "FactorVAE", True, entry.VOTES, nan_if_diverged=True),
)

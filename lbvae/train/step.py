"""One optimisation step of one λβ-VAE (arXiv 2602.09277, §2 and §4).

``train_step(state, batch, rng) -> (state, metrics)`` is pure and written for a single
model; :mod:`lbvae.train.grid_runner` lifts it over the grid axis and compiles it once. β and
λ are read from the state, so they are traced values and one compilation serves every
member. Phase 1 members have λ = 0, where L_λβ equals L_β bit for bit.

A member whose loss or gradient is not finite is frozen: from that step on its
parameters, optimiser state and loss window stop changing, ``healthy`` becomes False
and ``frozen_step`` records the step. Other members are unaffected (every operation
is per member).

Synopsis::

    train_step = step.make_train_step(model, tx)
    state, metrics = train_step(state, images_uint8, rng)    # one model
    index = step.batch_indices(data_key, t, batch_size, num_examples)
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax

from lbvae import pytrees
from lbvae import losses
from lbvae.train.state import TrainState

StepFn = Callable[[TrainState, jnp.ndarray, jnp.ndarray], tuple[TrainState, dict]]


def batch_indices(data_key: jnp.ndarray, step: jnp.ndarray, batch_size: int,
                  num_examples: int) -> jnp.ndarray:
  """The dataset rows of one step's batch (uniform, with replacement).

  Args:
    data_key: uint32[2] raw data key of a seed.
    step: int32[] global step.
    batch_size: B.
    num_examples: size of the dataset.

  Returns:
    int32[B] grid indices in [0, num_examples).
  """
  key = jax.random.fold_in(jax.random.wrap_key_data(data_key), step)
  return jax.random.randint(key, (batch_size,), 0, num_examples, jnp.int32)


def noise_key(rng: jnp.ndarray, step: jnp.ndarray) -> jnp.ndarray:
  """The reparameterisation key of a step: fold_in(member noise key, step)."""
  return jax.random.fold_in(jax.random.wrap_key_data(rng), step)


def make_train_step(model, tx: optax.GradientTransformation) -> StepFn:
  """Builds ``train_step`` for a Flax VAE and an optax optimiser.

  Args:
    model: module with ``apply({"params": p}, x, rng) -> (logits, mu, logvar)``.
    tx: the optimiser.

  Returns:
    ``train_step(state, batch, rng) -> (state, metrics)`` where ``state`` is one
    model's :class:`TrainState`, ``batch`` is uint8[B, 64, 64, C] (converted to
    [0, 1] here), ``rng`` is the step's noise key; ``metrics`` holds float32[]
    ``nll``, ``kl``, ``l2``, ``loss`` (batch means) and bool[] ``finite``.
  """

  def train_step(state: TrainState, batch: jnp.ndarray, rng: jnp.ndarray):
    x = losses.as_float_images(batch)

    def loss_fn(params):
      logits, mu, logvar = model.apply({"params": params}, x, rng)
      return losses.lambda_beta_loss(logits, x, mu, logvar, beta=state.beta,
                                     lam=state.lam)

    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    finite = jnp.isfinite(loss) & pytrees.all_finite(grads)
    ok = state.healthy & finite
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)

    def keep(new, old):
      return jnp.where(ok, new, old)

    terms = jnp.stack([aux["nll"], aux["kl"], aux["l2"]])
    slot = state.window_count % state.window.shape[0]
    window = state.window.at[slot].set(keep(terms, state.window[slot]))
    logged = jnp.stack([aux[k] for k in ("nll", "kl", "l2", "loss")])
    newly_frozen = state.healthy & ~finite
    new_state = state.replace(
        params=jax.tree.map(keep, params, state.params),
        opt_state=jax.tree.map(keep, opt_state, state.opt_state),
        step=state.step + 1,
        window=window,
        window_count=state.window_count + ok.astype(jnp.int32),
        log_sums=state.log_sums + jnp.where(ok, logged, 0.0),
        log_count=state.log_count + ok.astype(jnp.int32),
        healthy=ok,
        frozen_step=jnp.where(newly_frozen, state.step, state.frozen_step))
    metrics = {"nll": aux["nll"], "kl": aux["kl"], "l2": aux["l2"], "loss": loss,
               "finite": finite}
    return new_state, metrics

  return train_step

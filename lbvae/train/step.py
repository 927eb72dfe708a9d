"""One optimisation step of one model (arXiv 2602.09277, §2 and §4).

``train_step(state, batch, rng) -> (state, metrics)`` is pure and written for one
model; :mod:`lbvae.train.grid_runner` lifts it over the grid axis and compiles it. The
loss is the objective's (:mod:`lbvae.objectives`; static, one compilation per
objective) plus λ·E‖x − g(z)‖²; the strength (the β axis) and λ are read from the
state, so one compilation serves every member, and at λ = 0 the loss equals the
objective's bit for bit. An objective's own state (FactorVAE's discriminator) steps
right after the model, on the same batch of codes. A member whose loss, gradient or
objective state is not finite is frozen from that step on: nothing of it changes,
``healthy`` becomes False and ``frozen_step`` records the step; other members are
unaffected.

Synopsis::

    train_step = step.make_train_step(model, tx, objectives.make("dip_vae_i"))
    state, metrics = train_step(state, images_uint8, rng)    # one model
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax

from lbvae import pytrees
from lbvae import losses
from lbvae import models
from lbvae import objectives as objectives_lib
from lbvae.train import state as state_lib
from lbvae.train.state import TrainState

StepFn = Callable[[TrainState, jnp.ndarray, jnp.ndarray], tuple[TrainState, dict]]


def memory_lower_bound(latent_dim: int, num_channels: int, batch_size: int) -> int:
  """Bytes that one model's step needs at least: the float32 activations of its
  forward pass over the batch and their gradients (every grid strategy trains at
  least one model at a time; parameters, optimiser and XLA's scratch come on top)."""
  return 2 * 4 * batch_size * models.activation_floats(latent_dim, num_channels)


def batch_indices(
  data_key: jnp.ndarray, step: jnp.ndarray, batch_size: int, num_examples: int
) -> jnp.ndarray:
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


def make_train_step(
  model,
  tx: optax.GradientTransformation,
  objective: objectives_lib.Objective | None = None,
) -> StepFn:
  """Builds ``train_step`` for a Flax VAE, an optax optimiser and an objective.

  Args:
    model: module with ``apply({"params": p}, x, rng) -> (logits, mu, logvar)``
      that decodes ``z = lbvae.models.reparameterize(rng, mu, logvar)`` (the step
      recomputes that z for the objectives that read it).
    tx: the optimiser.
    objective: an :class:`lbvae.objectives.Objective` (default: the β-VAE).

  Returns:
    ``train_step(state, batch, rng) -> (state, metrics)`` where ``state`` is one
    model's :class:`TrainState`, ``batch`` is uint8[B, 64, 64, C] (converted to
    [0, 1] here), ``rng`` is the step's noise key; ``metrics`` holds the float32[]
    batch means of ``objectives.log_fields(objective)`` (``nll``, ``kl``, ``l2``,
    ``loss``, then the objective's parts) and bool[] ``finite``.
  """
  objective = objectives_lib.make("beta_vae") if objective is None else objective
  fields = objectives_lib.log_fields(objective)

  def train_step(state: TrainState, batch: jnp.ndarray, rng: jnp.ndarray):
    x = losses.as_float_images(batch)

    def loss_fn(params):
      # The loss in float32 whatever the model's precision (config.precision).
      logits, mu, logvar = (
        a.astype(jnp.float32) for a in model.apply({"params": params}, x, rng)
      )
      z = models.reparameterize(rng, mu, logvar) if objective.needs_z else None
      total, parts = objectives_lib.lambda_loss(
        objective,
        logits,
        x,
        mu,
        logvar,
        z,
        strength=state.strength,
        lam=state.lam,
        step=state.step,
        state=state.objective_state,
      )
      return total, (parts, z)

    (loss, (aux, z)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    objective_state, extra = objective.update_state(state.objective_state, z, rng)
    aux = {**aux, **extra}
    finite = (
      jnp.isfinite(loss)
      & pytrees.all_finite(grads)
      & pytrees.all_finite(extra)
      & pytrees.all_finite(objective_state)
    )
    ok = state.healthy & finite
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)

    def keep(new, old):
      return jnp.where(ok, new, old)

    # The logged fields, by name (a new one is a new key: no checkpoint migration).
    slot = state.window_count % state_lib.window_length(state)
    window = {
      k: state.window[k].at[slot].set(keep(aux[k], state.window[k][slot]))
      for k in fields
    }
    newly_frozen = state.healthy & ~finite
    new_state = state.replace(
      params=jax.tree.map(keep, params, state.params),
      opt_state=jax.tree.map(keep, opt_state, state.opt_state),
      objective_state=jax.tree.map(keep, objective_state, state.objective_state),
      step=state.step + 1,
      window=window,
      window_count=state.window_count + ok.astype(jnp.int32),
      log_sums={k: state.log_sums[k] + jnp.where(ok, aux[k], 0.0) for k in fields},
      log_count=state.log_count + ok.astype(jnp.int32),
      healthy=ok,
      frozen_step=jnp.where(newly_frozen, state.step, state.frozen_step),
    )
    metrics = {k: aux[k] for k in fields}
    metrics["loss"] = loss
    metrics["finite"] = finite
    return new_state, metrics

  return train_step

"""The train states older checkpoints hold, read as today's :class:`TrainState`.

Three layouts of a phase checkpoint's ``state`` item (:mod:`lbvae.train.checkpoint`):

* today's: the loss window and the log sums keyed by logged field
  (``{field: float32[G, W]}``, ``{field: float32[G]}``);
* columns (until the fields were keyed by name): one float32[G, W, F] window and one
  float32[G, F] of sums, their F columns :data:`ARRAY_FIELDS` of the objective;
* legacy (before lbvae had objectives): columns, a window of :data:`LEGACY_WINDOW`
  only, and no ``objective_state``.

Whatever the layout, the state restored has the objective's logged fields of today
(:func:`with_fields`): a field logged since starts as NaN, so adding a logged quantity
needs no migration. Synopsis::

    target, convert = checkpoint_layouts.restore_plan(stored, abstract, "beta_vae")
    state = checkpoint_layouts.with_fields(convert(restored_tree), fields)
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import jax
import jax.numpy as jnp

from lbvae import errors
from lbvae.train.state import TrainState

# Before lbvae had objectives: a β-VAE state whose window held these columns.
LEGACY_WINDOW = ("nll", "kl", "l2")
# Before the logged fields were keyed by name: the columns of the window and of the
# log sums, by objective (the log sums of a legacy state: the β-VAE's).
ARRAY_FIELDS = {
  "beta_vae": ("nll", "kl", "l2", "loss"),
  "beta_tcvae": (
    "nll",
    "kl",
    "l2",
    "loss",
    "index_code_mi",
    "total_correlation",
    "dimension_kl",
  ),
  "dip_vae_i": ("nll", "kl", "l2", "loss", "cov_off_diagonal", "cov_diagonal"),
  "dip_vae_ii": ("nll", "kl", "l2", "loss", "cov_off_diagonal", "cov_diagonal"),
  "annealed_vae": ("nll", "kl", "l2", "loss", "capacity"),
  "factor_vae": (
    "nll",
    "kl",
    "l2",
    "loss",
    "total_correlation",
    "discriminator_loss",
    "discriminator_accuracy",
  ),
}


def _target(abstract: TrainState, window, log_sums, objective_state: bool) -> dict:
  """The on-disk tree of ``abstract`` with its logged fields stored as ``window``
  and ``log_sums`` say: field names (a dict) or a column count (one array)."""
  fields = {f.name: getattr(abstract, f.name) for f in dataclasses.fields(abstract)}
  like = next(iter(fields["window"].values()))  # [G, W]
  g, w = like.shape

  def layout(names, shape):
    if isinstance(names, int):
      return jax.ShapeDtypeStruct(shape + (names,), jnp.float32, sharding=like.sharding)
    return {
      k: jax.ShapeDtypeStruct(shape, jnp.float32, sharding=like.sharding) for k in names
    }

  fields["window"] = layout(window, (g, w))
  fields["log_sums"] = layout(log_sums, (g,))
  if not objective_state:
    del fields["objective_state"]
  return fields


def from_columns(tree: dict, names: Sequence[str]) -> dict:
  """A stored tree whose window and log sums are arrays of the columns ``names``,
  with both keyed by name."""
  return dict(
    tree,
    window=dict(zip(names, jnp.moveaxis(tree["window"], -1, 0))),
    log_sums=dict(zip(names, jnp.moveaxis(tree["log_sums"], -1, 0))),
  )


def from_legacy(tree: dict) -> dict:
  """A legacy β-VAE tree keyed by name: ``loss`` = nll + β·kl + λ·l2 of each stored
  step (equal to the step's loss up to rounding) joins the window; the objective
  state is ``{}``."""
  stored = dict(zip(LEGACY_WINDOW, jnp.moveaxis(tree["window"], -1, 0)))
  strength, lam = tree["strength"][:, None], tree["lam"][:, None]
  stored["loss"] = stored["nll"] + strength * stored["kl"] + lam * stored["l2"]
  sums = dict(zip(ARRAY_FIELDS["beta_vae"], jnp.moveaxis(tree["log_sums"], -1, 0)))
  return dict(tree, window=stored, log_sums=sums, objective_state={})


def restore_plan(
  stored: dict, abstract: TrainState, objective: str
) -> tuple[dict, Callable[[dict], dict]]:
  """How to read a checkpoint: (the target tree to restore, what makes the restored
  tree one keyed by name).

  Args:
    stored: the checkpoint's top-level metadata, by the library's field names
      (:meth:`lbvae.train.checkpoint.PhaseCheckpoints.stored_layout`).
    abstract: the state of today's layout to restore into (shapes, shardings).
    objective: the run's objective (the columns of its :data:`ARRAY_FIELDS`).

  Raises:
    lbvae.errors.CheckpointError: a legacy checkpoint of a run that is not a
      β-VAE's, or columns that are not the objective's.
  """
  window = stored["window"]
  if isinstance(window, dict):
    return (
      _target(abstract, tuple(window), tuple(stored["log_sums"]), True),
      lambda tree: tree,
    )
  if "objective_state" not in stored:
    errors.require(
      objective == "beta_vae",
      f"a beta_vae state (written before objectives existed), not {objective}",
      error=errors.CheckpointError,
    )
    return (
      _target(abstract, len(LEGACY_WINDOW), len(ARRAY_FIELDS["beta_vae"]), False),
      from_legacy,
    )
  names = ARRAY_FIELDS.get(objective, ())
  width = int(window.shape[-1])
  errors.require(
    width == len(names),
    f"its loss window has {width} columns, not the {len(names)} of {objective}",
    error=errors.CheckpointError,
  )
  return (_target(abstract, width, width, True), lambda tree: from_columns(tree, names))


def with_fields(tree: dict, fields: Sequence[str]) -> TrainState:
  """The state of a tree keyed by name, with exactly the logged ``fields``: a field
  it lacks (logged since) starts as NaN in the window's filled slots, and in the
  log sums when they hold steps (else 0); one beyond them is dropped."""
  window, sums = tree["window"], tree["log_sums"]
  like = next(iter(window.values()))  # [G, W]
  filled = (
    jnp.arange(like.shape[-1])[None, :]
    < jnp.minimum(tree["window_count"], like.shape[-1])[:, None]
  )
  nan = jnp.float32(jnp.nan)
  return TrainState(
    **dict(
      tree,
      window={
        k: window[k] if k in window else jnp.where(filled, nan, 0.0) for k in fields
      },
      log_sums={
        k: sums[k]
        if k in sums
        else jnp.where(tree["log_count"] > 0, nan, jnp.float32(0.0))
        for k in fields
      },
    )
  )

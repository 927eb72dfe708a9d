"""What every objective of :mod:`lbvae.objectives` provides, and the λ term they share.

An :class:`Objective` is a small frozen object (static under ``jit``: one compilation
per objective) whose :meth:`~Objective.loss` is a pure function of one batch::

    total, parts = objective.loss(logits, x, mu, logvar, z, strength=s, step=t,
                                  state=aux)

``strength`` is the traced value on the grid's β axis (:attr:`Objective.strength_label`
names it), ``step`` the global step (int32[]), ``state`` the objective's per-model
pytree (``{}`` except FactorVAE's discriminator). ``parts`` holds the batch means
``nll`` and ``kl`` (the closed-form rate, whatever the objective) and
:attr:`Objective.parts`. :func:`lambda_loss` adds the λβ-VAE's penalty
(arXiv 2602.09277, §2), total + λ·E‖x − g(z)‖²; at λ = 0 total and gradient are the
objective's bit for bit. :data:`FIELD_LABELS` are the batch means logged before the
parts (``train_log.csv``, ``final_metrics.csv``); an
:class:`Entry` at the end of each objective's module is how :mod:`lbvae.objectives`
finds it (its name, its config group and that group's defaults).
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Callable, ClassVar, Mapping

import jax.numpy as jnp

from lbvae import losses

# The batch means every train step logs, before the objective's parts, and their
# report.md headers. REPORTED are also metrics.csv's and report.md's training columns.
FIELD_LABELS = {"nll": "NLL", "kl": "KL", "l2": "L2", "loss": "loss"}
BASE_FIELDS = tuple(FIELD_LABELS)
REPORTED = ("nll", "kl", "l2")


@dataclasses.dataclass(frozen=True)
class Objective(abc.ABC):
  """The interface; subclasses set the class attributes and :meth:`loss`.

  Attributes:
    name: the ``config.objective`` value.
    title: how reports name it (e.g. "β-TCVAE").
    strength_label: what the grid's β axis holds for it (e.g. "β (TC weight)").
    parts: its own batch-mean values, reported beside nll, kl, l2 and loss.
    part_labels: report.md's headers of the parts it shows there.
    needs_z: whether :meth:`loss` reads the reparameterised sample ``z``.
    reference: the paper it implements.
  """

  name: ClassVar[str] = ""
  title: ClassVar[str] = ""
  strength_label: ClassVar[str] = ""
  parts: ClassVar[tuple[str, ...]] = ()
  part_labels: ClassVar[Mapping[str, str]] = {}
  needs_z: ClassVar[bool] = False
  reference: ClassVar[str] = ""

  @abc.abstractmethod
  def loss(self, logits, x, mu, logvar, z, *, strength, step, state):
    """Batch-mean phase-1 loss: (total float32[], parts {name: float32[]})."""

  def init_state(self, key_data) -> Any:
    """The objective's state of one model from its raw key data (uint32[2])."""
    del key_data
    return {}

  def restart_state(self, state) -> Any:
    """The state a phase-2 member starts from, given its parent's (phase 1)."""
    return state

  def update_state(self, state, z, key):
    """The objective's own training step after the model's.

    Args:
      state: the objective's state of one model.
      z: float32[B, L], the step's reparameterised sample (or None).
      key: a PRNG key for this step.

    Returns:
      (new state, parts {name: float32[]}). The train step freezes the model when
      either holds a non-finite value.
    """
    del z, key
    return state, {}


def _no_options(config, dataset_size: int) -> dict:
  del config, dataset_size
  return {}


def _no_check(config) -> None:
  del config


@dataclasses.dataclass(frozen=True)
class Entry:
  """An objective as :mod:`lbvae.objectives` lists it.

  Attributes:
    name: the ``config.objective`` value.
    make: ``**options -> Objective``.
    group: the config group of its settings (``config.<group>``), or None.
    defaults: that group's fields at their defaults, the objective's own defaults.
    options: ``(config, dataset_size) -> make's options`` for a sweep config.
    check: raises :class:`lbvae.errors.ConfigError` on a bad value of the group.
  """

  name: str
  make: Callable[..., Objective]
  group: str | None = None
  defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  options: Callable[[Any, int], dict] = _no_options
  check: Callable[[Any], None] = _no_check


def log_fields(objective: Objective) -> tuple[str, ...]:
  """The batch means a train step reports: nll, kl, l2, loss, then the parts."""
  return BASE_FIELDS + tuple(objective.parts)


def nll_and_kl(logits, x, mu, logvar):
  """Batch means of the Bernoulli NLL and the closed-form KL: two float32[]."""
  return (
    jnp.mean(losses.bernoulli_nll(logits, x)),
    jnp.mean(losses.gaussian_kl(mu, logvar)),
  )


def lambda_loss(
  objective: Objective,
  logits,
  x,
  mu,
  logvar,
  z=None,
  *,
  strength,
  lam,
  step=0,
  state=None,
):
  """The objective plus λ·E‖x − g(z)‖², batch means.

  Args:
    objective: an :class:`Objective`.
    logits: float32[B, H, W, C] decoder logits; x: [B, H, W, C] targets (float in
      [0, 1] or uint8 pixels); mu, logvar: float32[B, L]; z: float32[B, L], the
      sample the logits were decoded from (needed when ``objective.needs_z``).
    strength: the β-axis value (scalar, may be traced).
    lam: the L2-penalty weight λ (scalar, may be traced).
    step: the global step (int32[], may be traced).
    state: the objective's state (default ``{}``).

  Returns:
    (total float32[], {"nll", "kl", "l2", "loss", *objective.parts}: float32[]).
  """
  x = losses.as_float_images(x)
  total, parts = objective.loss(
    logits,
    x,
    mu,
    logvar,
    z,
    strength=strength,
    step=step,
    state={} if state is None else state,
  )
  l2 = jnp.mean(losses.l2_penalty(logits, x))
  total = total + lam * l2
  return total, {**parts, "l2": l2, "loss": total}

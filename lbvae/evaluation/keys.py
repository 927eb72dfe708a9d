"""A model's identity in the evaluation pass (arXiv 2602.09277, §4 grids).

A model is (phase, the objective's strength, λ, seed): :class:`ModelKey`. Files spell
the four as ``phase, beta, lambda, seed`` (CSV columns, JSON keys; ``beta`` holds
the strength of any objective) and name the model by :attr:`ModelKey.id`, e.g.
``p2_b16_l4_s0`` (cache entries, per-model figures, ``published_mi.npz``).
:class:`PhaseMember` is a model as the trainer left it in a phase: its key, its row
on the grid axis (``index``; ``"member"`` in ``grid.json``) and its health.

Synopsis::

  key = keys.ModelKey.from_row({"phase": 2, "beta": 16, "lambda": 4, "seed": 0})
  key.id, key.name()          # "p2_b16_l4_s0", "phase 2, β=16, λ=4, seed 0"
"""

from __future__ import annotations

import dataclasses
from typing import Mapping


@dataclasses.dataclass(frozen=True, order=True)
class ModelKey:
  """One model of a run; ordered by phase, strength, λ, seed (the tables' order).

  Attributes:
    phase: 1 (the objective) or 2 (the objective + λ·L2).
    strength: the objective's strength (β, C_max, γ or λ_od; the file name ``beta``).
    lam: λ, the L2 weight (0 in phase 1; the file name ``lambda``).
    seed: the model's seed.
  """

  phase: int
  strength: float
  lam: float
  seed: int

  def __post_init__(self):
    # One type per field, whatever the caller passed: as_row's JSON stays the same.
    for name, kind in (
      ("phase", int),
      ("strength", float),
      ("lam", float),
      ("seed", int),
    ):
      object.__setattr__(self, name, kind(getattr(self, name)))

  @classmethod
  def from_row(cls, row: Mapping) -> ModelKey:
    """The key of a row with the file names ``phase, beta, lambda, seed``."""
    return cls(row["phase"], row["beta"], row["lambda"], row["seed"])

  def as_row(self) -> dict:
    """``{"phase", "beta", "lambda", "seed"}``: the key in files' names."""
    return {
      "phase": self.phase,
      "beta": self.strength,
      "lambda": self.lam,
      "seed": self.seed,
    }

  @property
  def id(self) -> str:
    """File-name stem: ``p2_b16_l4_s0``."""
    return f"p{self.phase}_b{self.strength:g}_l{self.lam:g}_s{self.seed}"

  def name(self) -> str:
    """The report's name: ``phase 1, β=4, seed 0``, ``phase 2, β=4, λ=2, seed 0``."""
    lam = "" if self.phase == 1 else f", λ={self.lam:g}"
    return f"phase {self.phase}, β={self.strength:g}{lam}, seed {self.seed}"


@dataclasses.dataclass(frozen=True)
class PhaseMember:
  """A model as the trainer left it in a phase's checkpoint.

  Attributes:
    key: its :class:`ModelKey`.
    index: its row on the grid axis of the phase's parameters.
    finite: False when the trainer froze it after a non-finite loss.
    frozen_step: the step it was frozen at (None when it was not).
  """

  key: ModelKey
  index: int
  finite: bool = True
  frozen_step: int | None = None


# What names a model where a function takes one: a key, a member or a file row.
ModelLike = ModelKey | PhaseMember | Mapping


def key_of(model: ModelLike) -> ModelKey:
  """The key of a model given as a key, a phase member or a row (file names)."""
  if isinstance(model, ModelKey):
    return model
  if isinstance(model, PhaseMember):
    return model.key
  return ModelKey.from_row(model)

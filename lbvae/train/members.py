"""The members of a training grid: which (β, λ, seed) each row of the state holds.

The image protocol of arXiv 2602.09277 (§4; docs/method.md) trains two grids:

* phase 1: β × seed, under ``config.objective`` (L_β by default; λ = 0);
* phase 2: β × λ × seed, each member continued from its phase-1 parent (same β and
  seed) with λ added and a fresh optimiser; λ = 0 is the equal-compute baseline.

Members are ordered β-major, then λ, then seed, and the order is the leading axis of
every leaf of the train state. A seed fixes the parameter init, the data order and the
reparameterisation noise, so all members of one seed see the same batches.

Synopsis::

    grid = members.phase_grid(config, phase=2)
    grid[3].strength, grid[3].lam, grid[3].seed, grid[3].parent
    members.parents(grid)            # int32[G]: phase-1 row of each phase-2 member
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from lbvae import errors


@dataclasses.dataclass(frozen=True)
class Member:
  """One model of a grid.

  Attributes:
    index: row of the member in the grid state.
    strength: the objective's strength on the grid's β axis (β for the β-VAE; what
      each objective puts there: lbvae.objectives); ``config.betas`` and the files'
      ``beta`` column outside the library.
    lam: L2-penalty weight λ (0 in phase 1).
    seed: seed index in [0, num_seeds).
    parent: phase 2 only: the row of the phase-1 member it continues (same β, seed).
  """

  index: int
  strength: float
  lam: float
  seed: int
  parent: int | None = None

  def label(self) -> str:
    """Short human-readable name, e.g. ``beta=4 lambda=2 seed=0``."""
    return f"beta={self.strength:g} lambda={self.lam:g} seed={self.seed}"

  def as_dict(self) -> dict:
    out = {
      "member": self.index,
      "beta": self.strength,
      "lambda": self.lam,
      "seed": self.seed,
    }
    if self.parent is not None:
      out["parent"] = self.parent
    return out


def check_weights(name: str, values: Sequence, symbol: str, *, distinct: bool) -> None:
  """Raises :class:`lbvae.errors.ConfigError` unless ``values`` holds at least one
  number and each is finite and >= 0 (with ``distinct``, none twice).

  Args:
    name: what the message calls them (``config.betas``, ``betas``).
    values: the grid's strengths or λ.
    symbol: one of them in words (``beta``, ``lambda``).
    distinct: refuse repeated values (a config's grid does; ``init_grid`` not).
  """
  errors.require(
    len(values) > 0, f"{name} is empty: the grid needs at least one {symbol}"
  )
  for v in values:
    errors.require(
      isinstance(v, (int, float)) and not isinstance(v, bool),
      f"{name} must hold numbers, got {v!r}",
    )
    errors.require(
      math.isfinite(v) and v >= 0, f"{name} must hold finite values >= 0, got {v!r}"
    )
  if distinct:
    errors.require(
      len(set(float(v) for v in values)) == len(values),
      f"{name} has repeated values: {tuple(values)}",
    )


def phase1_grid(betas: Sequence[float], num_seeds: int) -> list[Member]:
  """The β × seed grid of phase 1 (λ = 0), β-major."""
  return [
    Member(i, float(b), 0.0, s)
    for i, (b, s) in enumerate((b, s) for b in betas for s in range(num_seeds))
  ]


def phase2_grid(
  betas: Sequence[float], lambdas: Sequence[float], num_seeds: int
) -> list[Member]:
  """The β × λ × seed grid of phase 2, β-major; ``parent`` indexes phase 1."""
  out = []
  for bi, b in enumerate(betas):
    for lam in lambdas:
      for s in range(num_seeds):
        out.append(Member(len(out), float(b), float(lam), s, parent=bi * num_seeds + s))
  return out


def phase_grid(config, phase: int) -> list[Member]:
  """The grid of ``phase`` (1 or 2) for a config with ``betas``, ``lambdas``, ``num_seeds``."""
  if phase == 1:
    return phase1_grid(config.betas, config.num_seeds)
  if phase == 2:
    return phase2_grid(config.betas, config.lambdas, config.num_seeds)
  raise ValueError(f"phase must be 1 or 2, got {phase}")


def column(grid: Sequence[Member], field: str, dtype) -> np.ndarray:
  """One field of every member as an array, e.g. ``column(grid, "lam", np.float32)``."""
  return np.asarray([getattr(m, field) for m in grid], dtype)


def parents(grid: Sequence[Member]) -> np.ndarray:
  """int32[G]: the phase-1 row each phase-2 member continues."""
  if any(m.parent is None for m in grid):
    raise ValueError("parents() needs a phase-2 grid")
  return column(grid, "parent", np.int32)

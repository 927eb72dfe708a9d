"""The memory a sweep config's sizes need, for :func:`lbvae.memory.require`.

A sweep holds at once (arXiv 2602.09277, §4 grids): every member's train state on
the device (parameters, the optimiser's moments, the objective's state and the
loss window of ``config.window`` steps; phase 2's grid is β × λ × seeds), one
model's step over ``config.batch_size`` images at least (its activations and their
gradients; ``lbvae.train.step.memory_lower_bound``), and the collapse probe's
sample (``lbvae.train.collapse.memory_needs``). Each figure is a lower bound.
Synopsis::

    memory.require(sizes.needs(config, num_channels=1, objective=objective))
"""

from __future__ import annotations

import jax

from lbvae import memory
from lbvae.train import collapse
from lbvae.train import members as members_lib
from lbvae.train import state as state_lib
from lbvae.train import step as step_lib


def model_state_bytes(config, num_channels: int, objective) -> int:
  """Bytes of one member's train state: its leaves' sizes, from shapes alone."""
  model = state_lib.make_model(config, num_channels)
  grid = members_lib.phase1_grid([1.0], 1)
  abstract = state_lib.abstract_state(
    model,
    state_lib.make_optimizer(config),
    grid,
    state_lib.seed_keys(config.seed, 1),
    window=int(config.window),
    objective=objective,
  )
  return sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(abstract))


def needs(config, *, num_channels: int, objective) -> list[memory.Need]:
  """What a sweep of ``config`` on images of ``num_channels`` holds at once."""
  g1 = len(config.betas) * int(config.num_seeds)
  g2 = g1 * len(config.lambdas)
  per_model = model_state_bytes(config, num_channels, objective)
  step = step_lib.memory_lower_bound(config.latent_dim, num_channels, config.batch_size)
  return [
    memory.Need(
      f"config.batch_size={config.batch_size}",
      step,
      "one model's step (its activations and their gradients)",
      "use a smaller batch_size",
    ),
    memory.Need(
      f"the grid of {g2} models (config.betas x lambdas x num_seeds="
      f"{config.num_seeds}) with config.window={config.window}",
      max(g1, g2) * per_model,
      f"its train states ({per_model / 2**20:.1f} MiB per model: "
      "parameters, optimiser state, loss window)",
      "train fewer models at once (fewer betas, lambdas or seeds, in "
      "separate workdirs) or use a smaller window",
    ),
    *collapse.memory_needs(config, num_channels),
  ]

"""Orbax checkpoints of a training phase (arXiv 2602.09277, §4: phase 1 and phase 2).

One ``orbax.checkpoint.CheckpointManager`` per phase, in ``DIR/phaseN/checkpoints``.
Each checkpoint ``<step>/`` holds two items:

* ``state`` -- the full grid :class:`~lbvae.train.state.TrainState` (params, Adam
  state, step, noise keys, β, λ, seed, loss windows, log sums, health flags), every
  leaf with the member axis first, so resuming is exact;
* ``meta`` -- JSON: ``{"phase", "step", "start_step", "end_step", "members": [{"member",
  "beta", "lambda", "seed", ["parent",] "finite", "frozen_step"}]}``.

``step`` is the global optimisation step (phase 2 continues counting from the end of
phase 1). Writes are atomic (orbax writes into a temporary directory and renames it
when complete) and synchronous, so a checkpoint on disk is always whole.

Synopsis::

    ckpts = checkpoint.PhaseCheckpoints(path, keep=2)
    ckpts.save(step, state, meta)
    state, meta = ckpts.restore(ckpts.latest_step(), abstract_state)
    params, meta = checkpoint.load_params(path)     # evaluation: no model needed
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp

ITEMS = ("state", "meta")


def _options(keep: int | None = None, read_only: bool = False):
  if read_only:
    return ocp.CheckpointManagerOptions(read_only=True,
                                        enable_async_checkpointing=False)
  return ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                      enable_async_checkpointing=False)


class PhaseCheckpoints:
  """The checkpoints of one phase.

  Args:
    directory: ``DIR/phaseN/checkpoints``.
    keep: how many of the most recent checkpoints to keep (the latest always stays).
  """

  def __init__(self, directory: str, keep: int = 2):
    self.directory = os.path.abspath(directory)
    self._manager = ocp.CheckpointManager(self.directory, options=_options(keep),
                                          item_names=ITEMS)

  def latest_step(self) -> int | None:
    """The newest complete checkpoint's step, or None."""
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state, meta: dict) -> None:
    """Writes the state and its metadata at ``step`` (blocks until on disk)."""
    self._manager.save(int(step), args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)))
    self._manager.wait_until_finished()

  def restore(self, step: int, abstract_state) -> tuple[Any, dict]:
    """Reads the checkpoint at ``step``.

    Args:
      step: a step of :meth:`all_steps`.
      abstract_state: a state (or ``jax.ShapeDtypeStruct`` tree) of the same
        structure, e.g. from ``jax.eval_shape``.

    Returns:
      (state, meta).
    """
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
    out = self._manager.restore(int(step), args=ocp.args.Composite(
        state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore()))
    return out.state, out.meta

  def close(self) -> None:
    self._manager.close()


def load_params(directory: str, step: int | None = None) -> tuple[Any, dict]:
  """Parameters and metadata of a phase checkpoint, without a model or optimiser.

  Args:
    directory: ``DIR/phaseN/checkpoints``.
    step: which checkpoint (default: the latest).

  Returns:
    (params: nested dict of arrays with leading axis G = number of members,
    meta: the checkpoint's JSON metadata, see the module docstring).

  Raises:
    FileNotFoundError: no checkpoint in ``directory``.
  """
  manager = ocp.CheckpointManager(os.path.abspath(directory),
                                  options=_options(read_only=True), item_names=ITEMS)
  try:
    step = manager.latest_step() if step is None else int(step)
    if step is None:
      raise FileNotFoundError(f"no checkpoint in {directory}")
    out = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(), meta=ocp.args.JsonRestore()))
  finally:
    manager.close()
  return out.state["params"], out.meta

"""Grid training of β-VAEs and λβ-VAEs with orbax checkpoints (arXiv 2602.09277, §4).

A β × λ × seed grid trains as one compiled program: every leaf of the state has a
leading grid axis and one ``train_step`` is lifted over it. A sweep runs phase 1 (an
objective of :mod:`lbvae.objectives`, the β-VAE by default) and phase 2 (the same
+ λ·E‖x − g(z)‖², fresh optimiser), with checkpoints and exact resume.

Modules: :mod:`~lbvae.train.members` (the grid rows), :mod:`~lbvae.train.state`,
:mod:`~lbvae.train.step` (one model's step), :mod:`~lbvae.train.grid_runner` (lift
and jit), :mod:`~lbvae.train.sharding` and :mod:`~lbvae.train.hosts` (devices and
hosts), :mod:`~lbvae.train.loop` (the two phases), :mod:`~lbvae.train.collapse`
(the probe); :mod:`~lbvae.train.checkpoint` (with
:mod:`~lbvae.train.checkpoint_layouts`, older checkpoints),
:mod:`~lbvae.train.workdir`, :mod:`~lbvae.train.event_files` (TensorBoard's live
curves), :mod:`~lbvae.train.progress`, :mod:`~lbvae.train.config`: files, bars,
checks.

Synopsis (docs/library.md grids a model without a config)::

    from lbvae import train
    train.train(config, "runs/default")                   # both phases, resumable
    params, meta = train.load_params("runs/default/phase2/checkpoints")
"""

from lbvae.train.checkpoint import load_params
from lbvae.train.loop import train
from lbvae.train.members import Member
from lbvae.train.state import TrainState
from lbvae.train.state import init_grid
from lbvae.train.state import window_means
from lbvae.train.step import batch_indices
from lbvae.train.step import make_train_step
from lbvae.train.step import noise_key
from lbvae.train.workdir import load_config

__all__ = [
  "Member",
  "TrainState",
  "batch_indices",
  "init_grid",
  "load_config",
  "load_params",
  "make_train_step",
  "noise_key",
  "train",
  "window_means",
]

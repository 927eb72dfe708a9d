"""Grid training of β-VAEs and λβ-VAEs with orbax checkpoints (arXiv 2602.09277, §4).

A whole β × λ × seed grid trains as one compiled program: the state of every model
carries a leading grid axis, one ``train_step`` is lifted over it and jitted once, and
a sweep runs phase 1 (β-VAE, or another objective of :mod:`lbvae.objectives` with its
strength on the β axis) and phase 2 (the same objective + λ·E‖x − g(z)‖², with a fresh
optimiser) with periodic checkpoints and exact resume.

Modules:

* :mod:`~lbvae.train.members` -- the (β, λ, seed) of every grid row;
* :mod:`~lbvae.train.state` -- the train state, model and optimiser from a config;
* :mod:`~lbvae.train.step` -- one optimisation step of one model;
* :mod:`~lbvae.train.grid_runner` -- lifting over the grid (vmap / lax.map / loop) and jit;
* :mod:`~lbvae.train.sharding` -- the grid over devices and hosts, padding, chunks;
* :mod:`~lbvae.train.loop` -- the two phases, logs, checkpoints, resume;
* :mod:`~lbvae.train.checkpoint`, :mod:`~lbvae.train.workdir`,
  :mod:`~lbvae.train.progress`, :mod:`~lbvae.train.config` -- files, bars, checks.

Synopsis::

    from lbvae import train
    train.train(config, "runs/default")                   # both phases, resumable
    params, meta = train.load_params("runs/default/phase2/checkpoints")

As a library, without a config (docs/library.md runs this)::

    model = lbvae.models.VAE(latent_dim=10, num_channels=1)
    tx = optax.adam(1e-4)
    state, members = train.init_grid(model, tx, betas=(1, 4, 16), lambdas=(0, 2))
    step = train.make_train_step(model, tx)        # one model: (state, batch, rng)
    grid_step = jax.jit(jax.vmap(step))             # lifted over the grid axis
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

__all__ = ["Member", "TrainState", "batch_indices", "init_grid", "load_config",
           "load_params", "make_train_step", "noise_key", "train", "window_means"]

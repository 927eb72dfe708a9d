"""The train state of one λβ-VAE and of a grid of them (arXiv 2602.09277, §4).

A :class:`TrainState` is a small pytree; a grid of G models stacks the one-model
leaves on a new leading axis, so that the step lifts with ``jax.vmap``/``lax.map``
and checkpoints as one tree. Keys come from :func:`seed_keys`: members of one seed
share the init, the batches and the noise. The ``objective`` arguments default to the
β-VAE. The loss window and the log sums hold one entry per logged field (F =
``objectives.log_fields(objective)``: nll, kl, l2, loss, then the objective's parts),
keyed by its name, so a checkpoint of other fields still restores
(:mod:`lbvae.train.checkpoint_layouts`).

Synopsis::

    model, tx = state.make_model(config, num_channels=1), state.make_optimizer(config)
    keys = state.seed_keys(config.seed, config.num_seeds)       # SeedKeys
    s1 = state.phase1_state(model, tx, grid1, keys, window=config.window)
    s2 = state.phase2_state(tx, grid2, s1, keys, window=config.window)
    means = state.window_means(s2)          # {field: float32[G]}
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

from lbvae import pytrees
from lbvae import devices
from lbvae import errors
from lbvae import initializers
from lbvae import models
from lbvae import objectives as objectives_lib
from lbvae.train import members as members_lib

INIT_STREAM, DATA_STREAM, NOISE_STREAM = 0, 1, 2
MODEL_IMPLS = ("auto",) + models.IMPLS
# The initial weights of a config written before ``model.init`` existed.
LEGACY_INIT = "flax"


@flax.struct.dataclass
class TrainState:
  """Everything needed to continue training one model exactly (leading G for a grid).

  Attributes:
    params: the VAE parameters (a pytree of float32 arrays).
    opt_state: the optax (Adam) state.
    objective_state: the objective's own state (``{}`` but for FactorVAE: its
      discriminator's ``{"params", "opt_state"}``).
    step: int32[], optimisation steps taken so far, counted over both phases.
    rng: uint32[2], raw key data of the member's noise key.
    strength: float32[], the objective's strength (the KL weight β of the β-VAE;
      see ``Objective.strength_label``); stored as ``beta`` in checkpoints
      (:mod:`lbvae.train.checkpoint`).
    lam: float32[], L2-penalty weight.
    seed: int32[], seed index.
    window: {field: float32[W]}, ring buffers of the last W steps' logged fields.
    window_count: int32[], healthy steps written into ``window`` in this phase.
    log_sums: {field: float32[]}, sums of the logged fields since the last log row.
    log_count: int32[], healthy steps in ``log_sums``.
    healthy: bool[], False once a loss or gradient was non-finite (then frozen).
    frozen_step: int32[], the step that froze the member, -1 while healthy.
  """

  params: Any
  opt_state: Any
  objective_state: Any
  step: jnp.ndarray
  rng: jnp.ndarray
  strength: jnp.ndarray
  lam: jnp.ndarray
  seed: jnp.ndarray
  window: jnp.ndarray
  window_count: jnp.ndarray
  log_sums: jnp.ndarray
  log_count: jnp.ndarray
  healthy: jnp.ndarray
  frozen_step: jnp.ndarray


@dataclasses.dataclass(frozen=True)
class SeedKeys:
  """Raw (uint32[S, 2]) keys per seed index for the three random streams."""

  init: np.ndarray
  data: np.ndarray
  noise: np.ndarray


def check_latent_dim(latent_dim) -> None:
  """Raises :class:`lbvae.errors.ConfigError` unless ``latent_dim`` is an integer in
  [1, ``models.MAX_LATENT_DIM``]."""
  errors.require(
    isinstance(latent_dim, int)
    and not isinstance(latent_dim, bool)
    and 1 <= latent_dim <= models.MAX_LATENT_DIM,
    f"config.latent_dim must be an integer in [1, {models.MAX_LATENT_DIM}] "
    f"(the encoder's {models.HIDDEN} hidden units span at most that many "
    f"independent latents), got {latent_dim!r}",
  )


def make_model(config, num_channels: int, backend: str | None = None) -> models.VAE:
  """The one place a config becomes a model (``config.model_impl`` picks the layers,
  ``config.model.init`` the initial weights, ``config.precision`` the dtype of the
  activations and convolutions).

  Args:
    config: a ConfigDict or a plain mapping with ``latent_dim`` and, optionally,
      ``model_impl`` (default ``"auto"``) and ``model.init`` (default
      :data:`LEGACY_INIT`, what a config written before the field trained with).
    num_channels: image channels of the dataset.
    backend: the backend the model is traced for ("cpu", "gpu", "tpu"; None: the
      current one), which decides ``model_impl="auto"``.

  Returns:
    The Flax module.

  Raises:
    lbvae.errors.ConfigError: an unknown ``model_impl``, ``model.init`` or
      ``precision``, or a bad ``latent_dim``.
  """
  impl = config.get("model_impl", "auto")
  latent_dim = config.get("latent_dim")
  errors.require(
    impl in MODEL_IMPLS,
    f"config.model_impl must be one of {', '.join(MODEL_IMPLS)}, got {impl!r}",
  )
  check_latent_dim(latent_dim)
  init = model_init(config)
  initializers.check_init(init)
  precision = config.get("precision", "f32")
  check_precision(precision)
  return models.VAE(
    latent_dim=latent_dim,
    num_channels=int(num_channels),
    impl=resolve_impl(impl, backend),
    weight_init=init,
    dtype=models.PRECISIONS[precision],
  )


def check_precision(precision) -> None:
  """Raises :class:`lbvae.errors.ConfigError` unless ``precision`` is a key of
  ``models.PRECISIONS``."""
  errors.require(
    precision in models.PRECISIONS,
    f"config.precision must be one of {', '.join(models.PRECISIONS)}, "
    f"got {precision!r}",
  )


def model_init(config) -> str:
  """``config.model.init``, or :data:`LEGACY_INIT` for a config without it."""
  group = config.get("model") or {}
  return group.get("init", LEGACY_INIT) if hasattr(group, "get") else LEGACY_INIT


def resolve_impl(model_impl: str, backend: str | None = None) -> str:
  """``auto`` -> the formulation with the least work on ``backend`` (default: the
  current one): ``subpixel`` on CPU and GPU, ``reference`` on TPU.

  The sub-pixel layers pick their kernels when the program is lowered for its devices
  (:mod:`lbvae.layers`): matrix products on XLA:CPU, where they beat the reference
  transposed convolutions; on a GPU, convolutions without zero-dilated inputs, where
  the reference's transposed convolutions and input gradients become convolutions
  over inputs padded with zeros (2.3x the FLOPs and 1.5x the bytes per step compiled
  for an H100). The TPU compiler runs the reference's dilated convolutions natively and
  the sub-pixel forms move more bytes there (v5e: docs/performance.md, "The grid
  step's bytes"). Both formulations compute the same function with the same parameters
  (tests/test_layers.py), so checkpoints are interchangeable and the choice may change
  between runs of one workdir.
  """
  if model_impl != "auto":
    return model_impl
  return "reference" if devices.on_tpu(backend) else "subpixel"


def make_optimizer(config) -> optax.GradientTransformation:
  """Adam with the config's learning rate and moments (docs/method.md §4: 1e-4, 0.9, 0.999, 1e-8)."""
  return optax.adam(
    config.learning_rate, b1=config.adam_b1, b2=config.adam_b2, eps=config.adam_eps
  )


def seed_keys(root_seed: int, num_seeds: int) -> SeedKeys:
  """The init, data and noise keys of every seed index (``jax.random.fold_in``).

  The root key ``key(root_seed)`` is folded with the seed index, then with
  :data:`INIT_STREAM` (parameters), :data:`DATA_STREAM` (data order) or
  :data:`NOISE_STREAM` (reparameterisation noise); the step number is later folded
  into the data and noise keys. An objective's own state (FactorVAE's
  discriminator) starts from the seed's init key
  (:meth:`lbvae.objectives.Objective.init_state`).
  """
  root = jax.random.key(int(root_seed))
  per_seed = [jax.random.fold_in(root, s) for s in range(num_seeds)]

  def stream(i):
    return np.stack(
      [np.asarray(jax.random.key_data(jax.random.fold_in(k, i))) for k in per_seed]
    )

  return SeedKeys(stream(INIT_STREAM), stream(DATA_STREAM), stream(NOISE_STREAM))


def init_params(model: models.VAE, key_data: np.ndarray):
  """Initial parameters, one set per row of ``key_data`` (uint32[S, 2]) -> leading S.

  Runs once per sweep, so it is compiled without XLA's backend optimisations: the
  dozen random initialisers are slow to optimise and the program runs only once
  (docs/performance.md has the compile times).
  """
  key_data = jnp.asarray(key_data)
  lowered = jax.jit(jax.vmap(_init_one(model))).lower(key_data)
  return lowered.compile({"xla_backend_optimization_level": 0})(key_data)


def _init_one(model: models.VAE):
  def one(k):
    x = jnp.zeros((1, 64, 64, model.num_channels), jnp.float32)
    key = jax.random.wrap_key_data(k)
    return model.init(key, x, jax.random.fold_in(key, 1))["params"]

  return one


def objective_states(
  objective: objectives_lib.Objective,
  grid: Sequence[members_lib.Member],
  keys: SeedKeys,
):
  """Each member's initial objective state (from its seed's init key): leading G."""
  per_seed = jax.jit(jax.vmap(objective.init_state))(jnp.asarray(keys.init))
  return take(per_seed, members_lib.column(grid, "seed", np.int32))


def grid_state(
  params,
  tx: optax.GradientTransformation,
  grid: Sequence[members_lib.Member],
  keys: SeedKeys,
  *,
  step: int,
  window: int,
  objective: objectives_lib.Objective | None = None,
  objective_state=None,
  healthy=None,
  frozen_step=None,
) -> TrainState:
  """A fresh grid state (new optimiser, empty windows) around given parameters.

  Args:
    params: parameter pytree with leading axis G = len(grid).
    tx: the optimiser; its state is initialised per member.
    grid: the members, in row order.
    keys: per-seed keys; member rows take the noise key of their seed.
    step: the global step the members are at.
    window: W, the length of the loss window.
    objective: the objective (default: the β-VAE).
    objective_state: its state with leading axis G (default: initialised from
      each member's seed, :func:`objective_states`).
    healthy: optional bool[G] (default all True).
    frozen_step: optional int32[G] (default all -1).

  Returns:
    TrainState with leading axis G on every leaf.
  """
  objective = objectives_lib.make("beta_vae") if objective is None else objective
  if objective_state is None:
    objective_state = objective_states(objective, grid, keys)
  g, fields = len(grid), objectives_lib.log_fields(objective)
  seeds = members_lib.column(grid, "seed", np.int32)
  fixed = {
    "rng": keys.noise[seeds],
    "strength": members_lib.column(grid, "strength", np.float32),
    "lam": members_lib.column(grid, "lam", np.float32),
    "seed": seeds,
    "healthy": (np.ones((g,), bool) if healthy is None else np.asarray(healthy, bool)),
    "frozen_step": (
      np.full((g,), -1, np.int32)
      if frozen_step is None
      else np.asarray(frozen_step, np.int32)
    ),
  }

  @jax.jit
  def build(params, objective_state, fixed):
    return TrainState(
      params=params,
      opt_state=jax.vmap(tx.init)(params),
      objective_state=objective_state,
      step=jnp.full((g,), step, jnp.int32),
      window={k: jnp.zeros((g, window), jnp.float32) for k in fields},
      window_count=jnp.zeros((g,), jnp.int32),
      log_sums={k: jnp.zeros((g,), jnp.float32) for k in fields},
      log_count=jnp.zeros((g,), jnp.int32),
      **fixed,
    )

  return build(params, objective_state, fixed)


def init_grid(
  model: models.VAE,
  tx: optax.GradientTransformation,
  *,
  betas: Sequence[float],
  lambdas: Sequence[float] = (0.0,),
  num_seeds: int = 1,
  seed: int = 0,
  window: int = 100,
  objective: objectives_lib.Objective | None = None,
) -> tuple[TrainState, list[members_lib.Member]]:
  """A fresh grid of β × λ × seed models, without a config (for library use).

  Members are ordered β-major, then λ, then seed; members of one seed share their
  initial parameters, data order and noise (as in a sweep's phase 1).

  Args:
    model: the VAE (e.g. ``lbvae.models.VAE(latent_dim=10, num_channels=1)``).
    tx: the optimiser (e.g. ``optax.adam(1e-4)``).
    betas: the objective's strengths (each >= 0; the KL weights of the β-VAE).
    lambdas: L2-penalty weights (each >= 0).
    num_seeds: seed indices 0 .. num_seeds - 1.
    seed: the root seed.
    window: length of the loss window whose means :func:`window_means` reports.
    objective: an :class:`lbvae.objectives.Objective` (default: the β-VAE); pass
      the same one to ``make_train_step``.

  Returns:
    (state with a leading axis G = len(betas) * len(lambdas) * num_seeds, members).

  Raises:
    lbvae.errors.ConfigError: a negative or non-finite weight, no weights, or
      num_seeds / window < 1 (repeated weights are allowed).
  """
  for name, values in (("betas", betas), ("lambdas", lambdas)):
    members_lib.check_weights(
      name, [float(v) for v in values], name[:-1], distinct=False
    )
  errors.require(int(num_seeds) >= 1, f"num_seeds must be >= 1, got {num_seeds}")
  errors.require(int(window) >= 1, f"window must be >= 1, got {window}")
  grid = [
    members_lib.Member(index=0, strength=float(b), lam=float(lam), seed=s)
    for b in betas
    for lam in lambdas
    for s in range(int(num_seeds))
  ]
  grid = [dataclasses.replace(m, index=i) for i, m in enumerate(grid)]
  keys = seed_keys(seed, int(num_seeds))
  params = take(
    init_params(model, keys.init), members_lib.column(grid, "seed", np.int32)
  )
  return grid_state(
    params, tx, grid, keys, step=0, window=int(window), objective=objective
  ), grid


def phase1_state(
  model: models.VAE,
  tx: optax.GradientTransformation,
  grid: Sequence[members_lib.Member],
  keys: SeedKeys,
  *,
  window: int,
  objective: objectives_lib.Objective | None = None,
) -> TrainState:
  """Phase 1 at step 0: members of one seed share their initial parameters (and
  objective state)."""
  per_seed = init_params(model, keys.init)
  params = take(per_seed, members_lib.column(grid, "seed", np.int32))
  return grid_state(params, tx, grid, keys, step=0, window=window, objective=objective)


def phase2_state(
  tx: optax.GradientTransformation,
  grid: Sequence[members_lib.Member],
  phase1: TrainState,
  keys: SeedKeys,
  *,
  window: int,
  objective: objectives_lib.Objective | None = None,
) -> TrainState:
  """Phase 2 from the final phase-1 state: parents' parameters, a fresh optimiser.

  The objective state is the parent's, restarted by
  :meth:`~lbvae.objectives.Objective.restart_state` (FactorVAE: the discriminator
  keeps its parameters and gets a fresh optimiser). A member whose parent was
  frozen (non-finite) starts frozen.
  """
  objective = objectives_lib.make("beta_vae") if objective is None else objective
  rows = members_lib.parents(grid)
  params = take(phase1.params, rows)
  objective_state = take(phase1.objective_state, rows)
  if jax.tree.leaves(objective_state):
    objective_state = jax.jit(jax.vmap(objective.restart_state))(objective_state)
  step = int(np.asarray(phase1.step)[0])
  return grid_state(
    params,
    tx,
    grid,
    keys,
    step=step,
    window=window,
    objective=objective,
    objective_state=objective_state,
    healthy=np.asarray(phase1.healthy)[rows],
    frozen_step=np.asarray(phase1.frozen_step)[rows],
  )


def abstract_state(
  model: models.VAE,
  tx: optax.GradientTransformation,
  grid: Sequence[members_lib.Member],
  keys: SeedKeys,
  *,
  window: int,
  objective: objectives_lib.Objective | None = None,
) -> TrainState:
  """The shapes and dtypes (``jax.ShapeDtypeStruct``) of a grid state, for restoring."""
  objective = objectives_lib.make("beta_vae") if objective is None else objective

  def build():
    per_seed = jax.vmap(_init_one(model))(jnp.asarray(keys.init))
    params = take(per_seed, members_lib.column(grid, "seed", np.int32))
    objective_state = take(
      jax.vmap(objective.init_state)(jnp.asarray(keys.init)),
      members_lib.column(grid, "seed", np.int32),
    )
    return grid_state(
      params,
      tx,
      grid,
      keys,
      step=0,
      window=window,
      objective=objective,
      objective_state=objective_state,
    )

  return jax.eval_shape(build)


def window_means(state: TrainState) -> dict[str, jnp.ndarray]:
  """Means of the logged fields over the window: {field: float32[...]} (NaN if empty)."""
  names = tuple(state.window)
  stacked = jnp.stack([state.window[k] for k in names], -1)  # [..., W, F]
  n = jnp.minimum(state.window_count, stacked.shape[-2]).astype(jnp.float32)
  means = jnp.sum(stacked, axis=-2) / n[..., None]
  return {k: means[..., i] for i, k in enumerate(names)}


def log_means(state: TrainState) -> dict[str, jnp.ndarray]:
  """Means of the logged fields since the last log row: {field: float32[...]} (NaN
  if none)."""
  count = state.log_count.astype(jnp.float32)
  return {k: v / count for k, v in state.log_sums.items()}


def reset_log(state: TrainState) -> TrainState:
  """The state with empty log sums (after a log row was written)."""
  return state.replace(
    log_sums=jax.tree.map(jnp.zeros_like, state.log_sums),
    log_count=jnp.zeros_like(state.log_count),
  )


def window_length(state: TrainState) -> int:
  """W, the steps a member's loss window holds."""
  return next(iter(state.window.values())).shape[-1]


def grid_size(state: TrainState) -> int:
  """G, the number of members of a grid state."""
  return int(state.step.shape[0])


take = jax.jit(pytrees.take)  # rows of a grid state (or params), compiled


@jax.jit
def split(state: TrainState) -> list[TrainState]:
  """A grid state of G members -> G grid states of one member each."""
  g = grid_size(state)
  return [jax.tree.map(lambda a, m=m: a[m : m + 1], state) for m in range(g)]


@jax.jit
def stack(states: Sequence[TrainState]) -> TrainState:
  """Concatenates grid states along the member axis."""
  return jax.tree.map(lambda *a: jnp.concatenate(a, axis=0), *states)

"""Checks a sweep config at the boundary: one clear line per mistake.

The sweep of arXiv 2602.09277 (§4; docs/method.md) is described by an
``ml_collections`` config. :func:`validate` raises
:class:`lbvae.errors.Error` naming the field and the allowed range, before anything
is loaded or written. Dataset names, sources and paths are checked by
``lbvae.data.load``; the model implementation by ``state.make_model``.

:func:`defaults` holds every field at the paper's settings, with a comment beside
each; the ``eval`` group comes from :mod:`lbvae.evaluation.settings` and the
``collapse`` group from :mod:`lbvae.train.collapse`, which also check them. The
files under ``configs/`` start from it and say what they change.

Synopsis::

    from lbvae.train import config as config_lib
    config = config_lib.defaults()       # docs/method.md §4 protocol on procedural dSprites
    config_lib.validate(config)          # raises errors.Error
"""

from __future__ import annotations

import math

import ml_collections

from lbvae import errors
from lbvae import initializers
from lbvae import objectives as objectives_lib
from lbvae.evaluation import settings as eval_settings
from lbvae.train import collapse
from lbvae.train import grid_runner
from lbvae.train import members as members_lib
from lbvae.train import state as state_lib

POSITIVE_INTS = ("num_seeds", "batch_size", "phase1_steps", "phase2_steps",
                 "checkpoint_every", "log_every", "window", "steps_per_call",
                 "keep_checkpoints")

SEED_LIMIT = 2**32   # seeds are uint32, as jax.random.key and NumPy take them
# The most seed indices a grid holds (the paper's grids have 10): every seed gets
# its keys one by one before training, so the count is bounded before anything runs.
MAX_SEEDS = 10_000


def defaults() -> ml_collections.ConfigDict:
  """Every field of a sweep config, at the settings of docs/method.md §4."""
  c = ml_collections.ConfigDict()
  c.dataset = ml_collections.ConfigDict({
      "name": "dsprites",         # one of lbvae.data.DATASETS
      "source": "procedural",     # one of lbvae.data.SOURCES
      "path": "",                 # the dataset's file or folder ("": none)
      "placement": "auto",        # device, host or auto (lbvae.data.batching)
      "factors": "",              # tfds:NAME: its features that are factors, "a,b"
      "background": "",           # scream_dsprites: the Scream image ("": a texture)
  })
  c.objective = "beta_vae"        # phase 1's objective (lbvae.objectives.NAMES)
  # The objective's strength on the grid's β axis: β of the β-VAE (KL weight) and of
  # β-TCVAE (TC weight), λ_od of DIP-VAE-I/II, C_max (nats) of AnnealedVAE, γ of
  # FactorVAE; the file columns call it "beta".
  c.betas = (1.0, 4.0, 8.0, 16.0, 32.0)
  c.lambdas = (0.0, 2.0, 4.0, 6.0, 8.0)   # L2-penalty weights λ (phase 2 only)
  c.num_seeds = 10                # seed indices 0 .. num_seeds - 1
  c.seed = 0                      # the root seed of every random stream
  c.batch_size = 64               # images per step and model
  c.learning_rate = 1e-4          # Adam
  c.adam_b1 = 0.9
  c.adam_b2 = 0.999
  c.adam_eps = 1e-8
  c.phase1_steps = 150_000        # steps of phase 1
  c.phase2_steps = 50_000         # steps of phase 2 (continues phase 1's count)
  c.window = 5_000                # steps whose loss means are reported (the paper's)
  c.log_every = 500               # steps between train_log.csv rows
  c.checkpoint_every = 5_000      # steps between checkpoints
  c.keep_checkpoints = 2          # checkpoints kept per phase
  c.latent_dim = 10               # L, the code's size
  c.model = ml_collections.ConfigDict({
      "init": "torch",            # initial weights: torch (the reference's) or flax
  })                              # (lbvae.initializers)
  c.model_impl = "auto"           # layer implementation (state.make_model)
  c.precision = "f32"             # activations and convolutions: f32 or bf16 (weights,
                                  # optimiser and loss stay float32; models.PRECISIONS)
  c.grid_strategy = "auto"        # how the step is lifted over the grid (grid_runner)
  c.map_batch_size = 0            # models per lax.map iteration (0: one)
  c.steps_per_call = 1            # steps one compiled call runs
  c.grid_chunk = 0                # models at once (0: all; -1: as many as fit)
  c.distributed = False           # several hosts: jax.distributed.initialize() first
                                  # (also env LBVAE_DISTRIBUTED=1)
  # The objectives' settings groups (each field commented in its objective's module).
  for group, fields in objectives_lib.config_groups().items():
    c[group] = ml_collections.ConfigDict(fields)
  c.eval = eval_settings.defaults()   # the evaluation pass (lbvae.evaluation.settings)
  c.collapse = collapse.probe_defaults()   # scored at every checkpoint (train.collapse)
  return c


def _get(config, dotted: str):
  value = config
  for part in dotted.split("."):
    value = value[part]
  return value


def _weights(config, field: str, symbol: str) -> None:
  values = _get(config, field)
  errors.require(isinstance(values, (list, tuple)),
              f"config.{field} must be a list of numbers, got {values!r}")
  members_lib.check_weights(f"config.{field}", values, symbol, distinct=True)


def _finite_floats(node, prefix: str = "") -> None:
  """Every float of the config (nested groups and lists too) is finite."""
  items = node.items() if hasattr(node, "items") else enumerate(node)
  for key, v in items:
    name = f"{prefix}.{key}" if hasattr(node, "items") else f"{prefix}[{key}]"
    name = name.lstrip(".")
    if hasattr(v, "items") or isinstance(v, (list, tuple)):
      _finite_floats(v, name)
    elif isinstance(v, float):
      errors.require(math.isfinite(v), f"config.{name} must be a finite number, "
                     f"got {v!r}")


def validate(config) -> None:
  """Raises :class:`lbvae.errors.Error` on the first invalid field of a sweep config."""
  _finite_floats(config)
  objectives_lib.check_objective(config)
  _weights(config, "betas", "beta")
  _weights(config, "lambdas", "lambda")
  for field in POSITIVE_INTS:
    errors.require_int(config[field], f"config.{field}")
  errors.require(config.num_seeds <= MAX_SEEDS, f"config.num_seeds must be an integer "
                 f"in [1, {MAX_SEEDS}], got {config.num_seeds!r}")
  seed = config.seed
  errors.require(isinstance(seed, int) and not isinstance(seed, bool)
                 and 0 <= seed < SEED_LIMIT,
                 f"config.seed must be an integer in [0, 2**32), got {seed!r}")
  eval_settings.check(config)
  state_lib.check_latent_dim(config.latent_dim)
  initializers.check_init(state_lib.model_init(config))
  state_lib.check_precision(config.get("precision", "f32"))
  lr = config.learning_rate
  errors.require(isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0,
              f"config.learning_rate must be > 0, got {lr!r}")
  errors.require(0 <= config.adam_b1 < 1 and 0 <= config.adam_b2 < 1,
              f"config.adam_b1 and adam_b2 must be in [0, 1), got "
              f"{config.adam_b1!r}, {config.adam_b2!r}")
  errors.require(config.adam_eps > 0, f"config.adam_eps must be > 0, got "
              f"{config.adam_eps!r}")
  errors.require(config.grid_strategy in grid_runner.STRATEGIES,
              f"config.grid_strategy must be one of {', '.join(grid_runner.STRATEGIES)}, "
              f"got {config.grid_strategy!r}")
  chunk = config.get("grid_chunk", 0)
  errors.require(isinstance(chunk, int) and not isinstance(chunk, bool) and chunk >= -1,
              f"config.grid_chunk must be an integer >= -1 (0: whole grid, -1: "
              f"automatic), got {chunk!r}")
  errors.require(isinstance(config.get("distributed", False), bool),
              f"config.distributed must be True or False, got "
              f"{config.get('distributed')!r}")
  collapse.check_probe(config)
  errors.require(isinstance(config.map_batch_size, int) and config.map_batch_size >= 0,
              f"config.map_batch_size must be an integer >= 0, got "
              f"{config.map_batch_size!r}")

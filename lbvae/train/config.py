"""Checks a sweep config at the boundary: one clear line per mistake.

The sweep of arXiv 2602.09277 (§4; docs/method.md) is described by an
``ml_collections`` config. :func:`validate` raises
:class:`lbvae.errors.Error` naming the field and the allowed range, before anything
is loaded or written. Dataset names, sources and paths are checked by
``lbvae.data.load``; the model implementation by ``state.make_model``.

:func:`declared` lists every field once, at the paper's settings with a comment
beside each, and says what its value means for a workdir that holds checkpoints
(:class:`Field`: changes the results, changes only how they are computed, or is read
only at the start; added since the first release, and what configs held before it):
the stored-config rules of :mod:`lbvae.train.workdir` are read from it. The ``eval``
group comes from :mod:`lbvae.eval_settings` and the ``collapse`` group from
:mod:`lbvae.train.probe_settings`, which also check them. :func:`defaults` is the
config; the files under ``configs/`` start from it and say what they change.

Synopsis::

    from lbvae.train import config as config_lib
    config = config_lib.defaults()       # docs/method.md §4 protocol on procedural dSprites
    config_lib.validate(config)          # raises errors.Error
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import ml_collections

from lbvae import errors
from lbvae import eval_settings
from lbvae import initializers
from lbvae import objectives as objectives_lib
from lbvae.train import probe_settings
from lbvae.train import grid_runner
from lbvae.train import members as members_lib
from lbvae.train import state as state_lib

POSITIVE_INTS = (
  "num_seeds",
  "batch_size",
  "phase1_steps",
  "phase2_steps",
  "checkpoint_every",
  "log_every",
  "window",
  "steps_per_call",
  "keep_checkpoints",
)

SEED_LIMIT = 2**32  # seeds are uint32, as jax.random.key and NumPy take them
# The most seed indices a grid holds (the paper's grids have 10): every seed gets
# its keys one by one before training, so the count is bounded before anything runs.
MAX_SEEDS = 10_000


# What a field's value means for a workdir that already holds checkpoints:
# RESULTS -- what is computed: another value is refused ("trained with a different
#   config");
# HOW -- how, not what, is computed: it may change between runs of one workdir;
# START -- read only when a member's parameters are first made, which a resumed run
#   never does again: the stored value stands.
RESULTS, HOW, START = "results", "how", "start"
# Field.before: in every config.json since lbvae's first release (ORIGINAL), or added
# since, a stored config without it holding the default (DEFAULT) or another value.
ORIGINAL, DEFAULT = "original", "default"


@dataclasses.dataclass(frozen=True)
class Field:
  """A config field (or a whole group), declared once with what it means for runs.

  Attributes:
    name: dotted, e.g. ``dataset.placement``; a group's name covers its fields.
    default: its value in :func:`defaults` (a dict for a group).
    role: :data:`RESULTS`, :data:`HOW` or :data:`START`.
    before: what a config written before the field existed held: :data:`ORIGINAL`
      (every config has it), :data:`DEFAULT` or that value.
  """

  name: str
  default: Any
  role: str = RESULTS
  before: Any = ORIGINAL


def declared() -> tuple[Field, ...]:
  """Every field of a sweep config, at the settings of docs/method.md §4, in order."""
  return (
    Field("dataset.name", "dsprites"),  # one of lbvae.data.DATASETS
    Field("dataset.source", "procedural"),  # one of lbvae.data.SOURCES
    Field("dataset.path", "", HOW),  # the dataset's file or folder ("": none)
    Field("dataset.placement", "auto", HOW),  # device, host or auto (data.batching)
    # tfds:NAME: its features that are factors, "a,b"
    Field("dataset.factors", "", before=DEFAULT),
    # scream_dsprites: the Scream image ("": a texture)
    Field("dataset.background", "", before=DEFAULT),
    # phase 1's objective (lbvae.objectives.NAMES)
    Field("objective", "beta_vae", before=DEFAULT),
    # The objective's strength on the grid's β axis: β of the β-VAE (KL weight) and
    # of β-TCVAE (TC weight), λ_od of DIP-VAE-I/II, C_max (nats) of AnnealedVAE, γ
    # of FactorVAE; the file columns call it "beta".
    Field("betas", (1.0, 4.0, 8.0, 16.0, 32.0)),
    Field("lambdas", (0.0, 2.0, 4.0, 6.0, 8.0)),  # L2-penalty weights λ (phase 2)
    Field("num_seeds", 10),  # seed indices 0 .. num_seeds - 1
    Field("seed", 0),  # the root seed of every random stream
    Field("batch_size", 64),  # images per step and model
    Field("learning_rate", 1e-4),  # Adam
    Field("adam_b1", 0.9),
    Field("adam_b2", 0.999),
    Field("adam_eps", 1e-8),
    Field("phase1_steps", 150_000),  # steps of phase 1
    Field("phase2_steps", 50_000),  # steps of phase 2 (continues phase 1's)
    Field("window", 5_000),  # steps whose loss means are reported
    Field("log_every", 500, HOW),  # steps between train_log.csv rows
    Field("checkpoint_every", 5_000, HOW),  # steps between checkpoints
    Field("keep_checkpoints", 2, HOW),  # checkpoints kept per phase
    Field("latent_dim", 10),  # L, the code's size
    # initial weights: torch (the reference's) or flax (lbvae.initializers); what
    # a config written before the field trained with: flax
    Field("model.init", "torch", START, before=state_lib.LEGACY_INIT),
    Field("model_impl", "auto", HOW),  # layer implementation (make_model)
    # activations and convolutions: f32 or bf16 (weights, optimiser and loss stay
    # float32; models.PRECISIONS)
    Field("precision", "f32", before=DEFAULT),
    Field("grid_strategy", "auto", HOW),  # how the step is lifted (grid_runner)
    Field("map_batch_size", 0, HOW),  # models per lax.map iteration (0: one)
    Field("steps_per_call", 1, HOW),  # steps one compiled call runs
    Field("grid_chunk", 0, HOW),  # models at once (0: all; -1: as fit)
    # several hosts: jax.distributed.initialize() first (also env
    # LBVAE_DISTRIBUTED=1)
    Field("distributed", False, HOW),
    # The objectives' settings groups (each field commented in its objective's
    # module).
    *(
      Field(group, fields, before=DEFAULT)
      for group, fields in objectives_lib.config_groups().items()
    ),
    # the evaluation pass (lbvae.eval_settings)
    Field("eval", eval_settings.defaults(), HOW),
    # scored at every checkpoint (lbvae.train.collapse)
    Field("collapse", probe_settings.probe_defaults(), HOW),
  )


def fields_where(**match) -> tuple[str, ...]:
  """The names of the declared fields whose attributes equal ``match``, e.g.
  ``fields_where(role=HOW)``."""
  return tuple(
    f.name for f in declared() if all(getattr(f, k) == v for k, v in match.items())
  )


def defaults() -> ml_collections.ConfigDict:
  """Every field of a sweep config, at the settings of docs/method.md §4
  (:func:`declared`)."""
  c = ml_collections.ConfigDict()
  for f in declared():
    *groups, name = f.name.split(".")
    node = c
    for group in groups:
      if group not in node:
        node[group] = ml_collections.ConfigDict()
      node = node[group]
    node[name] = (
      ml_collections.ConfigDict(f.default) if isinstance(f.default, dict) else f.default
    )
  return c


def _get(config, dotted: str):
  value = config
  for part in dotted.split("."):
    value = value[part]
  return value


def _weights(config, field: str, symbol: str) -> None:
  values = _get(config, field)
  errors.require(
    isinstance(values, (list, tuple)),
    f"config.{field} must be a list of numbers, got {values!r}",
  )
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
      errors.require(
        math.isfinite(v), f"config.{name} must be a finite number, got {v!r}"
      )


def validate(config) -> None:
  """Raises :class:`lbvae.errors.Error` on the first invalid field of a sweep config."""
  _finite_floats(config)
  objectives_lib.check_objective(config)
  _weights(config, "betas", "beta")
  _weights(config, "lambdas", "lambda")
  for field in POSITIVE_INTS:
    errors.require_int(config[field], f"config.{field}")
  errors.require(
    config.num_seeds <= MAX_SEEDS,
    f"config.num_seeds must be an integer "
    f"in [1, {MAX_SEEDS}], got {config.num_seeds!r}",
  )
  seed = config.seed
  errors.require(
    isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < SEED_LIMIT,
    f"config.seed must be an integer in [0, 2**32), got {seed!r}",
  )
  eval_settings.check(config)
  state_lib.check_latent_dim(config.latent_dim)
  initializers.check_init(state_lib.model_init(config))
  state_lib.check_precision(config.get("precision", "f32"))
  lr = config.learning_rate
  errors.require(
    isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0,
    f"config.learning_rate must be > 0, got {lr!r}",
  )
  errors.require(
    0 <= config.adam_b1 < 1 and 0 <= config.adam_b2 < 1,
    f"config.adam_b1 and adam_b2 must be in [0, 1), got "
    f"{config.adam_b1!r}, {config.adam_b2!r}",
  )
  errors.require(
    config.adam_eps > 0, f"config.adam_eps must be > 0, got {config.adam_eps!r}"
  )
  errors.require(
    config.grid_strategy in grid_runner.STRATEGIES,
    f"config.grid_strategy must be one of {', '.join(grid_runner.STRATEGIES)}, "
    f"got {config.grid_strategy!r}",
  )
  chunk = config.get("grid_chunk", 0)
  errors.require(
    isinstance(chunk, int) and not isinstance(chunk, bool) and chunk >= -1,
    f"config.grid_chunk must be an integer >= -1 (0: whole grid, -1: "
    f"automatic), got {chunk!r}",
  )
  errors.require(
    isinstance(config.get("distributed", False), bool),
    f"config.distributed must be True or False, got {config.get('distributed')!r}",
  )
  probe_settings.check_probe(config)
  errors.require(
    isinstance(config.map_batch_size, int) and config.map_batch_size >= 0,
    f"config.map_batch_size must be an integer >= 0, got {config.map_batch_size!r}",
  )

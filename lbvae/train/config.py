"""Checks a sweep config at the boundary: one clear line per mistake.

The sweep of arXiv 2602.09277 (§4; docs/method.md) is described by an ``ml_collections`` config
(see ``configs/default.py`` for every field). :func:`validate` raises
:class:`lbvae.errors.Error` naming the field and the allowed range, before anything
is loaded or written. Dataset names, sources and paths are checked by
``lbvae.data.load``; the model implementation by ``state.make_model``.

:func:`defaults` holds every field at the paper's settings; the files under
``configs/`` start from it and say what they change.

Synopsis::

    from lbvae.train import config as config_lib
    config = config_lib.defaults()       # docs/method.md §4 protocol on procedural dSprites
    config_lib.validate(config)          # raises errors.Error
"""

from __future__ import annotations

import math

import ml_collections

from lbvae import errors
from lbvae import objectives as objectives_lib
from lbvae.evaluation import settings as eval_settings
from lbvae.train import grid_runner
from lbvae.train import state as state_lib

POSITIVE_INTS = ("num_seeds", "batch_size", "phase1_steps", "phase2_steps",
                 "checkpoint_every", "log_every", "window", "steps_per_call",
                 "keep_checkpoints")

SEED_LIMIT = 2**32   # seeds are uint32, as jax.random.key and NumPy take them


def defaults() -> ml_collections.ConfigDict:
  """Every field of a sweep config, at the settings of docs/method.md §4.

  Fields:
    dataset.name / .source / .path / .placement: what ``lbvae.data.load`` and
      ``lbvae.data.batching`` get (path "" = none).
    objective: the phase-1 objective, one of ``lbvae.objectives.NAMES``
      (default "beta_vae"); phase 2 adds λ·E‖x − g(z)‖² to it.
    betas, lambdas: the grid's strengths and L2-penalty weights (λ only in phase
      2). ``betas`` holds the objective's strength (``Objective.strength``): β of
      the β-VAE (KL weight) and of β-TCVAE (TC weight), λ_od of DIP-VAE-I/II,
      C_max (nats) of AnnealedVAE, γ of FactorVAE.
    beta_tcvae.estimator: "mws" or "mss" (minibatch-weighted or -stratified
      sampling of log q(z); ``lbvae.objectives.beta_tcvae``).
    annealed_vae.gamma, .anneal_steps: γ and the steps over which the capacity
      rises from 0 to C_max.
    factor_vae.hidden_units, .hidden_layers, .learning_rate, .adam_b1, .adam_b2,
      .adam_eps: FactorVAE's discriminator and its Adam.
    num_seeds, seed: seed indices 0..num_seeds-1 under the root seed ``seed``.
    batch_size, learning_rate, adam_b1, adam_b2, adam_eps: the optimiser (Adam).
    phase1_steps, phase2_steps: steps of each phase (phase 2 continues phase 1).
    window: steps in the loss window whose means are reported (the paper: 5 000).
    log_every, checkpoint_every, keep_checkpoints: host boundaries and retention.
    latent_dim, model_impl: the VAE (``state.make_model``).
    grid_strategy, map_batch_size, steps_per_call: how the grid step is lifted and
      how many steps one compiled call runs (``lbvae.train.grid_runner``).
    grid_chunk: members trained at once (0: all; -1: as many as fit in the device's
      free memory, measured); ``lbvae.train.sharding``.
    distributed: call ``jax.distributed.initialize()`` first (several hosts; also
      env ``LBVAE_DISTRIBUTED=1``); docs/performance.md.
    eval.num_train / .num_test / .num_bins / .batch_size: the evaluation pass;
      eval.posterior_samples: images of the stratified sample behind the
      posterior-aware MIG / I_m (0: not computed).
    collapse.num_samples / .num_bins / .active_threshold: the collapse probe run
      at every checkpoint (``lbvae.train.collapse``; 0 samples: off).

  The objectives' settings are those of disentanglement_lib's study (Locatello et
  al., 2019, "Challenging Common Assumptions in the Unsupervised Learning of
  Disentangled Representations", the hyper-parameter table of its appendix;
  disentanglement_lib v1.5 ``config/unsupervised_study_v1``: ``sweep.py`` and
  ``model_configs/shared.gin``):
  β-TCVAE's TC estimate without importance weights (our "mws"); AnnealedVAE
  γ = 1000 with C reaching C_max after 100 000 steps; FactorVAE's discriminator an
  MLP of 6 × 1 000 leaky-ReLU units (``fc_discriminator``, after Kim & Mnih 2018,
  Appendix A) trained by Adam with lr 1e-4, β1 = 0.5, β2 = 0.9, ε = 1e-8. Their
  strength grids are in ``configs/paper_objectives.py``.
  """
  c = ml_collections.ConfigDict()
  c.dataset = ml_collections.ConfigDict(
      {"name": "dsprites", "source": "procedural", "path": "", "placement": "auto"})
  c.objective = "beta_vae"
  c.betas = (1.0, 4.0, 8.0, 16.0, 32.0)
  c.lambdas = (0.0, 2.0, 4.0, 6.0, 8.0)
  c.num_seeds = 10
  c.seed = 0
  c.batch_size = 64
  c.learning_rate = 1e-4
  c.adam_b1 = 0.9
  c.adam_b2 = 0.999
  c.adam_eps = 1e-8
  c.phase1_steps = 150_000
  c.phase2_steps = 50_000
  c.window = 5_000
  c.log_every = 500
  c.checkpoint_every = 5_000
  c.keep_checkpoints = 2
  c.latent_dim = 10
  c.model_impl = "auto"
  c.grid_strategy = "auto"
  c.map_batch_size = 0
  c.steps_per_call = 1
  c.grid_chunk = 0
  c.distributed = False
  c.beta_tcvae = ml_collections.ConfigDict({"estimator": "mws"})
  c.annealed_vae = ml_collections.ConfigDict({"gamma": 1000.0,
                                              "anneal_steps": 100_000})
  c.factor_vae = ml_collections.ConfigDict(
      {"hidden_units": 1000, "hidden_layers": 6, "learning_rate": 1e-4,
       "adam_b1": 0.5, "adam_b2": 0.9, "adam_eps": 1e-8})
  c.eval = eval_settings.defaults()   # the evaluation pass (lbvae.evaluation.settings)
  # The collapse probe (lbvae.train.collapse): per-latent KL, active latents and
  # MI of every member at every checkpoint, on a fixed stratified sample.
  c.collapse = ml_collections.ConfigDict(
      {"num_samples": 1_000, "num_bins": 20, "active_threshold": 0.01})
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
  errors.require(len(values) > 0, f"config.{field} is empty: the grid needs at least "
              f"one {symbol}")
  for v in values:
    errors.require(isinstance(v, (int, float)) and not isinstance(v, bool),
                f"config.{field} must hold numbers, got {v!r}")
    errors.require(math.isfinite(v) and v >= 0,
                f"config.{field} must hold finite values >= 0, got {v!r}")
  errors.require(len(set(float(v) for v in values)) == len(values),
              f"config.{field} has repeated values: {tuple(values)}")


def _positive_number(config, dotted: str, upper: float | None = None) -> None:
  v = _get(config, dotted)
  ok = (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        and v > 0 and (upper is None or v < upper))
  bound = f"in (0, {upper:g})" if upper is not None else "> 0"
  errors.require(ok, f"config.{dotted} must be a number {bound}, got {v!r}")


def _objective(config) -> None:
  """The objective's name and the settings group it reads."""
  name = config.get("objective", "beta_vae")
  errors.require(name in objectives_lib.NAMES, f"config.objective must be one of "
                 f"{', '.join(objectives_lib.NAMES)}, got {name!r}")
  if name == "beta_tcvae":
    est = config.beta_tcvae.estimator
    errors.require(est in objectives_lib.ESTIMATORS,
                   f"config.beta_tcvae.estimator must be one of "
                   f"{', '.join(objectives_lib.ESTIMATORS)}, got {est!r}")
  elif name == "annealed_vae":
    _positive_number(config, "annealed_vae.gamma")
    _positive_int(config, "annealed_vae.anneal_steps")
  elif name == "factor_vae":
    for field in ("hidden_units", "hidden_layers"):
      _positive_int(config, f"factor_vae.{field}")
    for field in ("learning_rate", "adam_eps"):
      _positive_number(config, f"factor_vae.{field}")
    for field in ("adam_b1", "adam_b2"):
      v = config.factor_vae[field]
      errors.require(isinstance(v, (int, float)) and 0 <= v < 1,
                     f"config.factor_vae.{field} must be in [0, 1), got {v!r}")


def _positive_int(config, dotted: str) -> None:
  v = _get(config, dotted)
  errors.require(isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                 f"config.{dotted} must be an integer >= 1, got {v!r}")


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
  _objective(config)
  _weights(config, "betas", "beta")
  _weights(config, "lambdas", "lambda")
  for field in POSITIVE_INTS:
    _positive_int(config, field)
  seed = config.seed
  errors.require(isinstance(seed, int) and not isinstance(seed, bool)
                 and 0 <= seed < SEED_LIMIT,
                 f"config.seed must be an integer in [0, 2**32), got {seed!r}")
  eval_settings.check(config)
  state_lib.check_latent_dim(config.latent_dim)
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
  probe = config.get("collapse") or {}
  for field, lo in (("num_samples", 0), ("num_bins", 2)):
    v = probe.get(field, lo)
    errors.require(isinstance(v, int) and not isinstance(v, bool) and v >= lo,
                   f"config.collapse.{field} must be an integer >= {lo}, got {v!r}")
  threshold = probe.get("active_threshold", 0.0)
  errors.require(isinstance(threshold, (int, float)) and math.isfinite(threshold)
                 and threshold >= 0,
                 f"config.collapse.active_threshold must be >= 0, got {threshold!r}")
  errors.require(isinstance(config.map_batch_size, int) and config.map_batch_size >= 0,
              f"config.map_batch_size must be an integer >= 0, got "
              f"{config.map_batch_size!r}")

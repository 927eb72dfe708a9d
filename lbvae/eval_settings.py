"""The ``eval`` group of a config: the evaluation pass's defaults and bounds.

The pass of arXiv 2602.09277, §4 (docs/method.md): 10 000 train + 5 000 test images
per seed, 20 bins, the FactorVAE score and the posterior-aware MI, and the 1 000
images every model encodes for UDR. The sweep config
holds this group (``lbvae.train.config.defaults``) and checks it with :func:`check`;
the pass fills what an older workdir lacks and keys its cache by
:func:`cache_settings`.

Synopsis::

    config.eval = settings.defaults()
    settings.check(config)                # raises lbvae.errors.ConfigError
"""

from __future__ import annotations

import ml_collections

from lbvae import errors
from lbvae import memory
from lbvae import models
from lbvae.metrics import posterior_mi

# The smallest value of each field; FactorVAE votes are 0 (no score) or >= 3.
LOWEST = {
  "num_train": 2,
  "num_test": 1,
  "num_bins": 2,
  "batch_size": 1,
  "factor_vae_votes": 0,
  "factor_vae_batch": 2,
  "posterior_samples": 0,
  "udr_samples": 0,
}


def defaults() -> ml_collections.ConfigDict:
  """The ``eval`` group at the settings of docs/method.md §4."""
  return ml_collections.ConfigDict(
    {
      "num_train": 10_000,  # images per seed that fit the bins and classifiers
      "num_test": 5_000,  # images per seed that are scored (held-out NLL too)
      "num_bins": 20,  # bins of the plug-in MI (MIG, I_m)
      "batch_size": 500,  # images per encoder call (at most 128 on CPU)
      "factor_vae_votes": 200,  # FactorVAE score (Kim & Mnih 2018): votes; 0: none
      "factor_vae_batch": 64,  # images per vote
      "posterior_samples": 2_400,  # stratified images, posterior-aware MI; 0: none
      "udr_samples": 1_000,  # images every model encodes for UDR; 0: no UDR
    }
  )


def require_lowest(name: str, field: str, value) -> None:
  """Raises :class:`lbvae.errors.ConfigError` unless ``value`` is an integer at least
  ``LOWEST[field]``; the message calls it ``name``."""
  errors.require_int(value, name, LOWEST[field])


def check(config) -> None:
  """Raises :class:`lbvae.errors.ConfigError` on an ``eval.*`` field below
  :data:`LOWEST` (fields the config lacks are not checked)."""
  ev = config.get("eval") or {}
  for field in LOWEST:
    if field in ev:
      require_lowest(f"config.eval.{field}", field, ev[field])
  errors.require(
    ev.get("factor_vae_votes", 0) not in (1, 2),
    "config.eval.factor_vae_votes must be 0 (no FactorVAE score) or "
    f">= 3, got {ev.get('factor_vae_votes')!r}",
  )


def with_eval_defaults(config):
  """``config`` with every ``eval.*`` field of ``eval_settings.defaults()``.

  A workdir written before a field existed (e.g. the FactorVAE vote settings) gets
  the default value, so that it can be overridden like the others; ``distributed``
  is reset to False (the training's setting does not carry over to the pass).
  """
  config = config.copy_and_resolve_references()
  with config.unlocked():
    # How the training ran is not how this pass runs: several processes only when
    # asked for here (--config.distributed=True or LBVAE_DISTRIBUTED=1).
    config.distributed = False
    for k, v in defaults().items():
      if k not in config.eval:
        config.eval[k] = v
  return config


def memory_needs(config, *, num_channels: int, encoder_batch: int) -> list:
  """What the pass holds at once for one seed (``lbvae.memory.Need``, lower bounds):
  the samples, the FactorVAE votes' images, the stratified sample and the UDR images
  as uint8 on the host, one model's forward pass over an encoder batch on the device, and the
  posterior MI's densities.

  Args:
    config: a config with every ``eval`` field.
    num_channels: the dataset's image channels.
    encoder_batch: images per encoder call (``runner.encoder_batch``).
  """
  ev = config.eval
  host = lambda field, n, what, remedy: memory.Need(
    field, memory.image_bytes(n, num_channels), what, remedy, on_device=False
  )
  votes = int(ev.factor_vae_votes) * int(ev.factor_vae_batch)
  return [
    host(
      f"config.eval.num_train + num_test={ev.num_train} + {ev.num_test}",
      int(ev.num_train) + int(ev.num_test),
      "one seed's samples",
      "use fewer eval.num_train or num_test",
    ),
    host(
      f"config.eval.factor_vae_votes x factor_vae_batch={ev.factor_vae_votes} "
      f"x {ev.factor_vae_batch}",
      votes,
      "the FactorVAE votes' images",
      "use fewer eval.factor_vae_votes or a smaller factor_vae_batch",
    ),
    host(
      f"config.eval.posterior_samples={ev.posterior_samples}",
      int(ev.posterior_samples),
      "the posterior MI's images",
      "use fewer eval.posterior_samples",
    ),
    host(
      f"config.eval.udr_samples={udr_samples(config)}",
      udr_samples(config),
      "the images every model encodes for UDR",
      "use fewer eval.udr_samples",
    ),
    memory.Need(
      f"config.eval.posterior_samples={ev.posterior_samples}",
      posterior_mi.memory_bytes(int(ev.posterior_samples)),
      "the posterior MI's densities (N x N)",
      "use fewer eval.posterior_samples",
    ),
    memory.Need(
      f"config.eval.batch_size={ev.batch_size}",
      4
      * int(encoder_batch)
      * models.activation_floats(int(config.latent_dim), num_channels),
      "one model's forward pass over an encoder batch",
      "use a smaller eval.batch_size",
    ),
  ]


def udr_samples(config) -> int:
  """``config.eval.udr_samples`` (0 where absent). Not among :func:`cache_settings`:
  a cache entry holds the shared codes of that many images, or is evaluated again
  (``lbvae.evaluation.store.load_entry``)."""
  return int(config.eval.get("udr_samples", 0))


def cache_settings(config) -> dict:
  """What a cached model's scores must have been computed with (checked first).

  Args:
    config: a config with every ``eval`` field and ``dataset.name``/``.source``.
  """
  check(config)
  ev = config.eval
  return {
    "num_train": int(ev.num_train),
    "num_test": int(ev.num_test),
    "num_bins": int(ev.num_bins),
    "factor_vae_votes": int(ev.factor_vae_votes),
    "factor_vae_batch": int(ev.factor_vae_batch),
    "posterior_samples": int(ev.posterior_samples),
    "dataset": str(config.dataset.name),
    "source": str(config.dataset.source),
    # How the held-out NLL decodes (see lbvae.evaluation.encode); a change of
    # method must not be served from an old cache.
    "heldout_nll": "one reparameterised sample per image",
    # dci_*: disentanglement_lib's trees; the LASSO's numbers are dci_lasso_*.
    "dci": "gradient-boosted trees, LightGBM",
  }

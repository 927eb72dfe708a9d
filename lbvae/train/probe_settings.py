"""The ``collapse`` group of a sweep config: the collapse probe's settings and checks.

The probe (:mod:`lbvae.train.collapse`) scores every member on a fixed stratified
sample at every checkpoint; these fields say how big the sample is, how many bins
its plug-in MI uses and when a latent counts as active. The sweep config
(:mod:`lbvae.train.config`) declares the group from :func:`probe_defaults` and checks
it with :func:`check_probe`.
"""

from __future__ import annotations

import math

import ml_collections

from lbvae import errors

PROBE_LOWEST = {"num_samples": 0, "num_bins": 2}  # the collapse group's integers


def probe_defaults() -> ml_collections.ConfigDict:
  """The ``collapse`` group of a sweep config."""
  return ml_collections.ConfigDict(
    {
      "num_samples": 1_000,  # N stratified images scored per checkpoint; 0: off
      "num_bins": 20,  # bins of the plug-in MI
      "active_threshold": 0.01,  # KL (nats) above which a latent counts as active
    }
  )


def check_probe(config) -> None:
  """Raises :class:`lbvae.errors.ConfigError` on a ``collapse.*`` field out of
  bounds (fields the config lacks are not checked)."""
  probe = config.get("collapse") or {}
  for field, lo in PROBE_LOWEST.items():
    errors.require_int(probe.get(field, lo), f"config.collapse.{field}", lo)
  threshold = probe.get("active_threshold", 0.0)
  errors.require(
    isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold >= 0,
    f"config.collapse.active_threshold must be >= 0, got {threshold!r}",
  )

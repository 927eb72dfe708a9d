"""What the evaluation reads off the test part's encoding, with or without factors.

The held-out NLL decodes one reparameterised sample of each test image (the training
loss's estimator, :mod:`lbvae.evaluation.encode`); the rate is each latent's mean KL
to N(0, 1) over the test part, and a latent is active when its mean KL exceeds
:data:`ACTIVE_KL` (docs/method.md §4). Synopsis::

  kl = kl_per_latent(mu, logvar)              # float64[..., L], nats
  active = active_latents(kl)                 # int64[...]
"""

from __future__ import annotations

import numpy as np

from lbvae.metrics import entry

ACTIVE_KL = 0.01  # nats: a latent whose mean KL on the test part exceeds it is active


def kl_per_latent(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
  """Mean over samples of each latent's KL to N(0, 1).

  Args:
    mu, logvar: float[..., N, L].

  Returns:
    float64[..., L] in nats.
  """
  mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
  return (-0.5 * (1.0 + logvar - mu**2 - np.exp(logvar))).mean(axis=-2)


def active_latents(kl: np.ndarray) -> np.ndarray:
  """The latents whose mean KL (float[..., L], nats) exceeds :data:`ACTIVE_KL`:
  int[...]."""
  return (np.asarray(kl) > ACTIVE_KL).sum(axis=-1)


ENTRIES = (
  entry.Entry(
    "heldout_nll",
    "held-out NLL",
    False,
    entry.ENCODER,
    needs_factors=False,
    nan_if_diverged=True,
    leading=True,
  ),
  entry.Entry(
    "heldout_kl",
    None,
    None,
    entry.ENCODER,
    needs_factors=False,
    nan_if_diverged=True,
    leading=True,
  ),
  entry.Entry(
    "active_latents",
    "active latents",
    None,
    entry.ENCODER,
    needs_factors=False,
    nan_if_diverged=True,
    leading=True,
    probe_label="active latents",
  ),
)

"""Cache entries scored before a metric was registered, completed from their codes.

A valid cache entry (:func:`lbvae.evaluation.store.load_entry`) that lacks a score the
pass now computes is completed for that score alone when every missing one runs from
codes (``compiled`` or ``host`` entries of :mod:`lbvae.metrics.entry`): its model's
cached codes (``<id>.codes.npz``) and its seed's sample factors are scored again; no
checkpoint is read and nothing is encoded. An entry missing any other score, or whose
codes do not read, is evaluated again whole. Synopsis::

  names = rescore.missing(entry.scores, settings)          # () when complete
  again = rescore.complete(paths, stale, ds, settings, latent_dim=10)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from lbvae import metrics
from lbvae.evaluation import compute
from lbvae.evaluation import keys
from lbvae.evaluation import samples as samples_lib
from lbvae.evaluation import store
from lbvae.metrics import entry as entry_lib


def asked_runs(settings: dict) -> tuple[str, ...]:
  """Where the scores of a model's cache entry run, under these settings (the
  FactorVAE votes and the posterior-aware MI only when the settings ask for them)."""
  return (
    (entry_lib.COMPILED, entry_lib.HOST, entry_lib.ENCODER)
    + ((entry_lib.VOTES,) if settings.get("factor_vae_votes") else ())
    + ((entry_lib.POSTERIOR,) if settings.get("posterior_samples") else ())
  )


def missing(scores: dict | None, settings: dict) -> tuple[str, ...]:
  """The registered scores a scored model's entry lacks (() for an unscored one)."""
  if scores is None:
    return ()
  return tuple(n for n in metrics.names(*asked_runs(settings)) if n not in scores)


def from_codes(names: Sequence[str]) -> bool:
  """Whether every score of ``names`` can be computed from cached codes."""
  return all(metrics.find(n).runs in entry_lib.FROM_CODES for n in names)


Stale = tuple[object, keys.PhaseMember, store.CacheEntry, tuple[str, ...]]


def _scores(names, codes_train, codes_test, ds, seed: int, settings: dict) -> dict:
  """The scores ``names`` of M models of one seed: column -> float[M]."""
  train, test = samples_lib.draw_indices(
    seed, settings["num_train"], settings["num_test"], len(ds)
  )
  f_train = np.asarray(ds.index_to_factors(train), np.int32)
  f_test = np.asarray(ds.index_to_factors(test), np.int32)
  wanted = [metrics.find(n) for n in names]
  out = {
    e.name: np.full(len(codes_train), np.nan)
    for e in wanted
    if e.needs_factors and not ds.num_factors
  }
  wanted = [e for e in wanted if e.name not in out]
  options = {
    "factor_sizes": tuple(int(s) for s in ds.factor_sizes),
    "num_bins": int(settings["num_bins"]),
  }
  compiled = tuple(
    dict.fromkeys(e.compute for e in wanted if e.runs == entry_lib.COMPILED)
  )
  if compiled:
    num, dim = codes_train.shape[0], codes_train.shape[2]
    out.update(
      compute.stack_metrics(
        codes_train,
        f_train,
        codes_test,
        f_test,
        np.zeros((num, 1, 2, dim), np.float32),
        np.zeros((1,), np.int32),
        functions=compiled,
        num_train_votes=0,
        **options,
      )
    )
  host = tuple(dict.fromkeys(e.compute for e in wanted if e.runs == entry_lib.HOST))
  if host:
    out.update(
      compute.host_scores(
        codes_train, f_train, codes_test, f_test, functions=host, **options
      )
    )
  return {n: np.asarray(out[n], np.float64) for n in names}


def complete(
  paths: store.EvalPaths, stale: Sequence[Stale], ds, settings: dict, *, latent_dim: int
) -> list[tuple[object, keys.PhaseMember]]:
  """Adds the missing scores to each stale entry, seed by seed, and saves it.

  Args:
    paths: the run's :class:`store.EvalPaths`.
    stale: (phase, member, its valid entry, the scores it lacks: :func:`missing`,
      all :func:`from_codes`).
    ds: the run's dataset.
    settings: the pass's evaluation settings.
    latent_dim: the models' latent size.

  Returns:
    The (phase, member) whose codes did not read: evaluate them again.
  """
  again, by_seed = [], {}
  for item in stale:
    by_seed.setdefault(item[1].key.seed, []).append(item)
  for seed, items in sorted(by_seed.items()):
    ready, codes = [], []
    for ph, m, entry, names in items:
      stored = store.load_codes(
        paths,
        m,
        step=entry.step,
        settings=settings,
        checkpoint=entry.checkpoint,
        latent_dim=latent_dim,
      )
      if stored is None:
        again.append((ph, m))
      else:
        ready.append((ph, m, entry, names))
        codes.append(stored)
    names = tuple(dict.fromkeys(n for *_, more in ready for n in more))
    if not ready:
      continue
    new = _scores(
      names,
      np.stack([c[0] for c in codes]),
      np.stack([c[1] for c in codes]),
      ds,
      seed,
      settings,
    )
    for k, (_, m, entry, lacking) in enumerate(ready):
      store.save_entry(
        paths,
        m,
        step=entry.step,
        settings=entry.settings,
        checkpoint=entry.checkpoint,
        seconds=entry.seconds,
        scores={**entry.scores, **{n: float(new[n][k]) for n in lacking}},
        mi=entry.mi,
        mi_posterior=entry.mi_posterior,
        kl_per_latent=entry.kl_per_latent,
      )
  return again

"""Collapse as it happens: every member's information content at every checkpoint.

At every checkpoint (and at the start of phase 1) the probe encodes one fixed sample
with every member of the grid (docs/method.md §4) and records:

* the KL of each latent to the prior, averaged over the sample (nats), ``kl_z<i>``;
  their sum ``kl`` (an upper bound on I(x; z)); ``active_latents``, how many exceed
  ``active_threshold``;
* the binned plug-in MI matrix on the encoder means
  (:func:`lbvae.metrics.mutual_info_matrix`) with its ``mig`` and ``im``;
* the posterior-aware MI matrix (:mod:`lbvae.metrics.posterior_mi`) with its
  ``mig_posterior`` and ``im_posterior``.

The sample is stratified and drawn once per sweep from ``[COLLAPSE_STREAM, seed]``
(distinct images drawn uniformly where the factors do not cover their grid); the
posterior draws use a fixed key. A dataset without factors records the KL and the
active latents, and NaN for the MI scores. Files (``DIR/phaseN/``): ``collapse.csv``, one
row per member and step (:data:`COLUMNS`, then ``kl_z0 .. kl_z<L-1>``), and
``collapse_mi.npz`` with ``step`` int64[T], ``mi`` and ``mi_posterior``
float32[T, G, L, F] (grid order): see :class:`CollapseProbe`, :class:`CollapseLog`.
"""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from lbvae import memory
from lbvae import files
from lbvae import losses
from lbvae import metrics
from lbvae.metrics import posterior_mi
from lbvae.train import workdir as workdir_lib

COLLAPSE_STREAM = 0x636F6C  # "col": the probe's sample, apart from data and eval
# The registry's scores the probe records (``probe_label``), and those of them that
# need factors (NaN without); the probe computes each in grid_scores.
PROBED = tuple(e.name for e in metrics.entries() if e.probe_label)
PROBED_WITH_FACTORS = tuple(
  e.name for e in metrics.entries() if e.probe_label and e.needs_factors
)
COLUMNS = ("step", "member", "beta", "lambda", "seed", "kl") + PROBED


def memory_needs(config, num_channels: int) -> list:
  """The probe's sample in memory (``lbvae.memory.Need``): its uint8 images on the
  host and, as floats, on the device while a member is scored, and the posterior
  MI's densities."""
  n = int((config.get("collapse") or {}).get("num_samples", 0))
  field = f"config.collapse.num_samples={n}"
  remedy = "use fewer collapse.num_samples (0 turns the probe off)"
  return (
    [
      memory.Need(
        field,
        memory.image_bytes(n, num_channels),
        "the collapse probe's images",
        remedy,
        on_device=False,
      ),
      memory.Need(
        field,
        memory.image_bytes(n, num_channels, itemsize=4),
        "the collapse probe's images as floats",
        remedy,
      ),
      memory.Need(
        field,
        posterior_mi.memory_bytes(n),
        "the collapse probe's posterior MI (N x N densities)",
        remedy,
      ),
    ]
    if n
    else []
  )


class CollapseProbe:
  """Scores every member of a grid on one fixed sample (one jitted ``lax.map``).

  Args:
    model: the Flax VAE (``encode`` method).
    ds: the dataset (``stratified_factors``, ``images``, ``factor_sizes``).
    num_samples: N images in the sample.
    seed: the sweep's root seed (keys the sample and the posterior draws, so
      scores move only when the models do).
    num_bins: bins of the plug-in MI.
    active_threshold: KL (nats) above which a latent counts as active.
  """

  def __init__(
    self,
    model,
    ds,
    *,
    num_samples: int,
    seed: int,
    num_bins: int = 20,
    active_threshold: float = 0.01,
  ):
    rng = np.random.default_rng([COLLAPSE_STREAM, int(seed)])
    if ds.num_factors and ds.covers_grid:
      self.factors = ds.stratified_factors(int(num_samples), rng).astype(np.int32)
      self.images = np.asarray(ds.images(self.factors))
    else:  # distinct images drawn uniformly, with whatever factors they carry
      index = rng.choice(len(ds), size=min(int(num_samples), len(ds)), replace=False)
      self.factors = ds.index_to_factors(index).astype(np.int32)
      self.images = np.asarray(ds.images_at(index))
    self.factor_sizes = tuple(int(k) for k in ds.factor_sizes)
    self.active_threshold = float(active_threshold)
    self._key = jax.random.key_data(
      jax.random.fold_in(jax.random.key(int(seed)), COLLAPSE_STREAM)
    )
    self._scores = jax.jit(
      functools.partial(self.grid_scores, model, self.factor_sizes, int(num_bins))
    )

  @staticmethod
  def grid_scores(model, factor_sizes, num_bins, params, images, factors, key):
    x = losses.as_float_images(images)
    key = jax.random.wrap_key_data(key)

    def one(p):
      mu, logvar = model.apply({"params": p}, x, method=model.encode)
      kl = jnp.mean(losses.gaussian_kl_per_latent(mu, logvar), axis=0)  # [L]
      if not factor_sizes:  # no factors: no MI, NaN scores
        nan, empty = jnp.float32(jnp.nan), jnp.zeros((mu.shape[1], 0), jnp.float32)
        return {
          "kl_per_latent": kl,
          "mi": empty,
          "mi_posterior": empty,
          **dict.fromkeys(PROBED_WITH_FACTORS, nan),
        }
      mi = metrics.mutual_info_matrix(
        mu, factors, num_bins=num_bins, factor_sizes=factor_sizes
      )
      entropy = metrics.factor_entropy(factors, factor_sizes=factor_sizes)
      post = metrics.posterior_scores(
        mu, logvar, factors, key, factor_sizes=factor_sizes
      )
      return {
        "kl_per_latent": kl,
        "mi": mi,
        "mig": metrics.mig_from_mutual_info(mi, entropy),
        "im": metrics.im_from_mutual_info(mi),
        **post,
      }

    return jax.lax.map(one, params)

  def __call__(self, params) -> dict[str, np.ndarray]:
    """Scores of every member.

    Args:
      params: the grid's parameters, every leaf with a leading axis G.

    Returns:
      numpy arrays: ``kl_per_latent`` [G, L], ``kl`` [G], ``active_latents`` [G],
      ``mi``, ``mi_posterior`` [G, L, F], ``mig``, ``im``, ``mig_posterior``,
      ``im_posterior`` [G].
    """
    out = jax.device_get(self._scores(params, self.images, self.factors, self._key))
    out = {k: np.asarray(v) for k, v in out.items()}
    out["kl"] = out["kl_per_latent"].sum(axis=-1)
    out["active_latents"] = (out["kl_per_latent"] > self.active_threshold).sum(-1)
    return out


def recorded(directory: str, step: int) -> bool:
  """Whether ``DIR/phaseN/collapse_mi.npz`` (written after the step's CSV rows)
  holds ``step``'s record."""
  path = os.path.join(directory, "collapse_mi.npz")
  if not files.as_path(path).exists():
    return False
  return int(step) in set(int(s) for s in files.read_npz(path)["step"])


class CollapseLog:
  """``collapse.csv`` and ``collapse_mi.npz`` of one phase (module docstring).

  Args:
    directory: the phase directory ``DIR/phaseN``.
    latent_dim: L (the ``kl_z<i>`` columns).
    resume_step: the checkpoint step a resumed run restarts from (rows the
      interrupted run wrote after it are dropped, and its own rows when its record is incomplete: see
      :func:`recorded`), or None for a fresh phase.
  """

  def __init__(self, directory: str, *, latent_dim: int, resume_step: int | None):
    self.columns = COLUMNS + tuple(f"kl_z{i}" for i in range(latent_dim))
    if resume_step is not None and not recorded(directory, resume_step):
      resume_step -= 1  # its rows, if any, are dropped: the probe runs again
    self.csv = workdir_lib.CsvLog(
      os.path.join(directory, "collapse.csv"), self.columns, resume_step
    )
    self.npz = os.path.join(directory, "collapse_mi.npz")
    self._arrays = {"step": np.zeros((0,), np.int64)}
    if resume_step is not None and files.as_path(self.npz).exists():
      stored = files.read_npz(self.npz)
      keep = stored["step"] <= resume_step
      self._arrays = {k: v[keep] for k, v in stored.items()}
    self._write_npz()

  def _write_npz(self) -> None:
    files.write_npz(self.npz, **self._arrays)

  def append(self, step: int, members, scores: dict) -> None:
    """Adds one recorded step.

    Args:
      step: the global step.
      members: the grid's members (``lbvae.train.members.Member``), in row order.
      scores: what :class:`CollapseProbe` returned for the grid.
    """
    rows = []
    for m in members:
      g = m.index
      row = {
        "step": int(step),
        "member": g,
        "beta": m.strength,
        "lambda": m.lam,
        "seed": m.seed,
        "kl": float(scores["kl"][g]),
        "active_latents": int(scores["active_latents"][g]),
      }
      row.update({k: float(scores[k][g]) for k in PROBED_WITH_FACTORS})
      row.update(
        {f"kl_z{i}": float(v) for i, v in enumerate(scores["kl_per_latent"][g])}
      )
      rows.append(row)
    self.csv.append(rows)
    new = {
      "step": np.asarray([step], np.int64),
      "mi": scores["mi"][None].astype(np.float32),
      "mi_posterior": scores["mi_posterior"][None].astype(np.float32),
    }
    self._arrays = {
      k: (
        np.concatenate([self._arrays[k], v])
        if k in self._arrays and len(self._arrays["step"])
        else v
      )
      for k, v in new.items()
    }
    self._write_npz()

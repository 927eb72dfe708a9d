"""The authors' released files: which models there are, and their published metrics.

The reference implementation of arXiv 2602.09277 (§4) publishes, per dataset folder
``<dataset>`` (``dsprites``, ``shapes3d``, ``mpi3d_real``)::

  betavae_results/<dataset>/betavae_beta_{β}_seed_{s}.pth                  phase 1
  betavae_results/<dataset>/metrics_beta_{β}_seed_{s}.npz
  lambda_betavae_results/<dataset>/lambda_betavae_beta_{β}_lambda_{λ}_seed_{s}.pth
  lambda_betavae_results/<dataset>/metrics_beta_{β}_lambda_{λ}_seed_{s}.npz  phase 2

β and λ are integers in the names (``beta_4``; a decimal such as ``beta_0.5`` is read
too). :func:`read_metrics` matches keys leniently against :data:`METRIC_KEYS`, reads a
1-D array as a history (last entry), gives NaN for a missing metric and lists unused
keys (docs/released_models.md, "The metrics files"); a metrics file must be a
regular file holding at most :data:`METRICS_MAX_BYTES`.

Synopsis::

  folder, models, notes = layout.scan("downloads/", dataset="dsprites")
  metrics = layout.read_metrics(models[0].metrics_path)   # {"nll": ..., ...}
"""

from __future__ import annotations

import dataclasses
import math
import os
import re

import numpy as np

from lbvae import errors
from lbvae import untrusted
from lbvae.evaluation import keys
from lbvae.train import config as config_lib

PHASE_FOLDERS = {1: "betavae_results", 2: "lambda_betavae_results"}
# The authors' dataset folder -> lbvae.data's dataset name.
DATASET_FOLDERS = {
  "dsprites": "dsprites",
  "shapes3d": "shapes3d",
  "mpi3d_real": "mpi3d_real",
  "mpi3d_toy": "mpi3d_toy",
  "mpi3d_realistic": "mpi3d_realistic",
}
_NUM = r"(\d+(?:\.\d+)?)"
MODEL_NAMES = {
  1: re.compile(rf"betavae_beta_{_NUM}_seed_(\d+)\.pth"),
  2: re.compile(rf"lambda_betavae_beta_{_NUM}_lambda_{_NUM}_seed_(\d+)\.pth"),
}
# Normalised npz keys (lower case, no "_", "-" or spaces) accepted for each metric.
METRIC_KEYS = {
  "nll": ("nll", "reconloss", "reconstructionloss", "recon", "bce", "negloglikelihood"),
  "kl": ("kl", "klloss", "kld", "kldivergence"),
  "loss": ("loss", "totalloss", "total", "elbo"),
  "mig": ("mig", "migscore"),
  "sap": ("sap", "sapscore"),
  "im": ("im", "imscore"),
}
MATRIX_KEYS = ("mimatrix", "mi", "mutualinformation", "mutualinfo")
# The most a metrics file is read into memory: its numbers, histories and MI matrix
# take kilobytes.
METRICS_MAX_BYTES = 64 * 2**20


@dataclasses.dataclass(frozen=True)
class ReleasedModel:
  """One released state dict.

  Attributes:
    phase: 1 (β-VAE) or 2 (λβ-VAE).
    beta, lam: the weights read from the file name (λ = 0 in phase 1).
    seed: the seed read from the file name.
    path: the ``.pth`` file.
    metrics_path: its ``metrics_*.npz``, or None when there is none.
  """

  phase: int
  beta: float
  lam: float
  seed: int
  path: str
  metrics_path: str | None

  def key(self) -> keys.ModelKey:
    """The evaluation's model key."""
    return keys.ModelKey(self.phase, self.beta, self.lam, self.seed)


def _folders(source: str) -> dict[str, list[int]]:
  """Dataset folder -> the phases that have it."""
  out: dict[str, list[int]] = {}
  for phase, folder in PHASE_FOLDERS.items():
    root = os.path.join(source, folder)
    if os.path.isdir(root):
      for name in sorted(os.listdir(root)):
        if os.path.isdir(os.path.join(root, name)):
          out.setdefault(name, []).append(phase)
  return out


def scan(source: str, dataset: str | None = None):
  """The released models of one dataset under ``source``.

  Args:
    source: the directory holding ``betavae_results/`` (and, when present,
      ``lambda_betavae_results/``).
    dataset: the authors' dataset folder name; needed when there are several.

  Returns:
    (dataset folder name, models sorted by phase, β, λ, seed, notes: one line per
    file that was left out or has no metrics file).

  Raises:
    lbvae.errors.Error: no such directory, no results folder, an unknown or
      ambiguous dataset folder, or no ``.pth`` file.
  """
  errors.require(
    os.path.isdir(source), f"--source {source} is not a directory", errors.DataError
  )
  errors.require(
    os.path.isdir(os.path.join(source, PHASE_FOLDERS[1])),
    f"{source} has no {PHASE_FOLDERS[1]}/ folder (the authors' layout: "
    f"{PHASE_FOLDERS[1]}/<dataset>/*.pth, optionally "
    f"{PHASE_FOLDERS[2]}/<dataset>/*.pth)",
    errors.DataError,
  )
  found = _folders(source)
  if dataset is None:
    errors.require(
      len(found) == 1,
      f"{source} holds {len(found)} dataset folders "
      f"({', '.join(found) or 'none'}); pick one with --dataset",
      errors.ConfigError,
    )
    dataset = next(iter(found))
  errors.require(
    dataset in found,
    f"{source} has no dataset folder {dataset!r} (found: {', '.join(found) or 'none'})",
    errors.ConfigError,
  )
  errors.require(
    dataset in DATASET_FOLDERS,
    f"unknown dataset folder {dataset!r} in "
    f"{source}; known: {', '.join(DATASET_FOLDERS)}",
    errors.DataError,
  )
  models, notes = [], []
  for phase in found[dataset]:
    directory = os.path.join(source, PHASE_FOLDERS[phase], dataset)
    for name in sorted(os.listdir(directory)):
      if not name.endswith(".pth"):
        continue
      match = MODEL_NAMES[phase].fullmatch(name)
      if match is None:
        notes.append(
          f"{os.path.join(directory, name)}: name not in the authors' pattern; left out"
        )
        continue
      nums = match.groups()
      beta, lam = float(nums[0]), (float(nums[1]) if phase == 2 else 0.0)
      seed = int(nums[-1])
      errors.require(
        seed < config_lib.MAX_SEEDS,
        f"{os.path.join(directory, name)}: "
        f"seed {seed} is past the {config_lib.MAX_SEEDS} seeds a grid "
        "holds",
        errors.DataError,
      )
      stem = (
        f"metrics_beta_{nums[0]}_seed_{seed}"
        if phase == 1
        else f"metrics_beta_{nums[0]}_lambda_{nums[1]}_seed_{seed}"
      )
      metrics = os.path.join(directory, stem + ".npz")
      if not os.path.exists(metrics):
        notes.append(
          f"{os.path.join(directory, name)}: no {stem}.npz; its published "
          "metrics are missing"
        )
        metrics = None
      models.append(
        ReleasedModel(phase, beta, lam, seed, os.path.join(directory, name), metrics)
      )
  errors.require(
    bool(models),
    f"no released models (.pth files named as the authors "
    f"name them) under {source} for dataset {dataset!r}",
    errors.DataError,
  )
  keys = [(m.phase, m.beta, m.lam, m.seed) for m in models]
  errors.require(
    len(set(keys)) == len(keys),
    f"{source}: two files for one model (e.g. beta_4 and beta_4.0)",
    errors.DataError,
  )
  models.sort(key=lambda m: (m.phase, m.beta, m.lam, m.seed))
  return dataset, models, notes


def _normal(key: str) -> str:
  return re.sub(r"[\s_\-]", "", key).lower()


def _final(value: np.ndarray, path: str, key: str) -> float:
  if value.ndim == 0:
    return float(value)
  errors.require(
    value.ndim == 1 and value.size > 0,
    f"{path}: {key!r} has shape {value.shape}; expected a number or a 1-D history",
    errors.DataError,
  )
  return float(value[-1])


def read_metrics(path: str | None) -> dict:
  """The published metrics of one model.

  Args:
    path: a ``metrics_*.npz`` file, or None (no file).

  Returns:
    ``{"nll", "kl", "loss", "mig", "sap", "im"}`` floats (NaN where absent),
    ``"mi_matrix"``: float64[L, F] or None, and ``"unused"``: the keys not read.

  Raises:
    lbvae.errors.DataError: the file is unreadable, or a value has a shape that is
      neither a number nor a history.
  """
  out = dict.fromkeys(METRIC_KEYS, math.nan)
  out.update(mi_matrix=None, unused=[])
  if path is None:
    return out
  try:
    with untrusted.open_regular(path) as f:
      arrays = untrusted.read_npz(f, path, max_bytes=METRICS_MAX_BYTES)
  except OSError as e:
    raise errors.DataError(f"cannot read {path}: {e.strerror or e}") from None
  used = set()
  for metric, names in METRIC_KEYS.items():
    for key, value in arrays.items():
      if _normal(key) in names and key not in used and value.dtype.kind in "fiu":
        out[metric] = _final(value, path, key)
        used.add(key)
        break
  for key, value in arrays.items():
    if (
      _normal(key) in MATRIX_KEYS
      and value.ndim == 2
      and key not in used
      and out["mi_matrix"] is None
    ):
      out["mi_matrix"] = value.astype(np.float64)
      used.add(key)
  out["unused"] = sorted(set(arrays) - used)
  return out

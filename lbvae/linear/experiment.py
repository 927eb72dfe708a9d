"""Runs the linear-Gaussian protocol of arXiv 2602.09277 and writes its files.

Synopsis::

    from lbvae.linear import experiment
    experiment.reproduce(config, workdir)     # validate, solve (float64), write

Files written into ``workdir`` (fields: ``configs/linear.py``; docs/theory.md §7):

- ``summary.csv``: solver,n,m,s,beta,lambda,inits,recon_mean,recon_std,sap_mean,
  sap_std,im_mean,im_std (recon is R, the NLL part only; std over inits, ddof=0);
- ``per_init.csv``: one row per run (R, K, D, total, SAP, I_m, I(X;Y), ||B||_2,
  iterations or steps, converged); ``contraction.csv``: beta,lambda,iteration,gain;
- ``instance_n{n}.npz`` (Gamma, Sigma_V, noise_var); ``run.json``: config, timings,
  versions; ``boxplots_n{n}.png``, ``heatmaps_n{n}.png``, ``contraction.png``.

All of it is staged in ``workdir`` and moved into place only when complete (a failing
run loses nothing); ``workdir/progress/`` (:mod:`lbvae.linear.resume`) lets a stopped
run continue. :func:`combine` writes the same files from earlier runs' per-init rows.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from typing import Any, Sequence

import jax
import ml_collections
import numpy as np

from lbvae import errors
from lbvae import files
from lbvae import memory
from lbvae.linear import plots
from lbvae.linear import problem as problem_lib
from lbvae.linear import protocol
from lbvae.linear import resume


def check_workdir(workdir: str) -> None:
  """Raises errors.Error unless ``workdir`` is (or can become) a writable local
  folder (the results are staged inside it and renamed into place)."""
  errors.require(bool(workdir), "--workdir is required")
  errors.require(
    files.is_local(workdir),
    f"--workdir {workdir}: the linear "
    "experiment's results are staged and renamed into place, which needs "
    "a local (or mounted) folder; write them to one, then copy it",
  )
  files.check_writable_dir(workdir, what="--workdir")
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as e:
    raise files.disk_error(e, f"--workdir {workdir}", workdir) from None


def write(results: protocol.Results, config, workdir: str) -> list[str]:
  """Writes every file of ``results`` into ``workdir``; returns the file names."""
  staging = tempfile.mkdtemp(prefix=".staging-", dir=workdir)
  try:
    join = lambda name: os.path.join(staging, name)
    # Bools as True/False, as read_per_init reads them back.
    for name, columns, rows in (
      ("summary.csv", protocol.SUMMARY_COLUMNS, results.summary),
      ("per_init.csv", protocol.PER_INIT_COLUMNS, results.per_init),
      ("contraction.csv", protocol.CONTRACTION_COLUMNS, results.contraction),
    ):
      files.write_csv(join(name), columns, rows, bools="text")
    collapse = {}
    for n, prob in results.instances.items():
      np.savez(
        join(f"instance_n{n}.npz"),
        Gamma=prob.gamma,
        Sigma_V=prob.sigma_v,
        noise_var=prob.noise_var,
      )
      with jax.enable_x64(True):
        collapse[n] = float(
          problem_lib.collapse_value(
            problem_lib.Problem(*(np.asarray(x) for x in prob))
          )
        )
      plots.boxplots(
        results.per_init, n=n, collapse=collapse[n], path=join(f"boxplots_n{n}.png")
      )
      plots.heatmaps(results.summary, n=n, path=join(f"heatmaps_n{n}.png"))
    plots.contraction(results.contraction, path=join("contraction.png"))
    capped = sum(
      1 for r in results.per_init if r["solver"] == "fixed_point" and not r["converged"]
    )
    meta = dict(
      config=config.to_dict(),
      seconds=results.seconds,
      collapse_value=collapse,
      fixed_point_runs_at_iteration_cap=capped,
      jax=jax.__version__,
      backend=jax.default_backend(),
      devices=[str(d) for d in jax.devices()],
    )
    with open(join("run.json"), "w") as f:
      json.dump(meta, f, indent=2, default=str)
    names = sorted(os.listdir(staging))
    for name in names:
      os.replace(join(name), os.path.join(workdir, name))
    return names
  finally:
    shutil.rmtree(staging, ignore_errors=True)


PROGRESS_FOLDER = "progress"


def reproduce(config, workdir: str, *, progress: bool = True) -> protocol.Results:
  """Validates ``config``, runs the protocol in float64, writes into ``workdir``.

  A run stopped part way is continued from ``workdir/progress/`` by calling this
  again with the same config (see :mod:`lbvae.linear.resume`).
  """
  protocol.validate(config)
  memory.require(protocol.memory_needs(config))
  check_workdir(workdir)
  with jax.enable_x64(True):
    if config.problem:  # Fail on a bad file before any solving starts.
      problem_lib.load(config.problem, default_noise_var=float(config.noise_var))
    store = resume.Store(os.path.join(workdir, PROGRESS_FOLDER), config)
    results = protocol.run(config, progress=progress, store=store)
  write(results, config, workdir)
  store.clear()
  return results


_INT_COLUMNS = ("n", "m", "s", "init", "iterations")


def read_per_init(path: str) -> list[dict[str, Any]]:
  """Typed rows of a per_init.csv (the inverse of what :func:`write` wrote).

  Raises:
    lbvae.DataError: the file is missing, lacks a column or holds a bad value.
  """
  errors.require(os.path.isfile(path), f"{path}: no such file", errors.DataError)
  with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
  missing = [c for c in protocol.PER_INIT_COLUMNS if rows and c not in rows[0]]
  errors.require(
    not missing,
    f"{path}: not a per_init.csv (no column {', '.join(missing)})",
    errors.DataError,
  )
  for line, row in enumerate(rows, start=2):
    for key, value in row.items():
      try:
        if key in _INT_COLUMNS:
          row[key] = int(value)
        elif key == "converged":
          row[key] = value == "True"
        elif key != "solver":
          row[key] = float(value)
      except (TypeError, ValueError):
        raise errors.DataError(
          f"{path}, line {line}: bad {key} value {value!r}"
        ) from None
  return rows


def combine(sources: Sequence[str], workdir: str) -> list[str]:
  """Writes one run's files into ``workdir`` from several earlier runs' folders.

  Each (solver, n) takes its per-init rows from the first source that has them;
  contraction.csv, the instances and the config come from the first source.
  run.json records which source gave what.

  Returns:
    The file names written.
  """
  errors.require(len(sources) > 0, "combine needs at least one source folder")
  per_init, origin, seconds = [], {}, {}
  for index, source in enumerate(sources):
    for name in ("per_init.csv", "run.json"):
      errors.require(
        os.path.isfile(os.path.join(source, name)),
        f"{source}: no {name} (not a finished linear run)",
      )
    with open(os.path.join(source, "run.json")) as f:
      meta = json.load(f)
    for row in read_per_init(os.path.join(source, "per_init.csv")):
      key = f"{row['solver']}/{row['n']}"
      if origin.setdefault(key, (index, source))[0] == index:
        per_init.append(row)
        if key in meta.get("seconds", {}):
          seconds[key] = meta["seconds"][key]
  first = sources[0]
  with open(os.path.join(first, "contraction.csv"), newline="") as f:
    contraction = [
      {k: float(v) if k != "iteration" else int(v) for k, v in r.items()}
      for r in csv.DictReader(f)
    ]
  with open(os.path.join(first, "run.json")) as f:
    config = ml_collections.ConfigDict(json.load(f)["config"])
  config.combined_from = {key: source for key, (_, source) in sorted(origin.items())}
  instances = {}
  for n in sorted({r["n"] for r in per_init}):
    path = next(
      (
        os.path.join(s, f"instance_n{n}.npz")
        for s in sources
        if os.path.isfile(os.path.join(s, f"instance_n{n}.npz"))
      ),
      None,
    )
    errors.require(path is not None, f"no instance_n{n}.npz in {', '.join(sources)}")
    instances[n] = problem_lib.load(path, default_noise_var=float(config.noise_var))
  check_workdir(workdir)
  results = protocol.Results(
    per_init, protocol.summarise(per_init), contraction, instances, seconds
  )
  return write(results, config, workdir)

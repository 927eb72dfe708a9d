"""Runs the linear-Gaussian protocol of arXiv 2602.09277 and writes its files.

Synopsis::

    from lbvae.linear import report
    report.reproduce(config, workdir)     # validate, solve (float64), write

Files written into ``workdir`` (see ``configs/linear.py`` for the fields):

- ``summary.csv``: solver,n,m,s,beta,lambda,inits,recon_mean,recon_std,sap_mean,
  sap_std,im_mean,im_std (recon is R, the NLL part only; std over inits, ddof=0);
- ``per_init.csv``: one row per run (R, K, D, total, SAP, I_m, I(X;Y), ||B||_2,
  iterations or steps, converged), enough to redraw every figure;
- ``contraction.csv``: beta,lambda,iteration,gain;
- ``instance_n{n}.npz``: Gamma, Sigma_V, noise_var of each instance (reusable with
  ``--config.problem``); ``run.json``: config, timings, versions;
- ``boxplots_n{n}.png``, ``heatmaps_n{n}.png``, ``contraction.png``.

Everything is written to a staging folder inside ``workdir`` and moved into place
only when all of it exists, so a failing run never loses or overwrites earlier files.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from typing import Any, Sequence

import jax
import numpy as np

from lbvae import errors
from lbvae.linear import plots
from lbvae.linear import problem as problem_lib
from lbvae.linear import protocol


def _write_csv(path: str, columns: Sequence[str],
               rows: Sequence[dict[str, Any]]) -> None:
  with open(path, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="raise")
    writer.writeheader()
    writer.writerows(rows)


def check_workdir(workdir: str) -> None:
  """Raises errors.Error unless ``workdir`` is (or can become) a writable folder."""
  errors.require(bool(workdir), "--workdir is required")
  errors.require(not os.path.exists(workdir) or os.path.isdir(workdir),
              f"--workdir={workdir} exists and is not a folder")
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as e:
    raise errors.ConfigError(
        f"--workdir={workdir} cannot be created ({e.strerror})") from None
  errors.require(os.access(workdir, os.W_OK), f"--workdir={workdir} is not writable")


def write(results: protocol.Results, config, workdir: str) -> list[str]:
  """Writes every file of ``results`` into ``workdir``; returns the file names."""
  staging = tempfile.mkdtemp(prefix=".staging-", dir=workdir)
  try:
    join = lambda name: os.path.join(staging, name)
    _write_csv(join("summary.csv"), protocol.SUMMARY_COLUMNS, results.summary)
    _write_csv(join("per_init.csv"), protocol.PER_INIT_COLUMNS, results.per_init)
    _write_csv(join("contraction.csv"), protocol.CONTRACTION_COLUMNS,
               results.contraction)
    collapse = {}
    for n, prob in results.instances.items():
      np.savez(join(f"instance_n{n}.npz"), Gamma=prob.gamma, Sigma_V=prob.sigma_v,
               noise_var=prob.noise_var)
      with jax.enable_x64(True):
        collapse[n] = float(problem_lib.collapse_value(
            problem_lib.Problem(*(np.asarray(x) for x in prob))))
      plots.boxplots(results.per_init, n=n, collapse=collapse[n],
                     path=join(f"boxplots_n{n}.png"))
      plots.heatmaps(results.summary, n=n, path=join(f"heatmaps_n{n}.png"))
    plots.contraction(results.contraction, path=join("contraction.png"))
    capped = sum(1 for r in results.per_init
                 if r["solver"] == "fixed_point" and not r["converged"])
    meta = dict(config=config.to_dict(), seconds=results.seconds,
                collapse_value=collapse, fixed_point_runs_at_iteration_cap=capped,
                jax=jax.__version__, backend=jax.default_backend(),
                devices=[str(d) for d in jax.devices()])
    with open(join("run.json"), "w") as f:
      json.dump(meta, f, indent=2, default=str)
    names = sorted(os.listdir(staging))
    for name in names:
      os.replace(join(name), os.path.join(workdir, name))
    return names
  finally:
    shutil.rmtree(staging, ignore_errors=True)


def reproduce(config, workdir: str, *, progress: bool = True) -> protocol.Results:
  """Validates ``config``, runs the protocol in float64, writes into ``workdir``."""
  protocol.validate(config)
  check_workdir(workdir)
  with jax.enable_x64(True):
    if config.problem:  # Fail on a bad file before any solving starts.
      problem_lib.load(config.problem, default_noise_var=float(config.noise_var))
    results = protocol.run(config, progress=progress)
  write(results, config, workdir)
  return results

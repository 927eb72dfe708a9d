"""Holds a linear run's fixed-point results to the literal published loop, run by run.

    python -m experiments.check_linear_reference --config=configs/linear.py \
        --per_init=runs/linear/per_init.csv --n=100 --out=runs/linear/reference_n100.csv

Replays every fixed-point run of dimension ``--n`` in ``--per_init`` (the
per_init.csv of ``experiments.linear`` run with the same config) through
:mod:`lbvae.linear.reference`, the authors' loop with dense NumPy inverses, one
start at a time, from the same start and with the same tolerance and cap. Scores
the reference's models with the protocol's own closed forms and writes one row per
run: the update counts of both and the differences in R (recon), SAP and I_m.
Prints the largest differences and how many runs stopped after a different number
of updates. ``--betas`` and ``--lambdas`` limit the replay to some cells (the
beta = 1 runs take most of the time: at n = 100 they need ~2.3 million of the
~2.7 million updates), so that parts can run side by side. Set
OMP_NUM_THREADS=1 to keep each to one core.
"""

import os

from absl import flags
import jax
import numpy as np
from ml_collections import config_flags
import tqdm

from lbvae import cli
from lbvae import errors
from lbvae import files
from lbvae.linear import experiment
from lbvae.linear import objective
from lbvae.linear import problem as problem_lib
from lbvae.linear import protocol
from lbvae.linear import reference
from lbvae.linear import setups

_CONFIG = config_flags.DEFINE_config_file("config", None, "Protocol config file.")
_PER_INIT = flags.DEFINE_string(
  "per_init", None, "per_init.csv of a run with --config."
)
_N = flags.DEFINE_integer("n", 50, "Which instance to replay.")
_BETAS = flags.DEFINE_list("betas", [], "Replay only these beta values (default all).")
_LAMBDAS = flags.DEFINE_list(
  "lambdas", [], "Replay only these lambda values (default all)."
)
_OUT = flags.DEFINE_string("out", "", "CSV with one row per replayed run (optional).")

COLUMNS = (
  "beta",
  "lambda",
  "init",
  "iterations",
  "reference_iterations",
  "recon_diff",
  "sap_diff",
  "im_diff",
)


def _replay(config, rows, n):
  """Runs the reference loop for ``rows``: (Params stacked over rows, updates)."""
  instances = setups.build(config)
  errors.require(
    n in instances,
    f"--n={n}: the config has no instance of that size (it has {sorted(instances)})",
  )
  setup = instances[n]
  b0s, w0s = setup.fixed_point
  errors.require(
    max(r["init"] for r in rows) < len(b0s),
    "the per_init.csv has "
    f"starts the config does not (it has {len(b0s)}): run with the "
    "config of that run",
    errors.DataError,
  )
  k = protocol.size_class(config, n)
  tol, cap = float(config.fixed_point.tol[k]), int(config.fixed_point.max_iters[k])
  sigma_y = np.asarray(problem_lib.sigma_y(protocol.as_jax(setup.problem)))
  models, updates = [], []
  for row in tqdm.tqdm(rows, desc=f"reference n={n}", unit="run"):
    a, b, sz, w, used = reference.solve(
      sigma_y,
      b0s[row["init"]],
      w0s[row["init"]],
      beta=row["beta"],
      lam=row["lambda"],
      tol=tol,
      max_iters=cap,
    )
    models.append((a, b, sz, w))
    updates.append(used)
  params = objective.Params(*(np.stack(x) for x in zip(*models)))
  return params, setup.problem, np.array(updates)


def main(argv):
  errors.require(len(argv) == 1, f"unexpected arguments: {' '.join(argv[1:])}")
  errors.require(_CONFIG.value is not None, "--config is required")
  errors.require(bool(_PER_INIT.value), "--per_init is required")
  errors.require(
    not os.path.exists(_OUT.value), f"--out={_OUT.value} exists; give a new file name"
  )
  config, n = _CONFIG.value, _N.value
  protocol.validate(config)
  betas = {float(b) for b in _BETAS.value}
  lams = {float(x) for x in _LAMBDAS.value}
  rows = [
    r
    for r in experiment.read_per_init(_PER_INIT.value)
    if r["solver"] == "fixed_point"
    and r["n"] == n
    and (not betas or r["beta"] in betas)
    and (not lams or r["lambda"] in lams)
  ]
  errors.require(
    bool(rows),
    f"{_PER_INIT.value}: no fixed-point runs of n={n} in the cells asked for",
  )
  with jax.enable_x64(True):
    params, prob, updates = _replay(config, rows, n)
    values = protocol.score(params, prob)
  out = []
  for r, row in enumerate(rows):
    out.append(
      dict(
        beta=row["beta"],
        **{"lambda": row["lambda"]},
        init=row["init"],
        iterations=row["iterations"],
        reference_iterations=int(updates[r]),
        recon_diff=float(values["recon"][r]) - row["recon"],
        sap_diff=float(values["sap"][r]) - row["sap"],
        im_diff=float(values["im"][r]) - row["im"],
      )
    )
  if _OUT.value:
    files.write_csv(_OUT.value, COLUMNS, out)
  worst = {
    c: max(abs(o[c]) for o in out) for c in ("recon_diff", "sap_diff", "im_diff")
  }
  differ = sum(o["iterations"] != o["reference_iterations"] for o in out)
  print(
    f"n={n}: {len(out)} runs replayed; runs stopping after a different number "
    f"of updates: {differ}; largest |difference|: R {worst['recon_diff']:.2g}, "
    f"SAP {worst['sap_diff']:.2g}, I_m {worst['im_diff']:.2g}"
  )
  above = [o for o in out if o["beta"] > 1]
  if above and len(above) < len(out):
    print(
      f"  beta > 1 only: largest |difference| in R "
      f"{max(abs(o['recon_diff']) for o in above):.2g}"
    )


if __name__ == "__main__":
  cli.run(main)

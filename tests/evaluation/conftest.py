"""A small finished training run, written with the trainer's own file API.

Training even the smoke config costs tens of seconds of compilation on a 2-core
CPU, so the evaluation tests start from a workdir that has exactly what the trainer
leaves (``lbvae.train.workdir`` files, ``lbvae.train.checkpoint`` orbax checkpoints)
but random parameters. ``tests/test_evaluate_cli.py`` covers a really trained run.
"""

import os

import jax
import numpy as np
import pytest

from lbvae import files
from lbvae import models
from lbvae.train import checkpoint
from lbvae.train import config as config_lib
from lbvae.train import loop
from lbvae.train import members
from lbvae.train import workdir

# Small evaluation sizes: the pass's shapes stay tiny and compile fast.
EVAL = {
  "num_train": 300,
  "num_test": 100,
  "num_bins": 10,
  "batch_size": 100,
  "factor_vae_votes": 6,
  "factor_vae_batch": 8,
}
NAN_MEMBER = (2, 8.0, 4.0, 0)  # (phase, beta, lambda, seed): NaN parameters
FROZEN_MEMBER = (1, 8.0, 0.0, 0)  # flagged finite=0, parameters still finite


def small_config():
  c = config_lib.defaults()
  c.betas = (1.0, 8.0)
  c.lambdas = (0.0, 4.0)
  c.num_seeds = 1
  c.phase1_steps = 4
  c.phase2_steps = 2
  c.eval.update(EVAL)
  return c


def random_params(num: int, seed: int):
  """float32 parameters of ``num`` 10-latent VAEs, stacked on a leading axis."""
  shapes = jax.eval_shape(lambda: models.init_params(jax.random.key(0)))
  rng = np.random.default_rng(seed)

  def fill(leaf):
    fan_in = int(np.prod(leaf.shape[:-1])) if leaf.ndim > 1 else 100
    return rng.normal(0, fan_in**-0.5, (num,) + leaf.shape).astype(np.float32)

  return jax.tree.map(fill, shapes)


def write_run(root: str, config) -> None:
  """Writes a finished two-phase run of ``config`` into ``root``."""
  paths = workdir.Paths(root)
  workdir.store_config(paths, config)
  for phase in (1, 2):
    grid = members.phase_grid(config, phase)
    params = random_params(len(grid), seed=phase)
    rows = []
    for m in grid:
      key = (phase, m.strength, m.lam, m.seed)
      row = m.as_dict()
      row["finite"] = key not in (NAN_MEMBER, FROZEN_MEMBER)
      row["frozen_step"] = None if row["finite"] else 1
      if key == NAN_MEMBER:
        for leaf in jax.tree.leaves(params):
          leaf[m.index] = np.nan
      rows.append(row)
    start, end = loop.phase_span(config, phase)
    meta = {
      "phase": phase,
      "step": end,
      "start_step": start,
      "end_step": end,
      "members": rows,
    }
    ckpts = checkpoint.PhaseCheckpoints(paths.checkpoints(phase))
    ckpts.save(end, {"params": params}, meta)
    ckpts.close()
    files.write_json(paths.grid(phase), meta)
    final = [
      dict(
        r,
        nll=100.0 + 10 * r["beta"] + r["lambda"],
        kl=5.0 / r["beta"],
        l2=3.0,
        loss=0.0,
        frozen_step=-1,
        step=end,
      )
      for r in rows
    ]
    files.write_csv(paths.final_metrics(phase), workdir.FINAL_COLUMNS, final)


def corrupt(root: str, phase: int) -> str:
  """Truncates the OCDBT manifest of the final checkpoint of ``phase`` (as written
  by :func:`write_run`); returns the checkpoint's directory."""
  step = loop.phase_span(small_config(), phase)[1]
  directory = os.path.join(workdir.Paths(root).checkpoints(phase), str(step))
  victim = os.path.join(directory, "state", "manifest.ocdbt")
  with open(victim, "r+b") as f:
    f.truncate(os.path.getsize(victim) // 2)
  return directory


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
  """A finished (untrained) run: 2 phase-1 and 4 phase-2 models, one seed."""
  root = str(tmp_path_factory.mktemp("run"))
  write_run(root, small_config())
  return root

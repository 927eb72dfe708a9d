"""A workdir moves between device counts: trained on N, resumed and evaluated on M.

The smoke sweep of ``tests/train/test_loop.py`` (2 phase-1 models, 4 phase-2 models,
phase 1 to step 4, phase 2 to step 8, checkpoints every 2 steps) runs in
subprocesses with 1, 2 or 4 fake CPU devices (``tests/helpers/fake_devices.py``).
On 4 devices phase 1 is padded with 2 inert members, phase 2 is not. One run hops:
killed in phase 1 on 4 devices, resumed on 1 device and killed in phase 2, finished
on 4 devices; it must end with the numbers of the uninterrupted runs. The evaluation
pass reads the 4-device workdir on 1 and on 2 devices and the 1-device workdir on
1 and on 4, and gives the same table whatever device count reads it.
"""

import csv
import os
import pathlib
import shutil

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from lbvae.train import workdir as workdir_lib
from tests.helpers import fake_devices

pytestmark = pytest.mark.slow

# Across device counts the trainer runs different programs (one CPU device: lax.map
# over the members; several: vmap sharded over them), so float32 sums are rounded in
# a different order: the numbers agree to rounding, not bit for bit (on one device
# count resume is exact, tests/train/test_loop.py).
RTOL = 1e-3
EVAL = {
  "num_train": 200,
  "num_test": 100,
  "num_bins": 10,
  "batch_size": 100,
  "factor_vae_votes": 6,
  "factor_vae_batch": 8,
}
CONTINUOUS = ("nll", "kl", "l2", "heldout_nll", "heldout_kl")


def run_actions(actions) -> None:
  """Runs in a subprocess: ("train", workdir, kill) with kill None or (phase, step),
  or ("evaluate", workdir, copy) -- the pass on a fresh copy of workdir (no cache)."""
  from lbvae import train
  from lbvae.evaluation import runner
  from tests.train.test_loop import Killed, kill_at, sweep_config

  print(f"devices: {jax.device_count()}")
  for action, workdir, arg in actions:
    if action == "train":
      try:
        train.train(
          sweep_config(),
          workdir,
          show_progress=False,
          hook=None if arg is None else kill_at(*arg),
        )
      except Killed as e:
        print(e)
    else:
      shutil.copytree(workdir, arg, ignore=shutil.ignore_patterns("eval", "report.md"))
      config = train.load_config(arg)
      config.eval.update(EVAL)
      result = runner.evaluate_workdir(arg, config, progress=False)
      assert result.num_evaluated == 6 and not result.problems, result.problems


def _on(count, cache, *actions):
  result = fake_devices.run(
    "tests.test_portable",
    "run_actions",
    list(actions),
    count=count,
    cache_dir=cache,
    timeout=900,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert f"devices: {count}" in result.stdout
  return result.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory, request):
  cache = request.config.cache.mkdir("jax_compilation_cache")
  root = tmp_path_factory.mktemp("portable")
  d = {k: str(root / k) for k in ("on4", "on1", "hops", "e41", "e42", "e11", "e14")}
  out = _on(4, cache, ("train", d["on4"], None), ("train", d["hops"], (1, 3)))
  assert "killed at phase 1 step 3" in out
  out = _on(
    1,
    cache,
    ("train", d["on1"], None),
    ("train", d["hops"], (2, 7)),
    ("evaluate", d["on4"], d["e41"]),
    ("evaluate", d["on1"], d["e11"]),
  )
  assert "killed at phase 2 step 7" in out
  _on(4, cache, ("train", d["hops"], None), ("evaluate", d["on1"], d["e14"]))
  _on(2, cache, ("evaluate", d["on4"], d["e42"]))
  return d


def _table(path):
  with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
  names = [k for k in rows[0] if k != "objective"]  # the one text column
  return names, np.array([[float(r[k]) for k in names] for r in rows])


def test_resume_on_other_device_counts_ends_as_uninterrupted(runs):
  log = open(workdir_lib.Paths(runs["hops"]).run_log).read()
  in_order = [
    "grid of 2 models sharded over 4 devices (padded with 2 inert copies)",
    "resuming phase 1 from step 2",
    "grid of 2 models on 1 device",
    "grid of 4 models on 1 device",
    "resuming phase 2 from step 6",
    "grid of 4 models sharded over 4 devices",
  ]
  at = [log.find(line) for line in in_order]
  assert -1 not in at and at == sorted(at), list(zip(in_order, at))
  for phase in (1, 2):
    head, hops = _table(workdir_lib.Paths(runs["hops"]).final_metrics(phase))
    for other in ("on4", "on1"):
      head2, ref = _table(workdir_lib.Paths(runs[other]).final_metrics(phase))
      assert list(head) == list(head2) and hops.shape == ref.shape == (2 * phase, 11)
      np.testing.assert_allclose(hops, ref, rtol=RTOL, err_msg=f"{phase} {other}")


def test_padding_never_reaches_a_checkpoint(runs):
  """Phase 1 trained 2 members padded to 4 over 4 devices; its checkpoints hold 2."""
  ckpts = workdir_lib.Paths(runs["on4"]).checkpoints(1)
  for step in ("2", "4"):
    tree = ocp.PyTreeCheckpointHandler().metadata(pathlib.Path(ckpts, step, "state"))
    shapes = [
      leaf.shape
      for leaf in jax.tree.leaves(tree, is_leaf=lambda x: hasattr(x, "shape"))
    ]
    assert len(shapes) > 20 and {s[0] for s in shapes} == {2}, step


def test_evaluation_reads_a_workdir_on_any_device_count(runs):
  metrics = {
    k: _table(os.path.join(runs[k], "eval", "metrics.csv"))
    for k in ("e41", "e42", "e11", "e14")
  }
  # The same workdir read on 1, 2 or 4 devices: the parameters come to host memory
  # and the pass runs on the first device, so the tables are identical.
  for a, b in (("e41", "e42"), ("e11", "e14")):
    assert list(metrics[a][0]) == list(metrics[b][0])
    np.testing.assert_array_equal(metrics[a][1], metrics[b][1])
  head, on4 = metrics["e41"]
  _, on1 = metrics["e11"]
  udr = [list(head).index(c) for c in ("udr", "udr_spearman")]
  scores = np.delete(on4, udr, axis=1)
  assert on4.shape == on1.shape == (6, len(head)) and np.isfinite(scores).all()
  # One seed per cell: UDR has no pair of seeds to compare, so it is absent.
  assert np.isnan(on4[:, udr]).all()
  cols = [list(head).index(c) for c in CONTINUOUS]  # trained on 4 vs on 1 device
  np.testing.assert_allclose(on4[:, cols], on1[:, cols], rtol=RTOL)

"""lbvae.evaluation.store and the pass's writers on a URL workdir (``gs://`` served
from memory): the cache, the figures and the tables go through lbvae.files."""

import os

import numpy as np
from matplotlib.figure import Figure

from lbvae import files
from lbvae.evaluation import figures
from lbvae.evaluation import keys
from lbvae.evaluation import model_figures
from lbvae.evaluation import store
from lbvae.evaluation import tables
from lbvae.train import checkpoint

KEY = {"phase": 2, "beta": 16.0, "lambda": 4.0, "seed": 0}


def test_a_cache_entry_in_a_url_workdir_holds_once_its_figures_exist(bucket):
  paths = store.EvalPaths(bucket)
  assert paths.entry(KEY) == f"{bucket}/eval/cache/p2_b16_l4_s0.json"
  facts = {"step": 6, "settings": {"n": 1}, "checkpoint": "abc"}
  store.save_entry(paths, KEY, scores={"mig": 0.5}, **facts)
  assert store.load_entry(paths, KEY, **facts) is None  # no figures yet
  fig = Figure()
  fig.add_subplot().plot([0, 1])
  for kind in ("mi", "recon", "traversal"):
    figures.save(fig, paths.figure(KEY, kind))
  figures.traversal_gif(np.zeros((2, 3, 4, 4, 1)), [0, 1], paths.figure(KEY, "gif"))
  assert files.as_path(paths.figure(KEY, "mi")).read_bytes()[:4] == b"\x89PNG"
  assert files.as_path(paths.figure(KEY, "gif")).read_bytes()[:3] == b"GIF"
  assert store.load_entry(paths, KEY, **facts)["scores"] == {"mig": 0.5}
  assert store.load_entry(paths, KEY, **{**facts, "checkpoint": "new"}) is None
  assert (
    paths.relative(paths.figure(KEY, "mi")) == "eval/figures/models/p2_b16_l4_s0_mi.png"
  )


def test_tables_and_fingerprints_in_a_url_workdir(bucket):
  paths = store.EvalPaths(bucket)
  rows = [{"phase": 1, "beta": 1.0, "lambda": 0.0, "seed": 0, "mig": 1 / 3}]
  tables.write_csv(paths.metrics_csv, list(rows[0]), rows)
  assert tables.read_csv(paths.metrics_csv) == [{**rows[0], "mig": 0.33333333}]
  directory = f"{bucket}/phase1/checkpoints"
  files.write_bytes(f"{directory}/2/state/d/chunk", b"123")
  files.write_json(f"{directory}/2/meta/metadata", {})
  before = checkpoint.fingerprint(directory, 2)
  assert checkpoint.fingerprint(directory, 2) == before
  files.write_bytes(f"{directory}/2/state/d/chunk", b"1234")  # truncated or rewritten
  assert checkpoint.fingerprint(directory, 2) != before


def test_a_cache_entry_written_before_entry_existed_is_read_and_kept(tmp_path):
  """data/p2_*.json were written by store.save_entry before the cache had a type:
  they read back as valid entries and write back as the same JSON."""
  paths = store.EvalPaths(str(tmp_path))
  here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
  for name, scored in (("p2_b1_l4_s0.json", True), ("p2_b8_l4_s0.json", False)):
    old = files.read_json(os.path.join(here, name))
    entry = store.CacheEntry.from_json(old)
    assert entry.key == keys.ModelKey(2, old["key"]["beta"], old["key"]["lambda"], 0)
    assert entry.key.id + ".json" == name
    assert entry.to_json() == old
    assert (entry.scores is not None) == scored
    files.write_json(paths.entry(entry.key), old)
    for kind in model_figures.kinds(None):
      files.write_bytes(paths.figure(entry.key, kind), b"x")
    facts = {
      "step": old["step"],
      "settings": old["settings"],
      "checkpoint": old["checkpoint"],
    }
    loaded = store.load_entry(paths, entry.key, **facts)
    assert loaded.key == entry.key and loaded.to_json() == old
    if scored:
      np.testing.assert_array_equal(loaded.mi, np.asarray(old["mi"]))
      assert loaded.scores["mig"] == old["scores"]["mig"]
    store.save_entry(
      paths,
      entry.key,
      **facts,
      scores=entry.scores,
      mi=entry.mi,
      kl_per_latent=entry.kl_per_latent,
      seconds=entry.seconds,
      mi_posterior=entry.mi_posterior,
    )
    assert files.read_json(paths.entry(entry.key)) == old

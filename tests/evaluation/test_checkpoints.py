"""What the evaluation pass reads of a trained phase besides its checkpoints."""

import math

from lbvae import files
from lbvae import objectives
from lbvae.evaluation import checkpoints
from lbvae.train import workdir


def _final_metrics(path, fields, parts):
  columns = workdir.ID_COLUMNS + fields + workdir.FLAG_COLUMNS + parts
  row = {"member": 0, "beta": 4.0, "lambda": 2.0, "seed": 1, "finite": 1,
         "frozen_step": -1, "step": 10}
  row.update({f: float(i) for i, f in enumerate(fields + parts)})
  row["kl"] = ""                                  # an empty cell reads as NaN
  files.write_csv(path, columns, [row])


def test_training_means_are_the_reported_fields_and_the_parts(tmp_path):
  path = str(tmp_path / "final_metrics.csv")
  _final_metrics(path, objectives.BASE_FIELDS, ("total_correlation",))
  means = checkpoints._train_means(path)
  assert list(means) == [(4.0, 2.0, 1)]
  got = means[(4.0, 2.0, 1)]
  assert list(got) == ["nll", "kl", "l2", "total_correlation"]   # loss is not reported
  assert got["nll"] == 0.0 and math.isnan(got["kl"]) and got["total_correlation"] == 4.0
  assert checkpoints._train_means(str(tmp_path / "missing.csv")) == {}


def test_a_new_logged_field_reaches_the_tables(tmp_path, monkeypatch):
  """A base field added to the objectives' declarations is read without a list to
  edit here: reported, it is a training mean; not reported, it is left out."""
  fields = objectives.BASE_FIELDS + ("grad_norm", "lr")
  monkeypatch.setattr(objectives, "BASE_FIELDS", fields)
  monkeypatch.setattr(objectives, "REPORTED", objectives.REPORTED + ("grad_norm",))
  monkeypatch.setattr(workdir, "FINAL_COLUMNS",
                      workdir.ID_COLUMNS + fields + workdir.FLAG_COLUMNS)
  path = str(tmp_path / "final_metrics.csv")
  _final_metrics(path, fields, ("capacity",))
  got = checkpoints._train_means(path)[(4.0, 2.0, 1)]
  assert list(got) == ["nll", "kl", "l2", "grad_norm", "capacity"]
  assert got["grad_norm"] == 4.0 and got["capacity"] == 6.0

r"""The evaluation pass: checkpoints of a training run -> metrics, figures, report.

Usage::

  python -m experiments.evaluate --workdir=runs/default \
      [--config.eval.num_train=10000 --config.eval.num_test=5000 ...]

The run's configuration is read from the workdir (the trainer stores it there);
``--config.<field>=<value>`` overrides any of its fields for this pass, with the
stored field's type (an unknown field is an error). Only the ``eval.*`` fields
(``num_train``, ``num_test``, ``num_bins``, ``batch_size``, ``factor_vae_votes``,
``factor_vae_batch``, ``posterior_samples``, ``udr_samples``) and where the data lies
(``dataset.path``, ``dataset.background``) change what the pass does: the models and
the grid come from the checkpoints.

Writes ``DIR/eval/metrics.csv``, ``DIR/eval/summary.csv``, ``DIR/eval/figures/`` and
``DIR/report.md`` (see :mod:`lbvae.evaluation.runner`), and ends by printing where
the report is. Re-running evaluates only models that are new (or whose checkpoint
or evaluation settings changed). The checkpoints may come from a run on any number of
devices. A checkpoint that does not read (or decode) is named on one line and the
phase's next older checkpoint is used, or its models are skipped; when nothing at
all could be evaluated the command exits with status 2 and one ``error:`` line. Its
cost per model: docs/performance.md.
"""

from __future__ import annotations

import sys

from absl import flags
from absl import logging
from ml_collections import config_dict
from ml_collections import config_flags

from lbvae import cli
from lbvae import errors
from lbvae import eval_settings
from lbvae import evaluation
from lbvae import files
from lbvae.evaluation import runner

_WORKDIR = flags.DEFINE_string("workdir", None, "the training run's directory")
_PROGRESS = flags.DEFINE_bool("progress", True, "show a progress bar")


def _has_field(config, dotted: str) -> bool:
  node = config
  for part in dotted.split("."):
    if not isinstance(node, config_dict.ConfigDict) or part not in node:
      return False
    node = node[part]
  return True


def define_config_flag(argv) -> None:
  """Defines ``--config`` as the workdir's stored config, so overrides parse.

  Runs before absl parses the whole command line: absl reads ``--workdir`` first
  (the flags it knows; the ``--config.*`` overrides are left). A missing workdir or
  config leaves an empty config (``main`` then reports the problem); an override of
  a field the config does not have is a usage error here.
  """
  try:
    rest = flags.FLAGS(argv, known_only=True)
  except flags.Error as e:
    cli.fail(str(e))
  workdir = _WORKDIR.value
  config = config_dict.ConfigDict()
  if workdir:
    try:
      files.check_writable_dir(workdir, what="--workdir", must_exist=True)
      config = eval_settings.with_eval_defaults(evaluation.load_config(workdir))
    except errors.Error as e:
      cli.fail(str(e))
  for arg in rest[1:]:
    if arg.startswith("--config."):
      field = arg[len("--config.") :].split("=", 1)[0]
      if not _has_field(config, field):
        cli.fail(
          f"unknown config field {field!r} (the fields are those of "
          f"{workdir}/config.json, e.g. eval.num_train)"
        )
  config_flags.DEFINE_config_dict(
    "config", config, "the run's config (stored in the workdir)"
  )


def main(argv) -> None:
  if len(argv) > 1:
    raise errors.ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
  workdir = _WORKDIR.value
  errors.require(bool(workdir), "--workdir is required, e.g. --workdir=runs/default")
  config = flags.FLAGS.config  # the stored config with the overrides
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.ERROR)  # orbax logs every restore
  result = runner.evaluate_workdir(workdir, config, progress=_PROGRESS.value)
  print(f"report: {result.report}", flush=True)


def parse_or_fail(argv) -> None:
  """Parses the command line once up front: a bad flag value is one line, exit 2."""
  try:
    flags.FLAGS(argv)
  except flags.Error as e:
    cli.fail(str(e))


if __name__ == "__main__":
  define_config_flag(sys.argv)
  parse_or_fail(sys.argv)
  cli.run(main)

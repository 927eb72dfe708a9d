r"""Trains both phases of a λβ-VAE sweep (arXiv 2602.09277, §4) into a workdir.

Usage::

  python -m experiments.sweep --config=configs/default.py --workdir=runs/default \
      [--config.betas="(1,4,16)" --config.phase1_steps=2000 ...]

Running the same command again on the same workdir resumes from the latest
checkpoints (or says the workdir is already trained). Then evaluate with
``python -m experiments.evaluate --workdir=runs/default`` (``make sweep`` does both).
"""

from __future__ import annotations

from absl import flags
from absl import logging
from ml_collections import config_flags

from lbvae import cli
from lbvae import errors
from lbvae import train

_CONFIG = config_flags.DEFINE_config_file(
  "config", None, "a sweep config file, e.g. configs/default.py", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", None, "the run directory")
_PROGRESS = flags.DEFINE_bool("progress", True, "show progress bars")


def main(argv) -> None:
  if len(argv) > 1:
    raise errors.ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
  errors.require(
    _CONFIG.value is not None, "--config is required, e.g. --config=configs/default.py"
  )
  errors.require(
    bool(_WORKDIR.value), "--workdir is required, e.g. --workdir=runs/default"
  )
  logging.set_verbosity(logging.WARNING)  # orbax reports every save at INFO
  train.train(_CONFIG.value, _WORKDIR.value, show_progress=_PROGRESS.value)


if __name__ == "__main__":
  cli.run(main)

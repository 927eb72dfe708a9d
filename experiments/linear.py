"""Entry point: the linear-Gaussian reproduction of arXiv 2602.09277 (docs/theory.md).

    python -m experiments.linear --config=configs/linear.py --workdir=runs/linear

Writes summary.csv, per_init.csv, contraction.csv, figures and run.json into the
workdir (see lbvae/linear/experiment.py). To put together the halves of earlier runs
(each (solver, n) from the first folder that has it), without solving anything:

    python -m experiments.linear --combine=runs/fixed_point,runs/gradient \
        --workdir=runs/linear
"""

from absl import flags
from ml_collections import config_flags

from lbvae import cli
from lbvae import errors
from lbvae.linear import experiment

_CONFIG = config_flags.DEFINE_config_file("config", None, "Protocol config file.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Folder for the results.")
_COMBINE = flags.DEFINE_list(
  "combine", [], "Earlier run folders to combine instead of solving (no --config then)."
)


def main(argv):
  errors.require(len(argv) == 1, f"unexpected arguments: {' '.join(argv[1:])}")
  if _COMBINE.value:
    errors.require(_CONFIG.value is None, "--combine takes no --config")
    experiment.combine(_COMBINE.value, _WORKDIR.value or "")
    print(f"wrote results to {_WORKDIR.value}")
    return
  errors.require(
    _CONFIG.value is not None, "--config is required, e.g. --config=configs/linear.py"
  )
  experiment.reproduce(_CONFIG.value, _WORKDIR.value or "")
  print(f"wrote results to {_WORKDIR.value}")


if __name__ == "__main__":
  cli.run(main)

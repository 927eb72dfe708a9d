r"""Imports the authors' released PyTorch models into a workdir, for the evaluation pass.

Usage::

  python -m experiments.import_torch --source=DIR --workdir=runs/authors_dsprites \
      [--dataset=dsprites]
  python -m experiments.evaluate --workdir=runs/authors_dsprites

``--source`` holds the authors' ``betavae_results/<dataset>/`` (and, when present,
``lambda_betavae_results/<dataset>/``) folders as published with arXiv 2602.09277
(docs/released_models.md); ``--dataset`` picks the dataset folder (``dsprites``,
``shapes3d``, ``mpi3d_real``) when there are several. PyTorch is not needed: the
``.pth`` files are read with an allow-listed unpickler, and one whose pickle names
anything but tensors, storages and dicts is refused (one line, exit status 2, nothing
run or written). The workdir gets the trainer's layout, the authors' published
metrics (``published_metrics.csv``) and the files' provenance; the evaluation pass
then reports lbvae's scores next to theirs. dSprites is evaluated on the procedural
re-rendering unless ``--config.dataset.source=file --config.dataset.path=...`` is
given to ``experiments.evaluate``; Shapes3D and MPI3D need ``--config.dataset.path``.
"""

from __future__ import annotations

from absl import flags
from absl import logging

from lbvae import cli
from lbvae import errors
from lbvae.released import importer

_SOURCE = flags.DEFINE_string(
  "source",
  None,
  "the directory with the authors' betavae_results/ (and lambda_betavae_results/)",
)
_WORKDIR = flags.DEFINE_string("workdir", None, "the run directory to create")
_DATASET = flags.DEFINE_string(
  "dataset",
  None,
  "the authors' dataset folder "
  "(dsprites, shapes3d, mpi3d_real), when there are "
  "several",
)


def main(argv) -> None:
  if len(argv) > 1:
    raise errors.ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
  errors.require(
    bool(_SOURCE.value),
    "--source is required: the directory with the authors' betavae_results/",
  )
  errors.require(
    bool(_WORKDIR.value), "--workdir is required, e.g. --workdir=runs/authors_dsprites"
  )
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.ERROR)  # orbax logs every save
  result = importer.import_released(
    _SOURCE.value, _WORKDIR.value, dataset=_DATASET.value
  )
  if result.imported:
    print(
      f"imported phase 1: {result.num_models[1]} models, phase 2: "
      f"{result.num_models[2]} models into {result.workdir}"
    )
  hint = (
    "" if result.dataset == "dsprites" else " --config.dataset.path=<the original file>"
  )
  print(
    f"next: python -m experiments.evaluate --workdir={result.workdir}{hint}", flush=True
  )


if __name__ == "__main__":
  cli.run(main)

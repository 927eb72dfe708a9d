"""lbvae: the λβ-VAE in JAX/Flax (arXiv 2602.09277): the β-VAE plus λ·E‖x − g(z)‖².

Its linear-Gaussian theory, and conv experiments that train a β × λ × seed grid as one
jitted program. The map (loaded on first use; runnable examples in docs/library.md):

=======================  ==============================================================
``lbvae.losses``         L_β / L_λβ and their terms, per example, pure
``lbvae.models``         the convolutional VAE (Flax linen)
``lbvae.initializers``   its initial weights: PyTorch's (the reference's) or Flax's
``lbvae.objectives``     β-TCVAE, DIP-VAE-I/II, AnnealedVAE, FactorVAE: λ as a plug-in
``lbvae.metrics``        MIG, SAP, I_m, DCI, FactorVAE, binned / posterior-aware MI, UDR
``lbvae.data``           dSprites, Shapes3D, MPI3D, their family, your own images
``lbvae.train``          the train state, the one-model step, grids, the two-phase sweep
``lbvae.evaluation``     checkpoints -> metrics.csv, figures, report.md
``lbvae.eval_settings``  the ``eval`` group of a config: the pass's sizes and bounds
``lbvae.linear``         the linear-Gaussian model: closed forms, both solvers, scores
``lbvae.released``       the authors' released PyTorch models, read without PyTorch
``lbvae.files``          atomic writes of the JSON / CSV / text files lbvae leaves
``lbvae.untrusted``      reading files that may lie: regular files only, bounded sizes
``lbvae.memory``         what a run's sizes need, checked against the free memory
``lbvae.interrupts``     Ctrl-C and SIGTERM: the sections they must not cut
``lbvae.devices``        the one test of "CPU or accelerator" (each CPU choice listed)
``lbvae.accel``          every program of a config compiled for a GPU / TPU without one
``lbvae.errors``         the errors lbvae raises on bad input (``lbvae.Error`` and kin)
=======================  ==============================================================
"""

from __future__ import annotations

import importlib
import sys

from lbvae.errors import CheckpointError
from lbvae.errors import ConfigError
from lbvae.errors import DataError
from lbvae.errors import Error

__version__ = "0.1.0"

SUBPACKAGES = (
  "accel",
  "data",
  "devices",
  "errors",
  "eval_settings",
  "evaluation",
  "files",
  "initializers",
  "interrupts",
  "linear",
  "losses",
  "memory",
  "metrics",
  "models",
  "objectives",
  "released",
  "train",
  "untrusted",
)

__all__ = [
  "CheckpointError",
  "ConfigError",
  "DataError",
  "Error",
  "__version__",
  *SUBPACKAGES,
]


def lazy_submodules(
  package: str, names: tuple[str, ...], exports: dict[str, str] | None = None
):
  """The module ``__getattr__`` and ``__dir__`` of a package whose submodules
  ``names`` are imported on first access (PEP 562); lbvae, lbvae.linear and
  lbvae.evaluation use it. ``exports`` maps a name of the package to the submodule
  that holds it (imported on first access too).

  Usage, at the end of the package's ``__init__.py``::

    __getattr__, __dir__ = lazy_submodules(__name__, MODULES)
  """
  exports = dict(exports or {})

  def module_getattr(name: str):
    if name in names:
      return importlib.import_module(f"{package}.{name}")  # also sets the attribute
    if name in exports:
      value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
      setattr(sys.modules[package], name, value)
      return value
    raise AttributeError(f"module {package!r} has no attribute {name!r}")

  def module_dir():
    return sorted(set(vars(sys.modules[package])) | set(names) | set(exports))

  return module_getattr, module_dir


__getattr__, __dir__ = lazy_submodules(__name__, SUBPACKAGES)

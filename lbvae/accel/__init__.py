"""Compiling lbvae's programs for an accelerator on a host without one.

* :mod:`~lbvae.accel.targets` — the devices to compile for (H100, H200, A100 from
  XLA's GPU target configs under ``specs/``; TPU v5e, v4, v6e through libtpu; fake
  host devices), their memory and peaks.
* :mod:`~lbvae.accel.programs` — every program a sweep config runs, built by the
  trainer's and the evaluation's own code and compiled for a target.
* :mod:`~lbvae.accel.hlo` — FLOPs, bytes and collectives of a step, read from the
  optimised HLO (XLA's GPU compiler has no ``cost_analysis()``).

The command is ``python -m experiments.compile_for`` (docs/performance.md).
"""

from lbvae.accel import hlo
from lbvae.accel import targets

__all__ = ["hlo", "targets"]

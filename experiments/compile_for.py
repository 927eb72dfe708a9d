r"""Compiles every program of a sweep config for an accelerator this host does not have.

Usage::

  python -m experiments.compile_for --config=configs/gpu.py --target=h100 [--devices=N]
  python -m experiments.compile_for --config=configs/paper_shapes3d.py --target=v5e
  python -m experiments.compile_for --config=configs/smoke.py --target=cpu --devices=4

Targets: ``lbvae.accel.targets.TARGETS`` (h100, h200, a100, v5e, v4, v6e; ``cpu``:
K fake host devices, traced as for an accelerator). GPU targets need
``make install ACCEL=cuda12``, TPU targets ``make install ACCEL=tpu``; a missing
package is one line naming that command (exit 2). Per program (each phase's grid
step as the trainer chunks and splits it, the collapse probe, the evaluation's
programs: ``lbvae.accel.programs``) it prints whether it compiled (else the
compiler's first line), the compile time, argument / temp / peak bytes per device
against the device's memory, FLOPs and bytes per step (``cost_analysis()`` where the
backend has one, else counted from the optimised HLO: ``lbvae.accel.hlo``), the
collectives in the step's loop and the roofline lower bound per step from the chip's
peaks; then the protocol's training time at that bound. The last line is one JSON
object: ``target``, ``devices``, ``device_memory_bytes``, ``programs`` (``name``,
``compiled``, ``error``, ``peak_bytes``, ``flops_per_device``, ``collectives`` and
the other figures), ``projected_protocol_seconds``. docs/performance.md ("Compiled
for accelerators") holds the tables.
"""

from __future__ import annotations

import dataclasses
import json

import jax
from absl import flags
from ml_collections import config_flags

from lbvae import cli
from lbvae import errors
from lbvae.accel import programs
from lbvae.accel import targets as targets_lib
from lbvae.train import config as config_lib

_CONFIG = config_flags.DEFINE_config_file(
  "config", "configs/gpu.py", "a sweep config", lock_config=False
)
_TARGET = flags.DEFINE_string(
  "target", "h100", "what to compile for: " + ", ".join(targets_lib.TARGETS)
)
_DEVICES = flags.DEFINE_integer("devices", 1, "devices the grid is split over")

GB = 1e9


def _size(x: float | None) -> str:
  return "?" if x is None else f"{x / GB:.2f} GB"


def _line(r: programs.Report, memory: float | None) -> str:
  if not r.compiled:
    return f"{r.name}: does not compile ({r.seconds:.0f} s): {r.error}"
  of = f" of {memory / GB:.1f}" if memory else ""
  bound = (
    ""
    if r.roofline_seconds is None
    else f"; roofline {r.roofline_seconds * 1e3:.2f} ms per step"
  )
  return (
    f"{r.name}: compiled in {r.seconds:.0f} s; argument {_size(r.argument_bytes)}"
    f", temp {_size(r.temp_bytes)}, peak {_size(r.peak_bytes)}{of} per device; "
    f"{(r.flops_per_device or 0) / 1e9:.1f} GFLOP and "
    f"{(r.bytes_per_device or 0) / GB:.2f} GB per step and device "
    f"({r.cost_source}); {r.collectives} collectives in the step{bound}"
    + (f"\n  {r.note}" if r.note else "")
  )


def main(argv) -> None:
  if len(argv) > 1:
    raise errors.ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
  errors.require(_DEVICES.value >= 1, f"--devices must be >= 1, got {_DEVICES.value}")
  target = targets_lib.get(_TARGET.value)
  # Compiling needs no device: keep JAX off the accelerator plugins' runtime (the
  # CUDA plugin would look for a driver), and give XLA:CPU the fake devices.
  jax.config.update("jax_platforms", "cpu")
  if target.backend == "cpu":
    jax.config.update("jax_num_cpu_devices", _DEVICES.value)
  config = _CONFIG.value
  config_lib.validate(config)
  print(
    f"compiling {_CONFIG.value.dataset.name} programs for {_DEVICES.value} x "
    f"{target.kind} ({target.name})",
    flush=True,
  )
  reports = []
  for report in programs.compile_all(config, target, _DEVICES.value):
    reports.append(report)
    print(_line(report, target.memory_bytes), flush=True)
  total = programs.projected_seconds(reports)
  if total is not None:
    print(f"projected protocol (training, at the roofline bound): {total / 60:.1f} min")
  print(
    json.dumps(
      {
        "target": target.name,
        "devices": _DEVICES.value,
        "device_memory_bytes": target.memory_bytes,
        "programs": [dataclasses.asdict(r) for r in reports],
        "projected_protocol_seconds": total,
      }
    )
  )


if __name__ == "__main__":
  cli.run(main)

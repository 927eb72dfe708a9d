"""Where lbvae runs: the one test of "CPU or accelerator", and the device's name.

The backend is read when a function is called (``jax.default_backend()``), never
cached, so a test that patches it sees its own value. Every choice lbvae makes
differently on XLA:CPU calls :func:`on_cpu`; the figures behind each are in
docs/performance.md:

* ``lbvae.layers`` -- under ``jax.vmap`` with a kernel and an input per member, a
  sub-pixel convolution runs once per member instead of as one grouped convolution;
* ``lbvae.train.state.resolve_impl`` -- ``model_impl="auto"`` is the sub-pixel
  formulation on CPU, the reference transposed convolutions elsewhere;
* ``lbvae.train.grid_runner.resolve_strategy`` -- ``grid_strategy="auto"`` maps (or
  loops) over the members on one CPU device, vmaps elsewhere;
* ``lbvae.train.grid_runner.GridRunner`` -- the steps of one call are unrolled on CPU
  with the reference layers, scanned otherwise;
* ``lbvae.evaluation.encode.default_models_per_call`` -- one model per encoder call
  on CPU, all at once elsewhere;
* ``lbvae.evaluation.runner.encoder_batch`` -- at most ``CPU_MAX_BATCH`` images per
  encoder call on CPU, ``eval.batch_size`` elsewhere.

Synopsis::

  from lbvae import devices
  impl = "subpixel" if devices.on_cpu() else "reference"
  print(devices.device_name())         # "cpu (2 cores)", "gpu (NVIDIA H200)"
"""

from __future__ import annotations

import os

import jax


def on_cpu(backend: str | None = None) -> bool:
  """Whether ``backend`` (default: ``jax.default_backend()`` now) is XLA:CPU."""
  return (backend or jax.default_backend()) == "cpu"


def device_name() -> str:
  """The first device, e.g. ``cpu (2 cores)`` or ``gpu (NVIDIA H200)``."""
  dev = jax.devices()[0]
  if dev.platform == "cpu":
    return f"cpu ({os.cpu_count()} cores)"
  return f"{dev.platform} ({getattr(dev, 'device_kind', dev.platform)})"

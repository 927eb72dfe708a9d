"""Where lbvae runs: the one test of "CPU or accelerator", and the device's name.

The backend is read at each call (``jax.default_backend()``), never cached, so a test
that patches it sees its own value. What :func:`on_cpu` decides (figures:
docs/performance.md): the grid batching of ``lbvae.layers``;
``lbvae.train.state.resolve_impl`` (``model_impl="auto"``: sub-pixel on CPU);
``lbvae.train.grid_runner.resolve_strategy`` (``grid_strategy="auto"``: map or loop on
one CPU device, vmap elsewhere); ``lbvae.train.grid_runner.GridRunner`` (steps
unrolled on CPU with the reference layers, scanned otherwise);
``lbvae.evaluation.encode.default_models_per_call`` (one model per call on CPU) and
``lbvae.evaluation.runner.encoder_batch`` (at most ``CPU_MAX_BATCH`` images on CPU).

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

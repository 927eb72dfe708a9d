"""Where lbvae runs: the one test of "CPU or accelerator", and the device's name.

The backend is read at each call (``jax.default_backend()``), never cached, so a test
that patches it sees its own value. What :func:`on_cpu` decides (figures:
docs/performance.md): ``lbvae.train.grid_runner.resolve_strategy``
(``grid_strategy="auto"``: map or loop on one CPU device, vmap elsewhere);
``lbvae.train.state.resolve_impl`` (``model_impl="auto"``: the reference layers on a
TPU, :func:`on_tpu`, the sub-pixel layers elsewhere); ``lbvae.train.grid_runner.GridRunner`` (steps
unrolled on CPU with the reference layers, scanned otherwise);
``lbvae.evaluation.encode.default_models_per_call`` (one model per call on CPU) and
``lbvae.evaluation.runner.encoder_batch`` (at most ``CPU_MAX_BATCH`` images on CPU).

**Tracing for another backend.** Each of those takes an explicit ``backend`` argument
("cpu", "gpu" or "tpu"; None: the backend of the moment), and ``GridRunner`` takes
the backend of its devices (or ``backend=``), so a program for an accelerator can be
traced and compiled on a CPU host (``experiments.compile_for``) with no global
setting to change back. The layers' grid rule is decided later still, when the
program is lowered for its devices (``lax.platform_dependent`` in ``lbvae.layers``:
one call per member and matrix products on CPU, JAX's batching and convolutions
elsewhere).

Synopsis::

  from lbvae import devices
  strategy = "map" if devices.on_cpu() else "vmap"
  print(devices.device_name())         # "cpu (2 cores)", "gpu (NVIDIA H200)"
  devices.on_cpu(devices.backend_of(mesh_devices))   # the backend of given devices
"""

from __future__ import annotations

import os

import jax


# XLA compiler options of the programs whose small matrix products XLA's GPU compiler
# cannot tile with its Triton GEMM emitter (compiled for an H100 on a CPU host:
# "INTERNAL: Couldn't find output tile sizes that satisfy hlo: dot", for the
# metrics' [L, K] x [K, F] products; docs/performance.md): cuBLAS takes them instead
# (the training step needs none: on an accelerator the sub-pixel layers' kernel
# gradients are convolutions, lbvae.layers). XLA's own sort kernel
# replaces CUB's radix sort, whose compilation asks the device for its scratch size
# (cudaErrorInvalidDevice without one). XLA:CPU and TPU leave these options unused.
GPU_COMPILE_OPTIONS = {
  "xla_gpu_enable_triton_gemm": False,
  "xla_gpu_enable_cub_radix_sort": False,
}


def on_cpu(backend: str | None = None) -> bool:
  """Whether ``backend`` (default: ``jax.default_backend()`` now) is XLA:CPU."""
  return (backend or jax.default_backend()) == "cpu"


def on_tpu(backend: str | None = None) -> bool:
  """Whether ``backend`` (default: ``jax.default_backend()`` now) is a TPU."""
  return (backend or jax.default_backend()) == "tpu"


def backend_of(devices) -> str:
  """The backend of a list of devices: "cpu", "gpu" or "tpu" (their ``platform``;
  devices of a compile-only topology say theirs too)."""
  platform = devices[0].platform
  return "gpu" if platform in ("cuda", "rocm") else platform


def device_name() -> str:
  """The first device, e.g. ``cpu (2 cores)`` or ``gpu (NVIDIA H200)``."""
  dev = jax.devices()[0]
  if dev.platform == "cpu":
    return f"cpu ({os.cpu_count()} cores)"
  return f"{dev.platform} ({getattr(dev, 'device_kind', dev.platform)})"

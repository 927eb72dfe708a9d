"""The accelerators lbvae compiles for without having one: devices, memory, peaks.

JAX builds a compile-only set of devices from a description of the hardware
(``jax.experimental.topologies.get_topology_desc``): for NVIDIA GPUs from XLA's
``GpuTargetConfig`` text proto (``specs/*.txtpb``, copied from XLA's repository, the
source named in each file) through JAX's CUDA plugin, for TPUs through ``libtpu``.
Programs lowered onto those devices are compiled by the accelerator's own XLA
compiler on this host. ``cpu`` is K fake host devices traced as for an accelerator
(the partitioning check, no accelerator package needed).

Peaks are the vendors' dense figures at the precision JAX uses for float32 matrix
products by default: TF32 on NVIDIA GPUs since Ampere, one bfloat16 pass on TPUs.

Synopsis::

  target = targets.get("h100")           # raises errors.ConfigError naming the install
  devices = target.devices(4)            # compile-only devices of 4 H100s
  target.roofline_seconds(flops, bytes)  # max(flops / peak, bytes / bandwidth)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import pathlib

import jax

from lbvae import errors

SPECS = pathlib.Path(__file__).parent / "specs"
GIB = 2**30
# JAX's GPU allocator takes this fraction of the device's memory by default
# (XLA_PYTHON_CLIENT_MEM_FRACTION); a chunk must fit in what it takes.
GPU_MEMORY_FRACTION = 0.75
TPU_CHIPS = {1: (1, 1), 4: (2, 2), 8: (2, 4)}  # devices -> chips of one host


@dataclasses.dataclass(frozen=True)
class Target:
  """One kind of device to compile for.

  Attributes:
    name: the ``--target`` name.
    backend: "gpu", "tpu" or "cpu" (fake host devices).
    kind: what the device is, in words.
    memory_bytes: the device's memory (None for fake host devices).
    peak_flops: dense FLOP/s at JAX's default float32 matmul precision.
    bandwidth: bytes/s of the device's memory.
    accel: the ``make install ACCEL=...`` that brings the target's packages.
    spec: the GPU's target-config file under ``specs/`` (GPUs only).
    topology: the TPU's topology name prefix, e.g. "v5e" (TPUs only).
  """

  name: str
  backend: str
  kind: str
  memory_bytes: float | None
  peak_flops: float | None
  bandwidth: float | None
  accel: str
  spec: str = ""
  topology: str = ""

  @property
  def traced_for(self) -> str:
    """The backend the programs are traced for: an accelerator's, also for ``cpu``."""
    return "gpu" if self.backend == "cpu" else self.backend

  @property
  def usable_memory(self) -> float | None:
    """Bytes the trainer's chunks may fill on one device (JAX's GPU allocator
    takes ``GPU_MEMORY_FRACTION`` unless told otherwise; a TPU's HBM is whole)."""
    if self.memory_bytes is None:
      return None
    if self.backend != "gpu":
      return self.memory_bytes
    fraction = float(
      os.environ.get("XLA_PYTHON_CLIENT_MEM_FRACTION", GPU_MEMORY_FRACTION)
    )
    return fraction * self.memory_bytes

  def roofline_seconds(self, flops: float, moved: float) -> float | None:
    """The roofline lower bound of a program: max(FLOPs / peak, bytes / bandwidth)."""
    if not self.peak_flops or not self.bandwidth:
      return None
    return max(flops / self.peak_flops, moved / self.bandwidth)

  def check_installed(self) -> None:
    """Raises :class:`lbvae.errors.ConfigError` (one line naming the ``make install``)
    when the packages that compile for this target are missing."""
    needs = {
      "gpu": ("jax_cuda12_plugin", "jax_plugins.xla_cuda12", "nvidia.cuda_nvcc"),
      "tpu": ("libtpu",),
    }.get(self.backend, ())
    missing = [m for m in needs if _find(m) is None]
    errors.require(
      not missing,
      f"--target={self.name} needs {', '.join(missing)} (not installed); "
      f"run: make install ACCEL={self.accel}",
    )

  def devices(self, count: int) -> list:
    """``count`` devices to compile for (compile-only for GPUs and TPUs)."""
    from jax.experimental import topologies  # pylint: disable=g-import-not-at-top

    if self.backend == "cpu":
      found = jax.devices("cpu")
      errors.require(
        len(found) >= count,
        f"--devices={count} but only {len(found)} host devices exist",
      )
      return found[:count]
    if self.backend == "gpu":
      config = (SPECS / self.spec).read_text(encoding="utf-8")
      topo = topologies.get_topology_desc(
        platform="cuda", target_config=config, topology=f"1x1x{count}"
      )
      return list(topo.devices)
    errors.require(
      count in TPU_CHIPS,
      f"--devices for a TPU target must be one of "
      f"{', '.join(map(str, TPU_CHIPS))} (one host), got {count}",
    )
    a, b = TPU_CHIPS[count]
    shape = f"{a}x{b}" + ("x1" if self.topology == "v4" else "")
    bounds = (a, b, 1)
    topo = topologies.get_topology_desc(
      platform="tpu",
      topology_name=f"{self.topology}:{shape}",
      chips_per_host_bounds=bounds,
    )
    return list(topo.devices)


def _find(module: str):
  try:
    return importlib.util.find_spec(module)
  except (ImportError, ValueError):
    return None


TARGETS = {
  t.name: t
  for t in (
    # NVIDIA's datasheets: TF32 dense 494.7 (H100/H200 SXM) and 156 (A100) TFLOP/s.
    Target(
      "h100",
      "gpu",
      "NVIDIA H100 SXM 80GB",
      84942979072,
      494.7e12,
      3.35e12,
      "cuda12",
      spec="h100_sxm.txtpb",
    ),
    Target(
      "h200",
      "gpu",
      "NVIDIA H200 141GB",
      151397597184,
      494.7e12,
      4.8e12,
      "cuda12",
      spec="h200.txtpb",
    ),
    Target(
      "a100",
      "gpu",
      "NVIDIA A100 SXM 80GB",
      85100068864,
      156e12,
      2.039e12,
      "cuda12",
      spec="a100_sxm_80.txtpb",
    ),
    # Google Cloud's TPU pages: bfloat16 peak and HBM per chip.
    Target(
      "v5e",
      "tpu",
      "TPU v5e (16 GiB HBM)",
      16 * GIB,
      197e12,
      819e9,
      "tpu",
      topology="v5e",
    ),
    Target(
      "v4", "tpu", "TPU v4 (32 GiB HBM)", 32 * GIB, 275e12, 1228e9, "tpu", topology="v4"
    ),
    Target(
      "v6e",
      "tpu",
      "TPU v6e (32 GiB HBM)",
      32 * GIB,
      918e12,
      1640e9,
      "tpu",
      topology="v6e",
    ),
    Target("cpu", "cpu", "fake host devices", None, None, None, "cpu"),
  )
}


def get(name: str) -> Target:
  """The target called ``name``; raises :class:`lbvae.errors.ConfigError` for an
  unknown one or one whose packages are missing."""
  errors.require(
    name in TARGETS, f"unknown --target {name!r}; choose one of {', '.join(TARGETS)}"
  )
  target = TARGETS[name]
  target.check_installed()
  return target

"""FLOP count, device peaks and the per-layer profile of the training benchmark.

Synopsis::

    flops = bench_profile.model_step_flops(64)          # 6.24e9 for docs/method.md §4 at 64x64x1
    peak = bench_profile.device_peak(jax.devices()[0], "default")   # None on CPU
    table = bench_profile.profile_layers(64, repeats=5, impls=["reference", "subpixel"])

FLOPs are counted the usual way: a multiply-add is 2 FLOPs; a transposed convolution
counts only the multiply-adds that touch real input pixels (not the zeros of a dilated
formulation); the backward pass costs twice the forward, so a training step is three
forward passes. The per-layer profile times forward + backward of each (transposed)
convolution alone at its real shape, for each impl, interleaved, so that the ratios
hold on a busy machine.
"""

from __future__ import annotations

import statistics
import time

import jax
import jax.numpy as jnp

from lbvae import layers
from lbvae import models

# (input size, in channels, out channels) of each conv; the decoder's last has C out.
ENCODER_LAYERS = ((64, None, 32), (32, 32, 32), (16, 32, 64), (8, 64, 64))
DECODER_LAYERS = ((4, 64, 64), (8, 64, 32), (16, 32, 32), (32, 32, None))

# Dense peak FLOP/s of the accelerators we run on, per matmul precision. "default" is
# JAX's default for float32 on NVIDIA GPUs since Ampere: TF32 tensor cores.
_PEAKS = {
  "H200": {
    "default": 494e12,
    "tensorfloat32": 494e12,
    "bfloat16": 989e12,
    "float32": 67e12,
  },
  "H100": {
    "default": 494e12,
    "tensorfloat32": 494e12,
    "bfloat16": 989e12,
    "float32": 67e12,
  },
}


def layer_shapes(num_channels: int = 1):
  """[(kind, size, cin, cout)] of the 8 conv layers; kind is "down" or "up"."""
  out = []
  for kind, spec in (("down", ENCODER_LAYERS), ("up", DECODER_LAYERS)):
    for size, cin, cout in spec:
      out.append((kind, size, cin or num_channels, cout or num_channels))
  return out


def layer_macs(kind: str, size: int, cin: int, cout: int) -> int:
  """Multiply-adds of one (transposed) 4x4 stride-2 conv for one example."""
  if kind == "down":
    return (size // 2) ** 2 * cout * 16 * cin
  return (2 * size) ** 2 * cout * 4 * cin  # each output pixel sees 2x2 input taps


def model_step_flops(batch: int, num_channels: int = 1, latent_dim: int = 10) -> float:
  """FLOPs of one training step of one model (forward + backward, 3x forward)."""
  macs = sum(layer_macs(*s) for s in layer_shapes(num_channels))
  h, flat = models.HIDDEN, 4 * 4 * models.ENCODER_CHANNELS[-1]
  macs += flat * h + 2 * h * latent_dim  # encoder dense + (mu, logvar) heads
  macs += latent_dim * h + h * flat  # decoder dense layers
  return 3.0 * 2.0 * macs * batch


def device_peak(device, precision: str) -> float | None:
  """Dense peak FLOP/s of ``device`` at a matmul precision, None when unknown."""
  kind = getattr(device, "device_kind", "")
  for name, peaks in _PEAKS.items():
    if name in kind:
      return peaks.get(precision)
  return None


def profile_layers(batch: int, repeats: int, impls, num_channels: int = 1) -> list:
  """Times forward + backward of each conv layer alone, per impl (interleaved).

  The first encoder layer takes no input gradient (its input is data), as in training.

  Returns:
    One dict per layer: kind, shape, and per impl the median ms and GFLOP/s.
  """
  rows, totals = [], {i: 0.0 for i in impls}
  print(
    f"per-layer forward+backward, batch {batch}, median of {repeats} (interleaved):",
    flush=True,
  )
  for kind, size, cin, cout in layer_shapes(num_channels):
    fn = layers.conv_down if kind == "down" else layers.conv_up
    first = kind == "down" and size == 64
    x = jnp.full((batch, size, size, cin), 0.1, jnp.float32)
    k = jnp.full((4, 4, cin, cout), 0.01, jnp.float32)
    grads = {}
    for impl in impls:

      def loss(x, k, impl=impl):
        return jnp.sum(fn(x, k, impl) ** 2)

      g = jax.jit(jax.grad(loss, argnums=(1,) if first else (0, 1)))
      jax.block_until_ready(g(x, k))
      grads[impl] = g
    times = {i: [] for i in impls}
    for _ in range(repeats):
      for impl, g in grads.items():
        t0 = time.perf_counter()
        jax.block_until_ready(g(x, k))
        times[impl].append(time.perf_counter() - t0)
    flops = 3 * 2 * layer_macs(kind, size, cin, cout) * batch
    row = {"kind": kind, "size": size, "cin": cin, "cout": cout, "flops": flops}
    cells = []
    for impl in impls:
      ms = 1e3 * statistics.median(times[impl])
      totals[impl] += ms
      row[impl] = {"ms": ms, "gflops_per_second": flops / ms / 1e6}
      cells.append(f"{impl} {ms:7.1f} ms {flops / ms / 1e6:6.1f} GFLOP/s")
    print(
      f"  {kind:4s} {size:2d}x{size:<2d} {cin:2d}->{cout:<2d}  " + " | ".join(cells),
      flush=True,
    )
    rows.append(row)
  print("  total convs: " + ", ".join(f"{i} {t:.1f} ms" for i, t in totals.items()))
  return rows

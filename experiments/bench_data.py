r"""Images/s of the input path for each data source (issue 5: memory and speed).

Usage::

  python -m experiments.bench_data [--batch_size=64] [--steps_per_chunk=16] \
      [--num_images=20000] [--seconds=3]

Measures, on the default JAX device, what the trainer does per chunk of
``steps_per_chunk`` steps of ``batch_size`` images:

* procedural dSprites and shapes3d_procedural rendered by the jit-ed ``gather``;
* a file-backed synthetic RGB array (a temporary, uncompressed .npz of
  ``num_images`` images, memory-mapped like MPI3D) gathered on the device;
* the same array streamed from the host with ``prefetch`` (the page cache is
  warm: the file has just been written).

Prints one human-readable line per source, then one JSON line with all figures.
On a shared 2-core CPU the numbers vary by tens of percent between runs.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

from absl import flags
import jax
import numpy as np

from lbvae import cli
from lbvae import errors
import lbvae.data as data
from lbvae.data import originals

_BATCH = flags.DEFINE_integer("batch_size", 64, "images per training step")
_STEPS = flags.DEFINE_integer("steps_per_chunk", 16, "steps per scan chunk")
_NUM = flags.DEFINE_integer("num_images", 20_000, "images in the synthetic file")
_SECONDS = flags.DEFINE_float("seconds", 3.0, "time spent per measurement")


def _chunks(size: int, rng: np.random.Generator, shape):
  while True:
    yield rng.integers(0, size, size=shape)


def _rate(run_chunk, chunks, images_per_chunk: int, seconds: float) -> float:
  """Images/s of ``run_chunk`` over ``chunks`` (after one warm-up call)."""
  jax.block_until_ready(run_chunk(next(chunks)))
  done, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    jax.block_until_ready(run_chunk(next(chunks)))
    done += images_per_chunk
  return done / (time.perf_counter() - start)


def _device_rate(src: data.BatchSource, shape, seconds: float) -> float:
  # One batch per scan step, as inside the trainer's lax.scan chunk.
  gather = jax.jit(
    lambda operand, index: jax.lax.map(lambda batch: src.gather(operand, batch), index)
  )
  rng = np.random.default_rng(0)
  index = _chunks(len(src.dataset), rng, shape)
  return _rate(
    lambda i: gather(src.operand, i.astype(np.int32)),
    index,
    int(np.prod(shape)),
    seconds,
  )


def _host_rate(src: data.BatchSource, shape, seconds: float) -> float:
  rng = np.random.default_rng(0)
  stream = src.prefetch(_chunks(len(src.dataset), rng, shape), depth=2)
  rate = _rate(lambda _: next(stream), iter(int, 1), int(np.prod(shape)), seconds)
  stream.close()
  return rate


def _synthetic_file(folder: str, num: int) -> data.ArrayDataset:
  """A stored (memory-mappable) .npz of ``num`` random RGB images."""
  path = os.path.join(folder, "synthetic.npz")
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (num, 64, 64, 3), dtype=np.uint8)
  np.savez(path, images=images)
  layout = originals.Layout("synthetic", ("index",), (num,), 3, "synthetic")
  return originals.open_mpi3d(path, layout)


def main(argv) -> None:
  del argv
  errors.require(
    _BATCH.value >= 1 and _STEPS.value >= 1 and _NUM.value >= 1,
    "--batch_size, --steps_per_chunk and --num_images must be >= 1",
  )
  shape = (_STEPS.value, _BATCH.value)
  seconds = _SECONDS.value
  print(
    f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}); "
    f"chunks of {shape[0]} steps x {shape[1]} images"
  )
  results = {}
  for name in ("dsprites", "shapes3d_procedural"):
    src = data.batch_source(data.load(name), "device")
    results[f"{name}/procedural/render_on_device"] = _device_rate(src, shape, seconds)
  with tempfile.TemporaryDirectory() as folder:
    ds = _synthetic_file(folder, _NUM.value)
    print("auto placement:", data.batch_source(ds).describe())
    size = f"file_{_NUM.value}x64x64x3"
    results[f"{size}/gather_on_device"] = _device_rate(
      data.batch_source(ds, "device"), shape, seconds
    )
    results[f"{size}/host_stream_prefetch"] = _host_rate(
      data.batch_source(ds, "host"), shape, seconds
    )
    del ds
  for key, rate in results.items():
    print(f"{key:<48s} {rate:12,.0f} images/s")
  print(
    json.dumps(
      {
        "benchmark": "bench_data",
        "backend": jax.default_backend(),
        "batch_size": shape[1],
        "steps_per_chunk": shape[0],
        "images_per_s": {k: round(v, 1) for k, v in results.items()},
      }
    )
  )


if __name__ == "__main__":
  cli.run(main)

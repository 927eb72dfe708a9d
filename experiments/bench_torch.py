"""PyTorch reference for the training benchmark: the usual sequential loop over a grid.

Runs the docs/method.md §4 convolutional β-VAE (arXiv 2602.09277) in PyTorch, the way the
paper's public reference trains a grid: one model after another, each step a forward,
a backward and an Adam update on a batch of 64 random binary 64x64x1 images. It is
the yardstick for ``experiments/bench.py`` and is never imported by lbvae; torch is
not a dependency of the project. Run it with an interpreter that has torch::

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch numpy
    /tmp/torchenv/bin/python -m experiments.bench_torch --grid_size=5 --steps=10

Prints human-readable figures, then one JSON line with ``torch_model_steps_per_second``
(model-steps per second of the whole loop, warm-up excluded). ``--profile`` also times
forward + backward of each (transposed) convolution alone at its real shape, the
counterpart of ``experiments/bench.py --config.profile=True``.
"""

from __future__ import annotations

import argparse
import json
import time


def build(torch, num_channels: int = 1, latent_dim: int = 10):
  """The docs/method.md §4 VAE as (encoder, decoder) torch modules."""
  nn = torch.nn
  enc, c = [], num_channels
  for f in (32, 32, 64, 64):
    enc += [nn.Conv2d(c, f, 4, 2, 1), nn.ReLU()]
    c = f
  enc += [
    nn.Flatten(),
    nn.Linear(4 * 4 * 64, 256),
    nn.ReLU(),
    nn.Linear(256, 2 * latent_dim),
  ]
  dec = [
    nn.Linear(latent_dim, 256),
    nn.ReLU(),
    nn.Linear(256, 4 * 4 * 64),
    nn.ReLU(),
    nn.Unflatten(1, (64, 4, 4)),
  ]
  c = 64
  for f in (64, 32, 32):
    dec += [nn.ConvTranspose2d(c, f, 4, 2, 1), nn.ReLU()]
    c = f
  dec += [nn.ConvTranspose2d(c, num_channels, 4, 2, 1)]
  return nn.Sequential(*enc), nn.Sequential(*dec)


# (kind, input size, in channels, out channels), as experiments/bench_profile.py.
LAYERS = (
  ("down", 64, 1, 32),
  ("down", 32, 32, 32),
  ("down", 16, 32, 64),
  ("down", 8, 64, 64),
  ("up", 4, 64, 64),
  ("up", 8, 64, 32),
  ("up", 16, 32, 32),
  ("up", 32, 32, 1),
)


def profile_layers(torch, batch: int, repeats: int) -> list:
  """Median ms of forward + backward of each conv layer alone (no input gradient for
  the first encoder layer, whose input is data)."""
  rows = []
  for kind, size, cin, cout in LAYERS:
    conv = (torch.nn.Conv2d if kind == "down" else torch.nn.ConvTranspose2d)(
      cin, cout, 4, 2, 1
    )
    first = kind == "down" and size == 64
    x = torch.full((batch, cin, size, size), 0.1, requires_grad=not first)
    times = []
    for r in range(repeats + 2):
      t0 = time.perf_counter()
      conv(x).square().sum().backward()
      if r >= 2:
        times.append(time.perf_counter() - t0)
    times.sort()
    ms = 1e3 * times[len(times) // 2]
    print(
      f"  {kind:4s} {size:2d}x{size:<2d} {cin:2d}->{cout:<2d}  torch {ms:7.1f} ms",
      flush=True,
    )
    rows.append({"kind": kind, "size": size, "cin": cin, "cout": cout, "ms": ms})
  print(f"  total convs: torch {sum(r['ms'] for r in rows):.1f} ms")
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--grid_size", type=int, default=5)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--warmup", type=int, default=2)
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
  parser.add_argument("--beta", type=float, default=4.0)
  parser.add_argument(
    "--clock",
    choices=("wall", "process"),
    default="wall",
    help="elapsed time, or this process's CPU time",
  )
  parser.add_argument(
    "--profile", action="store_true", help="also time each conv layer alone"
  )
  parser.add_argument("--profile_repeats", type=int, default=5)
  args = parser.parse_args()

  import torch  # pylint: disable=import-outside-toplevel

  if args.threads:
    torch.set_num_threads(args.threads)
  torch.manual_seed(0)
  models = []
  for _ in range(args.grid_size):
    enc, dec = build(torch)
    opt = torch.optim.Adam(
      list(enc.parameters()) + list(dec.parameters()),
      lr=1e-4,
      betas=(0.9, 0.999),
      eps=1e-8,
    )
    models.append((enc, dec, opt))
  gen = torch.Generator().manual_seed(0)
  bce = torch.nn.functional.binary_cross_entropy_with_logits

  def step(enc, dec, opt, x):
    h = enc(x)
    mu, logvar = h.chunk(2, dim=1)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    logits = dec(z)
    nll = bce(logits, x, reduction="sum") / x.shape[0]
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp()) / x.shape[0]
    loss = nll + args.beta * kl
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss

  def run(steps):
    for _ in range(steps):
      x = (torch.rand(args.batch_size, 1, 64, 64, generator=gen) < 0.5).float()
      for enc, dec, opt in models:  # every model sees the same batch, as in the grid
        step(enc, dec, opt, x)

  clock = time.perf_counter if args.clock == "wall" else time.process_time
  run(args.warmup)
  t0 = clock()
  run(args.steps)
  seconds = clock() - t0
  rate = args.grid_size * args.steps / seconds
  print(
    f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.clock} "
    "clock: "
    f"{args.grid_size} models x {args.steps} steps in {seconds:.2f} s = "
    f"{rate:.2f} model-steps/s ({1e3 / rate:.1f} ms per model-step)"
  )
  result = {
    "torch_model_steps_per_second": rate,
    "grid_size": args.grid_size,
    "steps": args.steps,
    "threads": torch.get_num_threads(),
    "clock": args.clock,
    "torch_version": torch.__version__,
  }
  if args.profile:
    print(
      f"per-layer forward+backward, batch {args.batch_size}, median of "
      f"{args.profile_repeats}:",
      flush=True,
    )
    result["profile"] = profile_layers(torch, args.batch_size, args.profile_repeats)
  print(json.dumps(result))


if __name__ == "__main__":
  main()

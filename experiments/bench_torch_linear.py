"""PyTorch reference for the linear gradient solver: the published loop, one run at a time.

The linear experiment of arXiv 2602.09277 runs its AdamW solver as a sequential
PyTorch float64 program: for each (beta, lambda, start), a loop of steps, each
forming Sigma_Z = L_Z L_Z^T + 5e-5 I and Sigma_W likewise, the closed-form
R + beta K (+ lambda D), a backward pass, gradient-norm clipping of (A, B) and of
(L_Z, L_W), a torch.optim.AdamW step and the L's cut to lower triangles, keeping
the lowest-loss iterate. This file transcribes that loop. It is the yardstick of
``experiments/bench_linear.py`` and is never imported by lbvae (torch is not a
dependency). Run it with an interpreter that has torch::

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch numpy
    /tmp/torchenv/bin/python -m experiments.bench_torch_linear --start=start.npz

``--write_ab=FILE`` writes the published A, B of all 50 starts for n = 50 and 100
(``config.gradient.ab_starts`` of configs/linear.py reads it). ``--start`` is an
.npz with Gamma [n, s], Sigma_V [s, s], Sigma_Z0 [n, n] and Sigma_W0 [m, m]
(``experiments/bench_linear.py`` writes one from the published stream); A and B
come from ``torch.manual_seed(--seed)`` (``randn(n, m)``, then ``randn(m, n)``) as
the published run draws them (seed 42 + i for start i).
Prints one JSON line: seconds per step after 10 warm-up steps, the threads torch
used, the best loss and its R; ``--dump=FILE`` also writes the starts and the
trajectory (loss, R and parameters before each update) for cross-checks.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np


def run(
  torch,
  gamma,
  sigma_v,
  z0,
  w0,
  seed,
  *,
  beta,
  lam,
  steps,
  clip_ab,
  clip_l,
  record=False,
):
  """One published AdamW run; returns (best dict, seconds per step, trajectory)."""
  f64 = torch.float64
  n, m = gamma.shape[0], w0.shape[0]
  gamma_t = torch.tensor(gamma, dtype=f64)
  sigma_v_t = torch.tensor(sigma_v, dtype=f64)
  sigma_y = gamma_t @ sigma_v_t @ gamma_t.T + 0.05 * torch.eye(n, dtype=f64)
  torch.manual_seed(seed)
  a = torch.randn(n, m, dtype=f64).requires_grad_()
  b = torch.randn(m, n, dtype=f64).requires_grad_()
  l_z = torch.linalg.cholesky(torch.tensor(z0, dtype=f64)).requires_grad_()
  l_w = torch.linalg.cholesky(torch.tensor(w0, dtype=f64)).requires_grad_()
  start = [x.detach().clone().numpy() for x in (a, b, l_z, l_w)]
  opt = torch.optim.AdamW(
    [a, b, l_z, l_w], lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01
  )
  eye_n, eye_m = torch.eye(n, dtype=f64), torch.eye(m, dtype=f64)
  log2pi = n * math.log(2 * math.pi)
  best, best_loss, trajectory = None, math.inf, []
  t0 = None
  for step in range(steps):
    if step == min(10, steps - 1):
      t0 = time.perf_counter()
    opt.zero_grad()
    sigma_z = l_z @ l_z.T + 5e-5 * eye_n
    sigma_w = l_w @ l_w.T + 5e-5 * eye_m
    sigma_x = b @ sigma_y @ b.T + sigma_w
    z_inv = torch.linalg.inv(sigma_z)
    recon = 0.5 * (
      torch.trace(z_inv @ sigma_y)
      - 2 * torch.trace(z_inv @ a @ b @ sigma_y)
      + torch.trace(a.T @ z_inv @ a @ sigma_x)
      + log2pi
      + torch.logdet(sigma_z)
    )
    kl = 0.5 * (torch.trace(sigma_x) - torch.logdet(sigma_w) - m)
    loss = recon + beta * kl
    if lam != 0:
      resid = eye_n - a @ b
      loss = loss + lam * torch.trace(resid @ sigma_y @ resid.T + a @ sigma_w @ a.T)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([a, b], clip_ab)
    torch.nn.utils.clip_grad_norm_([l_z, l_w], clip_l)
    value = loss.item()
    if value < best_loss:
      best_loss = value
      best = dict(
        loss=value,
        recon=recon.item(),
        **{
          k: x.detach().clone().numpy()
          for k, x in (("A", a), ("B", b), ("Sigma_Z", sigma_z), ("Sigma_W", sigma_w))
        },
      )
    if record:
      trajectory.append(
        dict(
          loss=value,
          recon=recon.item(),
          **{
            k: x.detach().clone().numpy()
            for k, x in (("A", a), ("B", b), ("L_Z", l_z), ("L_W", l_w))
          },
        )
      )
    opt.step()
    with torch.no_grad():
      l_z.copy_(torch.tril(l_z))
      l_w.copy_(torch.tril(l_w))
  per_step = (time.perf_counter() - t0) / max(1, steps - min(10, steps - 1))
  return best, per_step, start, trajectory


def published_ab(torch, sizes=(50, 100), m: int = 10, starts: int = 50) -> dict:
  """The published gradient starts' A [starts, n, m], B [starts, m, n] per n."""
  out = {}
  for n in sizes:
    a, b = [], []
    for i in range(starts):
      torch.manual_seed(42 + i)
      a.append(torch.randn(n, m, dtype=torch.float64).numpy())
      b.append(torch.randn(m, n, dtype=torch.float64).numpy())
    out[f"A_n{n}"], out[f"B_n{n}"] = np.stack(a), np.stack(b)
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--start", default="", help="instance and covariances (.npz)")
  parser.add_argument(
    "--write_ab",
    default="",
    help="write the published A, B starts "
    "(.npz: A_n50, B_n50, A_n100, B_n100) for config.gradient.ab_starts",
  )
  parser.add_argument("--steps", type=int, default=200)
  parser.add_argument("--beta", type=float, default=4.0)
  parser.add_argument("--lam", type=float, default=2.0)
  parser.add_argument("--seed", type=int, default=42, help="torch seed of A and B")
  parser.add_argument(
    "--threads", type=int, default=0, help="torch threads (0: default)"
  )
  parser.add_argument("--dump", default="", help=".npz for the starts and trajectory")
  args = parser.parse_args()
  import torch

  if args.threads:
    torch.set_num_threads(args.threads)
  if args.write_ab:
    np.savez(args.write_ab, **published_ab(torch))
    return
  with np.load(args.start) as f:
    gamma, sigma_v, z0, w0 = (
      f[k] for k in ("Gamma", "Sigma_V", "Sigma_Z0", "Sigma_W0")
    )
  n = gamma.shape[0]
  clip_ab, clip_l = (1.0, 2.0) if n <= 50 else (2.0, 3.0)
  best, per_step, start, trajectory = run(
    torch,
    gamma,
    sigma_v,
    z0,
    w0,
    args.seed,
    beta=args.beta,
    lam=args.lam,
    steps=args.steps,
    clip_ab=clip_ab,
    clip_l=clip_l,
    record=bool(args.dump),
  )
  if args.dump:
    keys = trajectory[0].keys() if trajectory else ()
    np.savez(
      args.dump,
      A0=start[0],
      B0=start[1],
      L_Z0=start[2],
      L_W0=start[3],
      best_loss=best["loss"],
      best_recon=best["recon"],
      **{f"trajectory_{k}": np.stack([t[k] for t in trajectory]) for k in keys},
    )
  print(
    json.dumps(
      dict(
        n=n,
        steps=args.steps,
        seconds_per_step=per_step,
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        best_loss=best["loss"],
        best_recon=best["recon"],
      )
    )
  )


if __name__ == "__main__":
  main()

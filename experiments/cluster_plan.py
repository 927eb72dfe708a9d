r"""What the paper's protocol costs on 1, 4 and 16 accelerators: a planning table.

Usage::

  python -m experiments.cluster_plan --config=configs/paper_dsprites.py \
      [--rate=8300 | --compiled=h100.json] [--out=docs/figures/cluster_plan.json]

The device memory per grid member and the rate per device come either from this
machine (XLA's memory analysis of the config's train call compiled here for chunks
of one and two members per device, ``GridRunner.peak_memory``; ``--rate``
model-steps/s per device) or, with ``--compiled``, from the last line of
``python -m experiments.compile_for`` for a target: its phase-2 step's peak memory
per member and the rate at its roofline bound (members / bound per step). Prints,
for the protocol of one dataset, of the three datasets and of the extended grid with
the six objectives: model-steps, members per device in the larger phase, device
memory per device, and the wall time on 1, 4 and 16 devices (members are
independent, so the grid divides over devices with no communication in a step:
tests/train/test_sharding.py checks the compiled step). docs/cluster.md holds the
table and says which figures are measured.
"""

from __future__ import annotations

import json
import math

from absl import flags
from ml_collections import config_flags

from lbvae import cli
from lbvae import data
from lbvae import errors
from lbvae import files
from lbvae import objectives as objectives_lib
from lbvae.train import grid_runner
from lbvae.train import members as members_lib
from lbvae.train import state as state_lib
from lbvae.train import step as step_lib

_CONFIG = config_flags.DEFINE_config_file(
  "config", "configs/paper_dsprites.py", "a sweep config", lock_config=False
)
_RATE = flags.DEFINE_float("rate", 8300.0, "model-steps/s per accelerator to plan with")
_OUT = flags.DEFINE_string("out", None, "also write the table as JSON here")
_COMPILED = flags.DEFINE_string(
  "compiled",
  None,
  "the JSON line of experiments.compile_for: plan with its memory and roofline rate",
)

DEVICES = (1, 4, 16)
MIB = 2**20


def grids(config) -> dict[str, tuple[int, int]]:
  """name -> (model-steps, members of the larger phase) of the planned studies."""
  seeds, p1, p2 = (
    int(config.num_seeds),
    int(config.phase1_steps),
    int(config.phase2_steps),
  )
  paper = (len(config.betas), len(config.lambdas))
  extended = (9, 5)  # β ∈ {1, 2, …, 256}, λ ∈ {0, 4, 8, 16, 32}

  def steps(nb, nl):
    return nb * seeds * p1 + nb * nl * seeds * p2

  one = steps(*paper)
  return {
    "one dataset (the paper's grid)": (one, paper[0] * paper[1] * seeds),
    "three datasets": (3 * one, paper[0] * paper[1] * seeds),
    "extended grid, six objectives, three datasets": (
      18 * steps(*extended),
      extended[0] * extended[1] * seeds,
    ),
  }


def per_member_bytes(config) -> float:
  """Device bytes per extra member of the config's compiled train call."""
  ds = data.from_config(config.dataset)
  source = data.batch_source(ds, config.dataset.placement)
  objective = objectives_lib.from_config(config, dataset_size=len(ds))
  model = state_lib.make_model(config, ds.num_channels)
  tx = state_lib.make_optimizer(config)
  keys = state_lib.seed_keys(config.seed, 1)
  grid = members_lib.phase_grid(config, 1)[:1]
  state = state_lib.phase1_state(
    model, tx, grid, keys, window=config.window, objective=objective
  )
  runner = grid_runner.GridRunner(
    step_lib.make_train_step(model, tx, objective),
    source,
    batch_size=config.batch_size,
    strategy="vmap",
    steps_per_call=1,
    impl=model.impl,
  )
  per_model, _ = runner.peak_memory(state, len(keys.data))
  return per_model


def from_compiled(path: str) -> tuple[float, float, str]:
  """(bytes per member, model-steps/s per device, source) of the phase-2 step in
  ``experiments.compile_for``'s JSON line at ``path``."""
  lines = files.read_text(path).strip().splitlines()
  try:
    result = json.loads(lines[-1]) if lines else None
  except json.JSONDecodeError:
    result = None
  errors.require(
    isinstance(result, dict) and isinstance(result.get("programs"), list),
    f"--compiled {path}: its last line is not experiments.compile_for's "
    "JSON line (python -m experiments.compile_for ... | tail -1 > FILE)",
  )
  step = [
    p
    for p in result["programs"]
    if isinstance(p, dict) and str(p.get("name", "")).startswith("phase 2 step")
  ]
  errors.require(
    bool(step) and step[0]["compiled"] and step[0]["roofline_seconds"],
    f"{path} has no compiled phase-2 step with a roofline bound",
  )
  p = step[0]
  return (
    p["peak_bytes"] / p["members"],
    p["members"] / p["roofline_seconds"],
    f"compiled for {result['target']}, at the roofline bound",
  )


def main(argv) -> None:
  if len(argv) > 1:
    raise errors.ConfigError(f"unexpected arguments: {' '.join(argv[1:])}")
  errors.require(_RATE.value > 0, f"--rate must be > 0, got {_RATE.value}")
  config = _CONFIG.value
  if _COMPILED.value:
    member, rate, source = from_compiled(_COMPILED.value)
  else:
    member, rate, source = per_member_bytes(config), _RATE.value, "assumed"
  rows = []
  for name, (steps, members) in grids(config).items():
    for k in DEVICES:
      per_device = math.ceil(members / k)
      rows.append(
        {
          "study": name,
          "model_steps": steps,
          "devices": k,
          "members_per_device": per_device,
          "memory_per_device_gib": per_device * member / 2**30,
          "hours": steps / (rate * k) / 3600,
        }
      )
  print(
    f"device memory per member (measured, {config.batch_size} images per "
    f"step): {member / MIB:.1f} MiB; planning rate {rate:.0f} "
    f"model-steps/s per device ({source})"
  )
  print(
    "| study | model-steps | devices | members per device | memory per device "
    "| wall time |"
  )
  print("|---|---:|---:|---:|---:|---:|")
  for r in rows:
    print(
      f"| {r['study']} | {r['model_steps'] / 1e6:.1f} M | {r['devices']} | "
      f"{r['members_per_device']} | {r['memory_per_device_gib']:.1f} GiB | "
      f"{r['hours']:.2f} h |"
    )
  if _OUT.value:
    files.write_json(
      _OUT.value,
      {"member_mib": member / MIB, "rate": rate, "rate_source": source, "rows": rows},
    )


if __name__ == "__main__":
  cli.run(main)

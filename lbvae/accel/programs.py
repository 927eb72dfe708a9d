"""Every program a sweep config runs, compiled for a target (:mod:`lbvae.accel.targets`).

The programs are the trainer's and the evaluation pass's own, built by their own
code and traced for the target's backend: each phase's grid step as
:class:`lbvae.train.grid_runner.GridRunner` chunks and splits it (its memory check
against the target's memory included), the collapse probe on the phase-2 grid, and
the evaluation of one seed's models (encoder with and without the held-out NLL,
figure images, the vmapped metrics, the posterior-aware scores). Data files are not
read: a file dataset is its shapes (``lbvae.data.batching.shape_source``).

Synopsis::

  reports = list(programs.compile_all(config, targets.get("h100"), num_devices=1))
  reports[0].name, reports[0].peak_bytes, reports[0].roofline_seconds
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import numpy as np

from lbvae import data
from lbvae import errors
from lbvae import objectives as objectives_lib
from lbvae.accel import hlo
from lbvae.accel import targets as targets_lib
from lbvae.data import batching
from lbvae.evaluation import compute
from lbvae.evaluation import encode
from lbvae.evaluation import runner as eval_runner
from lbvae.train import collapse
from lbvae.train import grid_runner
from lbvae.train import members as members_lib
from lbvae.train import sharding
from lbvae.train import state as state_lib
from lbvae.train import step as step_lib


@dataclasses.dataclass
class Report:
  """One compiled program (sizes in bytes per device; None where unknown).

  Attributes:
    name: e.g. "phase 2 step".
    compiled: whether it compiled.
    error: the compiler's first line when it did not.
    seconds: compile time.
    argument_bytes, output_bytes, temp_bytes, peak_bytes: XLA's memory analysis
      (peak: ``lbvae.train.sharding.peak_bytes``).
    flops_per_device, bytes_per_device: work of one step (a training call's loop
      body; a whole evaluation program), from ``cost_analysis()`` where the backend
      has it (``cost_source``) else counted from the optimised HLO (:mod:`hlo`).
    collectives: all-gather / all-to-all / all-reduce ops in the step's loop.
    roofline_seconds: the target's roofline lower bound of one step.
    runs: how often the protocol runs it (steps x chunks per step; 0: evaluation).
    members: models in one call (a chunk of the grid, or the stack evaluated).
    note: how the grid is placed and chunked.
  """

  name: str
  compiled: bool = False
  error: str | None = None
  seconds: float = 0.0
  argument_bytes: float | None = None
  output_bytes: float | None = None
  temp_bytes: float | None = None
  peak_bytes: float | None = None
  flops_per_device: float | None = None
  bytes_per_device: float | None = None
  cost_source: str = ""
  collectives: int | None = None
  roofline_seconds: float | None = None
  runs: int = 0
  members: int = 0
  note: str = ""


def _measure(report: Report, target: targets_lib.Target, build) -> Report:
  """Compiles ``build()`` (a ``jax.stages.Compiled``) into ``report``."""
  t0 = time.perf_counter()
  try:
    compiled = build()
  except Exception as e:  # pylint: disable=broad-except  (XLA's errors, any backend)
    report.error = errors.first_line(e, limit=300)
    report.seconds = time.perf_counter() - t0
    return report
  report.seconds = time.perf_counter() - t0
  report.compiled = True
  m = compiled.memory_analysis()
  if m is not None:
    report.argument_bytes = float(m.argument_size_in_bytes)
    report.output_bytes = float(m.output_size_in_bytes)
    report.temp_bytes = float(m.temp_size_in_bytes)
    report.peak_bytes = sharding.peak_bytes(compiled)
  text = compiled.as_text()
  counted = hlo.step_cost(text)
  report.collectives = hlo.loop_collectives(text)
  cost = _cost_analysis(compiled)
  if cost and cost.get("flops", 0) > 0:
    report.flops_per_device = float(cost["flops"])
    report.bytes_per_device = float(cost.get("bytes accessed", counted.bytes))
    report.cost_source = "cost_analysis"
  else:
    report.flops_per_device, report.bytes_per_device = counted.flops, counted.bytes
    report.cost_source = "hlo"
  report.roofline_seconds = target.roofline_seconds(
    report.flops_per_device, report.bytes_per_device
  )
  return report


def _cost_analysis(compiled) -> dict | None:
  try:
    cost = compiled.cost_analysis()
  except Exception:  # pylint: disable=broad-except  (the GPU compiler has none)
    return None
  return cost[0] if isinstance(cost, (list, tuple)) else cost


def dataset_source(config, target: targets_lib.Target):
  """The config's dataset and batch source as the target would place it: procedural
  data as is; a file dataset as its shapes, on the device when its images take at
  most ``DEVICE_FRACTION`` of the target's memory (``placement="auto"``)."""
  name, source = config.dataset.name, config.dataset.source
  placement = config.dataset.placement
  if source == "procedural":
    ds = data.load(name, source)
    return ds, data.batch_source(ds, placement)
  from lbvae.data import originals  # pylint: disable=g-import-not-at-top

  errors.require(name in originals.LAYOUTS, f"unknown dataset {name!r}")
  layout = originals.LAYOUTS[name]
  shape = (layout.num_images, 64, 64, layout.num_channels)
  images = np.broadcast_to(np.zeros((), np.uint8), shape)  # shapes only, no memory
  ds = data.ArrayDataset(
    name, layout.factor_names, layout.factor_sizes, images, source, "(shapes only)"
  )
  memory = target.usable_memory
  on_device = (
    placement == "device"
    or placement == "auto"
    and (memory is None or images.nbytes <= batching.DEVICE_FRACTION * memory)
  )
  return ds, batching.shape_source(ds, on_device)


def _spec(tree, where):
  return jax.tree.map(
    lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=where), tree
  )


def _leading(tree, n: int, where):
  """``tree``'s shapes with leading axis n."""
  return jax.tree.map(
    lambda a: jax.ShapeDtypeStruct((n,) + a.shape[1:], a.dtype, sharding=where), tree
  )


class _Build:
  """What the programs of one config on one target share."""

  def __init__(self, config, target, devices):
    self.config, self.target = config, target
    self.backend = target.traced_for
    self.place = sharding.Placement(devices)
    self.ds, self.source = dataset_source(config, target)
    self.model = state_lib.make_model(
      config, self.ds.num_channels, backend=self.backend
    )
    self.tx = state_lib.make_optimizer(config)
    self.objective = objectives_lib.from_config(config, dataset_size=len(self.ds))
    self.keys = state_lib.seed_keys(config.seed, config.num_seeds)
    self.one = jax.sharding.SingleDeviceSharding(devices[0])

  def states(self, phase: int):
    grid = members_lib.phase_grid(self.config, phase)
    return grid, state_lib.abstract_state(
      self.model,
      self.tx,
      grid,
      self.keys,
      window=self.config.window,
      objective=self.objective,
    )

  def phase_step(self, phase: int) -> Report:
    c = self.config
    grid, states = self.states(phase)
    steps = int(c.phase1_steps if phase == 1 else c.phase2_steps)
    report = Report(f"phase {phase} step")
    runner = grid_runner.GridRunner(
      step_lib.make_train_step(self.model, self.tx, self.objective),
      self.source,
      batch_size=c.batch_size,
      strategy=c.grid_strategy,
      map_batch_size=c.map_batch_size,
      steps_per_call=c.steps_per_call,
      grid_chunk=c.get("grid_chunk", 0),
      place=self.place,
      impl=self.model.impl,
      backend=self.backend,
      memory=self.target.usable_memory,
    )
    seeds = members_lib.column(grid, "seed", np.int32)

    def build():
      report.note = runner.plan(states, self.keys.data, seeds)
      chunks = runner.chunks(len(grid))
      report.runs = steps * len(chunks)
      report.members = int(chunks[0].index.size)
      report.name += f" ({len(grid)} models, chunks of {chunks[0].index.size})"
      return runner.compile(states, len(self.keys.data), chunks[0].index.size)

    return _measure(report, self.target, build)

  def probe(self) -> Report:
    grid, states = self.states(2)
    p = self.config.collapse
    n = int(p.num_samples)
    where = self.place.state_sharding(len(grid), "vmap")
    fn = jax.jit(
      functools.partial(
        collapse.CollapseProbe.grid_scores,
        self.model,
        tuple(self.ds.factor_sizes),
        int(p.num_bins),
      )
    )
    args = (
      _spec(states.params, where),
      jax.ShapeDtypeStruct(
        (n, 64, 64, self.ds.num_channels), np.uint8, sharding=self.place.replicated
      ),
      jax.ShapeDtypeStruct(
        (n, self.ds.num_factors), np.int32, sharding=self.place.replicated
      ),
      jax.ShapeDtypeStruct((2,), np.uint32, sharding=self.place.replicated),
    )
    return _measure(
      Report(f"collapse probe ({len(grid)} models x {n})", members=len(grid)),
      self.target,
      lambda: fn.lower(*args).compile(),
    )

  def seed_models(self) -> int:
    c = self.config
    return len(c.betas) * (1 + len(c.lambdas))

  def encode(self, with_nll: bool) -> Report:
    m = self.seed_models()
    batch = eval_runner.encoder_batch(self.config, self.backend)
    _, states = self.states(1)
    params = _leading(states.params, m, self.one)
    x = jax.ShapeDtypeStruct(
      (batch, 64, 64, self.ds.num_channels), np.uint8, sharding=self.one
    )
    scalar = jax.ShapeDtypeStruct((), np.int32, sharding=self.one)
    per_call = encode.default_models_per_call(self.backend)
    name = f"evaluation encode{' + NLL' if with_nll else ''} ({m} models x {batch})"
    kw = dict(
      latent_dim=int(self.config.latent_dim),
      num_channels=self.ds.num_channels,
      with_nll=with_nll,
      sample=with_nll,
      models_per_call=per_call,
      impl=self.model.impl,
    )
    return _measure(
      Report(name, members=m),
      self.target,
      lambda: encode.encode_batch.lower(params, x, scalar, scalar, **kw).compile(),
    )

  def scores(self) -> Report:
    ev, L = self.config.eval, int(self.config.latent_dim)
    m = -(-self.seed_models() // compute.MODEL_BUCKET) * compute.MODEL_BUCKET
    f = self.ds.num_factors
    votes = int(ev.factor_vae_votes)

    def arr(shape, dtype=np.float32):
      return jax.ShapeDtypeStruct(shape, dtype, sharding=self.one)

    args = (
      arr((m, ev.num_train, L)),
      arr((ev.num_train, f), np.int32),
      arr((m, ev.num_test, L)),
      arr((ev.num_test, f), np.int32),
      arr((m, max(votes, 1), ev.factor_vae_batch if votes else 2, L)),
      arr((max(votes, 1),), np.int32),
    )
    kw = dict(
      functions=compute.compiled_functions(),
      factor_sizes=tuple(int(k) for k in self.ds.factor_sizes),
      num_bins=int(ev.num_bins),
      num_train_votes=(2 * votes) // 3,
    )
    return _measure(
      Report(f"evaluation scores ({m} models)", members=m),
      self.target,
      lambda: compute.stack_metrics.lower(*args, **kw).compile(),
    )

  def posterior(self) -> Report:
    m, n = self.seed_models(), int(self.config.eval.posterior_samples)
    L, f = int(self.config.latent_dim), self.ds.num_factors
    code = jax.ShapeDtypeStruct((m, n, L), np.float32, sharding=self.one)
    key = jax.ShapeDtypeStruct((), jax.random.key(0).dtype, sharding=self.one)
    factors = jax.ShapeDtypeStruct((n, f), np.int32, sharding=self.one)
    sizes = tuple(int(k) for k in self.ds.factor_sizes)
    return _measure(
      Report(f"evaluation posterior scores ({m} models x {n})", members=m),
      self.target,
      lambda: compute.stack_posterior_scores.lower(
        code, code, factors, key, factor_sizes=sizes
      ).compile(),
    )


def compile_all(config, target: targets_lib.Target, num_devices: int):
  """Compiles every program of ``config``'s sweep and evaluation for ``target``.

  Args:
    config: a sweep config (validated by the caller).
    target: where the programs would run.
    num_devices: devices of the target the grid is split over.

  Yields:
    One :class:`Report` per program, in the order they run, as each is compiled.
  """
  build = _Build(config, target, target.devices(num_devices))
  yield build.phase_step(1)
  yield build.phase_step(2)
  if int(config.collapse.num_samples) > 0:
    yield build.probe()
  yield build.encode(False)
  yield build.encode(True)
  yield build.scores()
  if int(config.eval.posterior_samples) > 0:
    yield build.posterior()


def projected_seconds(reports: list[Report]) -> float | None:
  """The protocol's training time at the roofline bound: sum over the phases'
  steps of their chunks' bounds (None when a step did not compile or the target
  has no peaks)."""
  steps = [r for r in reports if r.runs]
  if not steps or any(r.roofline_seconds is None for r in steps):
    return None
  return float(sum(r.runs * r.roofline_seconds for r in steps))

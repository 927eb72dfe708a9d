"""The linear-Gaussian protocol of arXiv 2602.09277 (docs/theory.md): both solvers, all cells.

Synopsis::

    from lbvae.linear import protocol
    protocol.validate(config)                 # errors.Error on a bad value
    with jax.enable_x64(True):
      res = protocol.run(config)              # per-init rows, summary, gains

For each instance (one per n in ``config.n_values``, or the ``config.problem``
file) and each solver, every (beta, lambda) cell is solved from the same
``num_inits`` random starts in one compiled, vectorised call; the final models are
scored in closed form (R, K, D, SAP, I_m, I(X;Y), ||B||_2). Given a
:class:`resume.Store`, finished solves and the gradient solver's state are kept
there for a later call; otherwise the only file read is the problem file, and
:mod:`lbvae.linear.experiment` writes the results.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from lbvae import errors
from lbvae import memory
from lbvae.linear import contraction as contraction_lib
from lbvae.linear import fixed_point
from lbvae.linear import gradient
from lbvae.linear import scores
from lbvae.linear import objective
from lbvae.linear import problem as problem_lib
from lbvae.linear import resume
from lbvae.linear import setups

SOLVERS = ("fixed_point", "gradient")
SUMMARY_COLUMNS = (
  "solver",
  "n",
  "m",
  "s",
  "beta",
  "lambda",
  "inits",
  "recon_mean",
  "recon_std",
  "sap_mean",
  "sap_std",
  "im_mean",
  "im_std",
)
PER_INIT_COLUMNS = (
  "solver",
  "n",
  "m",
  "s",
  "beta",
  "lambda",
  "init",
  "recon",
  "kl",
  "l2",
  "total",
  "sap",
  "im",
  "mi_xy",
  "gain",
  "iterations",
  "converged",
)
CONTRACTION_COLUMNS = ("beta", "lambda", "iteration", "gain")


@dataclasses.dataclass
class Results:
  """What one protocol run produced (host data).

  Attributes:
    per_init: one dict per (solver, n, beta, lambda, init), keys PER_INIT_COLUMNS.
    summary: one dict per (solver, n, beta, lambda), keys SUMMARY_COLUMNS.
    contraction: one dict per (beta, lambda, iteration), keys CONTRACTION_COLUMNS.
    instances: n -> the Problem used (float64 NumPy arrays).
    seconds: "solver/n" -> wall time of that solve (compilation included).
  """

  per_init: list[dict[str, Any]]
  summary: list[dict[str, Any]]
  contraction: list[dict[str, Any]]
  instances: dict[int, problem_lib.Problem]
  seconds: dict[str, float]


def solver_names(config) -> list[str]:
  return [s.strip() for s in str(config.solvers).split(",") if s.strip()]


def _floats(name: str, values, *, low: float, strict: bool) -> tuple[float, ...]:
  try:
    vals = tuple(float(v) for v in values)
  except (TypeError, ValueError):
    raise errors.ConfigError(
      f"config.{name} must be a tuple of numbers, got {values!r}"
    ) from None
  errors.require(len(vals) > 0, f"config.{name} is empty; give at least one value")
  for v in vals:
    ok = np.isfinite(v) and (v > low if strict else v >= low)
    errors.require(
      ok,
      f"config.{name} has {v}; every value must be {'>' if strict else '>='} {low:g}",
    )
  return vals


def _positive(name: str, value, *, integer: bool = False, low: float = 0.0) -> None:
  ok = isinstance(value, (int, float)) and not isinstance(value, bool)
  ok = ok and (not integer or float(value).is_integer()) and value > low
  errors.require(
    ok,
    f"config.{name} must be {'an integer' if integer else 'a number'} "
    f"> {low:g}, got {value!r}",
  )


def memory_needs(config) -> list:
  """What the largest instance holds at least (``lbvae.memory.Need``): its dense
  float64[n, n] Sigma_Y and the num_inits float64[m, n] starts of B."""
  if config.problem:
    return []
  n = max(int(v) for v in config.n_values)
  return [
    memory.Need(
      f"config.n_values={tuple(config.n_values)}",
      8 * n * n + 8 * int(config.num_inits) * int(config.m) * n,
      f"the instance of n = {n} (a dense n x n float64 Sigma_Y and the starts of B)",
      "use smaller n_values",
    )
  ]


def validate(config) -> None:
  """Checks every field the protocol reads; errors.Error names the first bad one."""
  _floats("betas", config.betas, low=0.0, strict=True)
  _floats("lambdas", config.lambdas, low=0.0, strict=False)
  names = solver_names(config)
  errors.require(names, f"config.solvers is empty; choose from {', '.join(SOLVERS)}")
  for name in names:
    errors.require(
      name in SOLVERS,
      f"config.solvers: unknown solver '{name}'; choose from {', '.join(SOLVERS)}",
    )
  errors.require(len(set(names)) == len(names), "config.solvers lists a solver twice")
  _positive("num_inits", config.num_inits, integer=True)
  _positive("m", config.m, integer=True, low=1)
  _positive("s", config.s, integer=True)
  _positive("noise_var", config.noise_var)
  errors.require(
    isinstance(config.seed, int), f"config.seed must be an integer, got {config.seed!r}"
  )
  if not config.problem:
    for n in _floats("n_values", config.n_values, low=0.0, strict=True):
      errors.require(n.is_integer(), f"config.n_values must hold integers, got {n}")
  setups.validate(config)
  classes = _floats("size_classes", config.size_classes, low=0.0, strict=True)
  per_n = {
    "fixed_point.tol": config.fixed_point.tol,
    "fixed_point.max_iters": config.fixed_point.max_iters,
    "gradient.steps": config.gradient.steps,
    "gradient.clip_ab": config.gradient.clip_ab,
    "gradient.clip_l": config.gradient.clip_l,
    "gradient.runs_per_chunk": config.gradient.runs_per_chunk,
  }
  for name, values in per_n.items():
    vals = _floats(name, values, low=0.0, strict=True)
    errors.require(
      len(vals) == len(classes),
      f"config.{name} needs one value per "
      f"config.size_classes entry ({len(classes)}), got {len(vals)}",
    )
  for name in ("fixed_point.max_iters", "gradient.steps", "gradient.runs_per_chunk"):
    for v in per_n[name]:
      errors.require(
        float(v).is_integer(), f"config.{name} must hold integers, got {v}"
      )
  _positive("fixed_point.num_lanes", config.fixed_point.num_lanes, integer=True)
  _positive("fixed_point.num_threads", config.fixed_point.num_threads, integer=True)
  for name in ("learning_rate", "b1", "b2", "eps", "jitter"):
    _positive(f"gradient.{name}", config.gradient[name])
  errors.require(
    config.gradient.b1 < 1 and config.gradient.b2 < 1,
    "config.gradient.b1 and b2 must be < 1",
  )
  errors.require(
    config.gradient.weight_decay >= 0, "config.gradient.weight_decay must be >= 0"
  )
  _positive("gradient.chunk", config.gradient.chunk, integer=True)
  _positive("gradient.num_threads", config.gradient.num_threads, integer=True)
  minutes = config.gradient.save_minutes
  errors.require(
    isinstance(minutes, (int, float))
    and not isinstance(minutes, bool)
    and np.isfinite(minutes)
    and minutes >= 0,
    f"config.gradient.save_minutes must be a number >= 0, got {minutes!r}",
  )
  _floats("contraction.betas", config.contraction.betas, low=0.0, strict=True)
  _floats("contraction.lambdas", config.contraction.lambdas, low=0.0, strict=False)
  _positive("contraction.iterations", config.contraction.iterations, integer=True)


def size_class(config, n: int) -> int:
  """Index of the per-n settings for dimension n: first class >= n, else the last."""
  classes = [float(c) for c in config.size_classes]
  for i, c in enumerate(classes):
    if n <= c:
      return i
  return len(classes) - 1


def as_jax(prob: problem_lib.Problem) -> problem_lib.Problem:
  """The instance as float64 jax arrays (the solvers' and :func:`evaluate`'s input)."""
  return problem_lib.Problem(*(jnp.asarray(x, jnp.float64) for x in prob))


@jax.jit
def evaluate(
  params: objective.Params, prob: problem_lib.Problem
) -> dict[str, jax.Array]:
  """Closed-form scores of models with one leading run axis (MI matrices for I_m)."""

  def one(p):
    t = objective.terms(p, prob)
    rho2 = scores.squared_correlations(p.B, p.sigma_w, prob)
    return dict(
      recon=t.recon,
      kl=t.kl,
      l2=t.l2,
      sap=scores.sap(rho2),
      mi=scores.gaussian_mi(rho2),
      mi_xy=scores.mutual_information_xy(p.B, p.sigma_w, prob),
      gain=scores.spectral_norm(p.B),
    )

  return jax.vmap(one)(params)


def score(params: objective.Params, prob: problem_lib.Problem) -> dict[str, np.ndarray]:
  """:func:`evaluate` on the host, with I_m (``"im"``) matched per run."""
  values = jax.tree.map(np.asarray, evaluate(params, as_jax(prob)))
  values["im"] = scores.matched_mi(values["mi"])
  return values


def solve_fixed_point(config, setup: setups.Setup, betas, lams):
  """All cells x inits, alternating solver: (Params [C*I], iterations, converged)."""
  prob, k = setup.problem, size_class(config, setup.problem.n)
  b0, w0 = (jnp.asarray(x, jnp.float64) for x in setup.fixed_point)
  res = fixed_point.solve_grid(
    as_jax(prob),
    b0,
    w0,
    jnp.asarray(betas),
    jnp.asarray(lams),
    jnp.asarray(float(config.fixed_point.tol[k])),
    jnp.asarray(int(config.fixed_point.max_iters[k]), jnp.int32),
    num_lanes=int(config.fixed_point.num_lanes),
    num_threads=int(config.fixed_point.num_threads),
  )
  flat = lambda x: x.reshape((-1,) + x.shape[2:])
  return (
    jax.tree.map(flat, res.params),
    np.asarray(flat(res.iterations)),
    np.asarray(flat(res.converged)),
  )


def gradient_settings(config, n: int) -> tuple[gradient.Settings, int]:
  """The gradient solver's settings and step count for dimension n."""
  g, k = config.gradient, size_class(config, n)
  settings = gradient.Settings(
    learning_rate=float(g.learning_rate),
    b1=float(g.b1),
    b2=float(g.b2),
    eps=float(g.eps),
    weight_decay=float(g.weight_decay),
    clip_ab=float(g.clip_ab[k]),
    clip_l=float(g.clip_l[k]),
    jitter=float(g.jitter),
  )
  return settings, int(g.steps[k])


def gradient_layout(config, n: int) -> dict[str, int]:
  """How :func:`gradient.split` lays out the runs of dimension n: chunk, num_threads."""
  return dict(
    chunk=int(config.gradient.runs_per_chunk[size_class(config, n)]),
    num_threads=int(config.gradient.num_threads),
  )


def solve_gradient(
  config,
  setup: setups.Setup,
  betas,
  lams,
  *,
  progress: bool = True,
  store: resume.Store | None = None,
):
  """All cells x inits with the gradient solver.

  With ``store``, the solver's state is saved there every
  ``config.gradient.save_minutes`` (not after the last step: :func:`run` then
  keeps the finished models instead), and a state saved earlier is continued
  from its step.

  Returns:
    (Params [C*I], steps, converged, seconds): seconds is the wall time of all
    calls that worked on this solve, compilation included.
  """
  prob = setup.problem
  n = prob.n
  settings, steps = gradient_settings(config, n)
  p0 = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), setup.gradient)
  jprob = as_jax(prob)
  state = gradient.init_grid(p0, jnp.asarray(betas), jnp.asarray(lams), settings)
  done, earlier = 0, 0.0
  saved = store.load_state(n, like=state) if store is not None else None
  if saved is not None:
    state, done, earlier = saved
    state = jax.tree.map(jnp.asarray, state)
    errors.require(
      done <= steps,
      f"{store.folder}: the saved gradient state of "
      f"n={n} is at step {done}, past config.gradient.steps ({steps})",
      errors.CheckpointError,
    )
  chunk = int(config.gradient.chunk)
  save_every = 60.0 * float(config.gradient.save_minutes)
  start = last_save = time.perf_counter()
  layout = gradient.split(state, **gradient_layout(config, n))
  with tqdm.tqdm(
    total=steps,
    initial=done,
    desc=f"gradient n={n}",
    unit="step",
    leave=False,
    disable=not progress,
  ) as bar:
    while done < steps:
      size = min(chunk, steps - done)
      layout = gradient.advance(layout, jprob, settings, size)
      done += size
      bar.update(size)
      now = time.perf_counter()
      if store is not None and done < steps and now - last_save >= save_every:
        store.save_state(
          n, jax.device_get(gradient.join(layout)), done, earlier + now - start
        )
        last_save = now
  state = gradient.join(layout)
  params, _ = gradient.best_params(state, settings)
  runs = len(betas) * int(config.num_inits)
  seconds = earlier + time.perf_counter() - start
  return params, np.full(runs, steps), np.zeros(runs, bool), seconds


def _rows(solver, prob, config, betas, lams, params, iterations, converged):
  values = score(params, prob)
  num_inits = int(config.num_inits)
  rows = []
  for r in range(len(iterations)):
    cell, k = divmod(r, num_inits)
    beta, lam = float(betas[cell]), float(lams[cell])
    rows.append(
      dict(
        solver=solver,
        n=prob.n,
        m=int(config.m),
        s=prob.s,
        beta=beta,
        **{"lambda": lam},
        init=k,
        recon=float(values["recon"][r]),
        kl=float(values["kl"][r]),
        l2=float(values["l2"][r]),
        total=float(
          values["recon"][r] + beta * values["kl"][r] + lam * values["l2"][r]
        ),
        sap=float(values["sap"][r]),
        im=float(values["im"][r]),
        mi_xy=float(values["mi_xy"][r]),
        gain=float(values["gain"][r]),
        iterations=int(iterations[r]),
        converged=bool(converged[r]),
      )
    )
  return rows


def summarise(per_init: list[dict[str, Any]]) -> list[dict[str, Any]]:
  """Mean and (population, ddof=0) standard deviation over inits, per cell."""
  groups: dict[tuple, list[dict[str, Any]]] = {}
  for row in per_init:
    key = tuple(row[c] for c in ("solver", "n", "m", "s", "beta", "lambda"))
    groups.setdefault(key, []).append(row)
  out = []
  for key, rows in groups.items():
    entry = dict(zip(("solver", "n", "m", "s", "beta", "lambda"), key), inits=len(rows))
    for name in ("recon", "sap", "im"):
      vals = np.array([r[name] for r in rows])
      entry[f"{name}_mean"] = float(vals.mean())
      entry[f"{name}_std"] = float(vals.std())
    out.append(entry)
  return out


def contraction(config, setup: setups.Setup) -> list[dict[str, Any]]:
  """||B_k||_2 per full fixed-point iteration, one start for every contraction cell."""
  c = config.contraction
  betas, lams = zip(*[(float(b), float(l)) for b in c.betas for l in c.lambdas])
  prob = setup.problem
  b0, w0 = (jnp.asarray(x, jnp.float64) for x in setup.contraction)
  gains = np.asarray(
    contraction_lib.gain_trajectory_grid(
      as_jax(prob),
      b0,
      w0,
      jnp.asarray(betas),
      jnp.asarray(lams),
      num_iterations=int(c.iterations),
    )
  )
  return [
    dict(beta=b, **{"lambda": l}, iteration=k + 1, gain=float(g))
    for b, l, traj in zip(betas, lams, gains)
    for k, g in enumerate(traj)
  ]


def _params_like(runs: int, n: int, m: int) -> objective.Params:
  f64 = lambda *shape: jax.ShapeDtypeStruct((runs,) + shape, jnp.float64)
  return objective.Params(f64(n, m), f64(m, n), f64(n, n), f64(m, m))


def run(config, *, progress: bool = True, store: resume.Store | None = None) -> Results:
  """Runs the whole protocol; call after :func:`validate`, under x64.

  Args:
    config: the protocol config.
    progress: show progress bars.
    store: where finished solves and the gradient state are kept; solves it
      already holds are not run again (their timings are the saved ones).
  """
  built = setups.build(config)
  probs = {n: setup.problem for n, setup in built.items()}
  cells = [(float(b), float(l)) for b in config.betas for l in config.lambdas]
  betas, lams = (np.array(x) for x in zip(*cells))
  runs = len(cells) * int(config.num_inits)

  def solve(solver, setup):
    start = time.perf_counter()
    if solver == "gradient":
      return solve_gradient(config, setup, betas, lams, progress=progress, store=store)
    out = solve_fixed_point(config, setup, betas, lams)
    jax.block_until_ready(out[0])
    return out + (time.perf_counter() - start,)

  jobs = [(s, n) for s in solver_names(config) for n in probs]
  per_init, seconds = [], {}
  with tqdm.tqdm(
    jobs, desc="linear protocol", unit="solve", disable=not progress
  ) as bar:
    for solver, n in bar:
      bar.set_postfix_str(
        f"{solver} n={n}, {len(betas)} cells x {config.num_inits} inits"
      )
      out = None
      if store is not None:
        out = store.load_result(solver, n, like=_params_like(runs, n, int(config.m)))
      if out is None:
        out = solve(solver, built[n])
        if store is not None:
          store.save_result(solver, n, jax.device_get(out[0]), *out[1:])
          if solver == "gradient":
            store.drop_state(n)
      seconds[f"{solver}/{n}"] = out[3]
      per_init += _rows(solver, probs[n], config, betas, lams, *out[:3])
  gains = contraction(config, next(iter(built.values())))
  return Results(per_init, summarise(per_init), gains, probs, seconds)

"""One-feature linear SVMs, solved exactly in JAX, as scikit-learn's LinearSVC would.

The classifier behind SAP (Kumar et al., 2018; docs/method.md §4): for every (feature l,
label set j) pair, ``LinearSVC(C=0.01, class_weight="balanced", loss="squared_hinge")``
on the single feature x = z_l, solved to liblinear's optimum for all pairs at once. One
binary problem (y_i ∈ {−1, +1}, per-sample costs C_i; b is liblinear's bias, regularised
like w; nothing standardised):

    f(w, b) = ½ (w² + b²) + Σ_i C_i · max(0, 1 − y_i (w x_i + b))²

Balanced weights c_k = N / (n_present · N_k) over the classes present. One-vs-rest as
liblinear: problem k weights its positives C·c_k and its negatives C; with exactly two
classes present, each class's problem gives mirrored solutions and the same
predictions. Prediction: argmax_k w_k x + b_k over present classes. Solver: Newton with
a line search (f is strongly convex, piecewise quadratic); the active hinges are a
prefix or suffix of the x-sorted samples, so each gradient and Hessian is a few
prefix-sum lookups (O(log N) after one sort); the line search finds the root of the
directional derivative by the Illinois method. Stops when no step moves a decision
value by more than ``tol`` (relative) or after ``max_iters`` steps.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class SvmFit(NamedTuple):
  """One-vs-rest solutions for every (feature, label set, class).

  Attributes:
    weight: float32[L, F, K] slopes w.
    bias: float32[L, F, K] intercepts b.
    present: bool[F, K] whether class k of label set j occurs in the training data.
    iterations: int32 scalar, Newton steps taken (the slowest problem's).
  """

  weight: jax.Array
  bias: jax.Array
  present: jax.Array
  iterations: jax.Array


class _Problems(NamedTuple):
  """Sorted data and prefix sums shared by all problems; arrays are [L, F, ...].

  ``table`` holds, per (feature, label set), the N samples sorted by (class, x) —
  class k occupying [start_k, end_k) — then one unused slot, then the N samples
  sorted by x alone, occupying [N + 1, 2N + 1). ``sum_x``/``sum_x2`` are prefix sums
  laid out the same way: the sum over table positions [lo, hi) of either block is
  ``sum[hi] − sum[lo]``.
  """

  table: jax.Array  # [L, F, 2N + 1]
  sum_x: jax.Array  # [L, F, 2N + 2]
  sum_x2: jax.Array  # [L, F, 2N + 2]
  start: jax.Array  # int32[L, F, K]
  end: jax.Array  # int32[L, F, K]
  cost_pos: jax.Array  # [L, F, K] C_i of positives
  cost_neg: jax.Array  # [L, F, K] C_i of negatives


def _prepare(features, labels, num_classes: int, c: float) -> _Problems:
  x = jnp.asarray(features, jnp.float32).T  # [L, N]
  y = jnp.asarray(labels, jnp.int32).T  # [F, N]
  (num_features, n), num_sets = x.shape, y.shape[0]
  order = jnp.argsort(x, axis=-1)
  sorted_x = jnp.take_along_axis(x, order, axis=-1)
  all_x = jnp.broadcast_to(sorted_x[:, None, :], (num_features, num_sets, n))
  # Sort by (class, x): one integer sort of class · N + rank in x (unique keys).
  labels_by_x = jnp.moveaxis(y[:, order], 0, 1)  # [L, F, N]
  keys = jnp.sort(labels_by_x * n + jnp.arange(n, dtype=jnp.int32), axis=-1)
  seg_x = jnp.take_along_axis(all_x, keys % n, axis=-1)
  counts = jax.nn.one_hot(y, num_classes, dtype=jnp.int32).sum(axis=1)  # [F, K]
  end = jnp.cumsum(counts, axis=-1)
  n_present = (counts > 0).sum(axis=-1, keepdims=True)
  cost_pos = c * n / (n_present * jnp.maximum(counts, 1))
  cost_neg = jnp.where(n_present == 2, c * n / (2 * jnp.maximum(n - counts, 1)), c)
  grid = (num_features, num_sets, num_classes)
  # Prefix sums of x and x² over both blocks, each block starting from 0.
  blocks = jnp.stack([seg_x, all_x])  # [2, L, F, N]
  moments = jnp.stack([blocks, blocks * blocks])  # [2, 2, L, F, N]
  sums = jnp.pad(jnp.cumsum(moments, axis=-1), [(0, 0)] * 4 + [(1, 0)])
  sums = jnp.concatenate([sums[:, 0], sums[:, 1]], axis=-1)  # [2, L, F, 2N + 2]
  gap = jnp.zeros(seg_x.shape[:-1] + (1,), jnp.float32)
  return _Problems(
    table=jnp.concatenate([seg_x, gap, all_x], axis=-1),
    sum_x=sums[0],
    sum_x2=sums[1],
    start=jnp.broadcast_to(end - counts, grid),
    end=jnp.broadcast_to(end, grid),
    cost_pos=jnp.broadcast_to(cost_pos, grid).astype(jnp.float32),
    cost_neg=jnp.broadcast_to(cost_neg, grid).astype(jnp.float32),
  )


def _boundary(table, lo, hi, w, b, level):
  """First position in [lo, hi) where w·x + b crosses ``level`` along sorted x.

  For w >= 0 returns the first position with w·x + b >= level (those before it are
  < level); for w < 0 the first with w·x + b < level. Binary search, vectorised over
  the lanes of lo, hi, w, b and level.
  """
  size = table.shape[-1]
  rising = w >= 0

  def halve(_, bounds):
    lo, hi = bounds
    mid = (lo + hi) // 2
    value = w * jnp.take_along_axis(table, jnp.minimum(mid, size - 1), axis=-1) + b
    is_true = jnp.where(rising, value >= level, value < level)
    searching = lo < hi
    return (
      jnp.where(searching & ~is_true, mid + 1, lo),
      jnp.where(searching & is_true, mid, hi),
    )

  lo, _ = jax.lax.fori_loop(0, size.bit_length() + 1, halve, (lo, hi))
  return lo


def _gradient(p: _Problems, w, b):
  """Gradient and Hessian entries of every problem's objective at (w, b).

  Active samples: positives of class k with w·x + b < 1, and negatives with
  w·x + b > −1, i.e. all samples with w·x + b >= −1 minus class k's. Three ranges
  per problem, found in one batched binary search.
  """
  n = (p.table.shape[-1] - 1) // 2
  rising = w >= 0
  cat = lambda *parts: jnp.concatenate(parts, axis=-1)
  seg_lo, seg_hi = p.start, p.end
  all_lo, all_hi = jnp.full_like(p.start, n + 1), jnp.full_like(p.start, 2 * n + 1)
  cut = _boundary(
    p.table,
    cat(seg_lo, seg_lo, all_lo),
    cat(seg_hi, seg_hi, all_hi),
    cat(w, w, w),
    cat(b, b, b),
    jnp.repeat(jnp.array([1.0, -1.0, -1.0]), w.shape[-1]),
  )
  cut_pos, cut_own, cut_all = jnp.split(cut, 3, axis=-1)
  # Positives below the +1 level; class k and everyone at or above the -1 level.
  lo = cat(
    jnp.where(rising, seg_lo, cut_pos),
    jnp.where(rising, cut_own, seg_lo),
    jnp.where(rising, cut_all, all_lo),
  )
  hi = cat(
    jnp.where(rising, cut_pos, seg_hi),
    jnp.where(rising, seg_hi, cut_own),
    jnp.where(rising, all_hi, cut_all),
  )
  take = lambda sums, i: jnp.take_along_axis(sums, i, axis=-1)
  count = (hi - lo).astype(jnp.float32)
  sum_x = take(p.sum_x, hi) - take(p.sum_x, lo)
  sum_x2 = take(p.sum_x2, hi) - take(p.sum_x2, lo)
  (p0, own0, all0), (p1, own1, all1), (p2, own2, all2) = (
    jnp.split(m, 3, axis=-1) for m in (count, sum_x, sum_x2)
  )
  n0, n1, n2 = all0 - own0, all1 - own1, all2 - own2
  cp, cn = 2 * p.cost_pos, 2 * p.cost_neg
  grad_w = w - cp * ((1 - b) * p1 - w * p2) + cn * ((1 + b) * n1 + w * n2)
  grad_b = b - cp * ((1 - b) * p0 - w * p1) + cn * ((1 + b) * n0 + w * n1)
  hessian = (1 + cp * p2 + cn * n2, cp * p1 + cn * n1, 1 + cp * p0 + cn * n0)
  return (grad_w, grad_b), hessian


class _Solver(NamedTuple):
  """Loop state: the iterate, the Newton direction and its line-search bracket."""

  w: jax.Array
  b: jax.Array
  dw: jax.Array
  db: jax.Array
  lo: jax.Array  # bracket [lo, hi] of step lengths,
  hi: jax.Array  # with directional derivatives
  slope_lo: jax.Array  # slope_lo <= 0 < slope_hi
  slope_hi: jax.Array
  side: jax.Array  # which end moved last (Illinois), 0 at the start
  t: jax.Array  # the step length probed next
  phase: jax.Array  # 0: probe the iterate, 1..S+1: line-search probes
  steps: jax.Array  # Newton steps taken
  done: jax.Array


def _solve(p: _Problems, x_scale, *, max_iters: int, tol: float, search_steps: int):
  """Damped Newton on every problem at once, one gradient evaluation per pass.

  Phase 0 evaluates gradient and Hessian at the iterate and takes the Newton
  direction d. Phases 1..S+1 are Illinois steps on the directional derivative
  φ'(t) = ∇f(θ + t d)·d over t ∈ [0, 1] (monotone, piecewise linear): the first
  probe is t = 1, and if φ'(1) <= 0 the bracket closes on the full step. After the
  last probe the iterate moves by the bracket's secant root.
  """

  def one_pass(s: _Solver) -> _Solver:
    (gw, gb), (hww, hwb, hbb) = _gradient(p, s.w + s.t * s.dw, s.b + s.t * s.db)
    start = s.phase == 0
    # Phase 0: a fresh Newton direction and bracket.
    det = hww * hbb - hwb * hwb
    new_dw = -(hbb * gw - hwb * gb) / det
    new_db = -(hww * gb - hwb * gw) / det
    dw, db = jnp.where(start, new_dw, s.dw), jnp.where(start, new_db, s.db)
    slope = gw * dw + gb * db
    # Line-search phases: an Illinois update of the bracket.
    right = slope > 0
    lo, hi = jnp.where(right, s.lo, s.t), jnp.where(right, s.t, s.hi)
    halve_lo = jnp.where(s.side > 0, s.slope_lo / 2, s.slope_lo)
    halve_hi = jnp.where(s.side < 0, s.slope_hi / 2, s.slope_hi)
    slope_lo = jnp.where(right, halve_lo, slope)
    slope_hi = jnp.where(right, slope, halve_hi)
    side = jnp.where(right, 1, -1)
    one, zero = jnp.ones_like(lo), jnp.zeros_like(lo)
    lo, hi = jnp.where(start, zero, lo), jnp.where(start, one, hi)
    slope_lo = jnp.where(start, jnp.minimum(slope, 0.0), slope_lo)
    slope_hi = jnp.where(start, one, slope_hi)
    side = jnp.where(start, 0, side)
    t = jnp.where(start, one, (lo * slope_hi - hi * slope_lo) / (slope_hi - slope_lo))
    # After the last probe: take the step and test convergence.
    commit = s.phase == search_steps + 1
    moved = jnp.abs(t * dw) * x_scale + jnp.abs(t * db)
    done = commit & jnp.all(moved <= tol * (1 + jnp.abs(s.w) * x_scale + jnp.abs(s.b)))
    return _Solver(
      w=jnp.where(commit, s.w + t * dw, s.w),
      b=jnp.where(commit, s.b + t * db, s.b),
      dw=dw,
      db=db,
      lo=lo,
      hi=hi,
      slope_lo=slope_lo,
      slope_hi=slope_hi,
      side=side,
      t=jnp.where(commit, zero, t),
      phase=jnp.where(commit, 0, s.phase + 1),
      steps=s.steps + commit,
      done=done,
    )

  zeros = jnp.zeros(p.start.shape, jnp.float32)
  init = _Solver(
    w=zeros,
    b=zeros,
    dw=zeros,
    db=zeros,
    lo=zeros,
    hi=zeros + 1,
    slope_lo=zeros - 1,
    slope_hi=zeros + 1,
    side=jnp.zeros(zeros.shape, jnp.int32),
    t=zeros,
    phase=jnp.int32(0),
    steps=jnp.int32(0),
    done=jnp.bool_(False),
  )
  keep_going = lambda s: (s.steps < max_iters) & ~s.done
  return jax.lax.while_loop(keep_going, one_pass, init)


def fit_one_feature_svms(
  features: jax.Array,
  labels: jax.Array,
  *,
  num_classes: int,
  c: float = 0.01,
  max_iters: int = 50,
  tol: float = 1e-6,
  line_search_steps: int = 6,
) -> SvmFit:
  """Fits a one-vs-rest linear SVM on each single feature for each label set.

  Args:
    features: float[N, L] training inputs; each column is its own 1-D problem.
    labels: int[N, F] class indices in [0, num_classes) for F label sets.
    num_classes: static number of class slots K (the largest factor size).
    c: the SVM cost C.
    max_iters: most Newton steps.
    tol: stop once a Newton step changes no decision value by more than
      tol · (1 + |w|·max|x| + |b|).
    line_search_steps: Illinois steps of each line search.

  Returns:
    An :class:`SvmFit` with [L, F, K] weights and biases.
  """
  p = _prepare(features, labels, num_classes, c)
  n = labels.shape[0]
  # |min x| + |max x| per problem: the scale of decision values, [L, F, 1].
  x_scale = jnp.abs(p.table[:, :, n + 1 : n + 2]) + jnp.abs(p.table[:, :, -1:])
  s = _solve(p, x_scale, max_iters=max_iters, tol=tol, search_steps=line_search_steps)
  return SvmFit(weight=s.w, bias=s.b, present=p.end[0] > p.start[0], iterations=s.steps)


def predict_one_feature_svms(fit: SvmFit, features: jax.Array) -> jax.Array:
  """Argmax one-vs-rest prediction of every fitted problem.

  Args:
    fit: the :class:`SvmFit` of :func:`fit_one_feature_svms`.
    features: float[M, L] inputs.

  Returns:
    int32[L, F, M] predicted class of sample m by the model of (feature l, set j).
  """
  x = jnp.asarray(features, jnp.float32).T[:, None, :]  # [L, 1, M]
  num_features, num_sets, _ = fit.weight.shape
  shape = (num_features, num_sets, x.shape[-1])

  def consider(carry, klass):
    best, arg = carry
    w, b, present, k = klass
    value = jnp.where(present[None, :, None], w[..., None] * x + b[..., None], -jnp.inf)
    better = value > best
    return (jnp.where(better, value, best), jnp.where(better, k, arg)), None

  classes = (
    jnp.moveaxis(fit.weight, -1, 0),
    jnp.moveaxis(fit.bias, -1, 0),
    fit.present.T,
    jnp.arange(fit.weight.shape[-1], dtype=jnp.int32),
  )
  init = (jnp.full(shape, -jnp.inf, jnp.float32), jnp.zeros(shape, jnp.int32))
  (_, predicted), _ = jax.lax.scan(consider, init, classes)
  return predicted

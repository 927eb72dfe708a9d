"""Scores of a stack of models on one seed's samples (arXiv 2602.09277, §4).

Every model of one seed is evaluated on the same samples, so the whole stack goes
through the encoder lifted over models (:mod:`lbvae.evaluation.encode`; in chunks
of ``models_per_call``) and then through one vmapped, jit-compiled call of
``lbvae.metrics.all_metrics`` (the model axis is the leading axis of the codes;
the samples' factors are shared), beside which the host fits the literature's tree
DCI (``lbvae.metrics.dci``). Per model this yields the scalar
metrics, the MI matrix (for its heat map), the held-out NLL / KL on the test part,
the KL of each latent (which orders the traversals) and the images of the
reconstruction and traversal figures.

Synopsis::

  votes = compute.draw_votes(ds, seed=0, num_votes=200, batch_size=64)
  options = compute.StackOptions(latent_dim=10, num_bins=20, batch_size=500)
  results, times = compute.evaluate_stack(params, samples, ds, options, votes=votes)
  results[0].scores["mig"], results[0].mi            # float, float[L, F]
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Callable

import jax
import numpy as np

from lbvae import devices
from lbvae import pytrees
from lbvae import metrics
from lbvae.evaluation import encode
from lbvae.metrics import entry
from lbvae.metrics import heldout

TRAVERSAL_VALUES = np.linspace(-2.5, 2.5, 10).astype(np.float32)
NUM_RECONSTRUCTIONS = 64
# The metrics' model axis is padded to a multiple of this (see evaluate_stack).
MODEL_BUCKET = 8


def compiled_functions() -> tuple:
  """The distinct ``compute`` functions of the registry's compiled entries, in
  registry order (``lbvae.metrics.entries``)."""
  return tuple(dict.fromkeys(e.compute for e in metrics.entries(entry.COMPILED)))


@functools.partial(
  jax.jit,
  static_argnames=("functions", "factor_sizes", "num_bins", "num_train_votes"),
  compiler_options=devices.GPU_COMPILE_OPTIONS,
)
def stack_metrics(
  mu_train,
  f_train,
  mu_test,
  f_test,
  vote_latents,
  vote_factors,
  *,
  functions,
  factor_sizes,
  num_bins,
  num_train_votes,
):
  """vmap over models of the compiled entries' ``functions`` (+ FactorVAE): codes
  [M, N, L]; their scalars and ``mi_matrix``."""

  def one(z_train, z_test, z_votes):
    out = {}
    for fn in functions:
      out.update(
        fn(
          z_train, f_train, z_test, f_test, factor_sizes=factor_sizes, num_bins=num_bins
        )
      )
    out = {k: v for k, v in out.items() if v.ndim == 0 or k == "mi_matrix"}
    if num_train_votes:
      fv = metrics.factor_vae_score(
        z_train,
        z_votes,
        vote_factors,
        num_factors=len(factor_sizes),
        num_train_votes=num_train_votes,
      )
      out["factor_vae"] = fv["eval_accuracy"]
    return out

  return jax.vmap(one)(mu_train, mu_test, vote_latents)


@functools.partial(jax.jit, static_argnames=("factor_sizes",))
def stack_posterior_scores(mu, logvar, factors, key, *, factor_sizes):
  """lax.map over models of ``metrics.posterior_scores``: codes [M, N, L]."""
  return jax.lax.map(
    lambda a: metrics.posterior_scores(
      a[0], a[1], factors, key, factor_sizes=factor_sizes
    ),
    (mu, logvar),
  )


POSTERIOR_STREAM = 0x706D69  # "pmi": the posterior draws of a seed's evaluation


@dataclasses.dataclass(frozen=True)
class Votes:
  """One seed's FactorVAE votes: V batches of B images sharing one factor's value.

  Attributes:
    images: uint8[V * B, 64, 64, C], batch v is rows [v * B, (v + 1) * B).
    which: int32[V], the factor held fixed in each batch.
    batch_size: B.
  """

  images: np.ndarray
  which: np.ndarray
  batch_size: int


def draw_votes(ds, *, seed: int, num_votes: int, batch_size: int) -> Votes:
  """Draws one seed's FactorVAE votes with ``lbvae.metrics.factor_vae_inputs``.

  The sampler is run with an encoder that only records the factors it is asked
  for; the images are then rendered once and encoded by every model.

  Args:
    ds: the dataset (``factor_sizes``, ``images``).
    seed: the models' seed (keys the draw).
    num_votes: V.
    batch_size: B.

  Returns:
    :class:`Votes`.
  """
  recorded, num_global = [], 2

  def record(factors):
    recorded.append(np.asarray(factors))
    return np.zeros((len(recorded[-1]), 1), np.float32)

  _, _, which = metrics.factor_vae_inputs(
    jax.random.key(seed),
    record,
    factor_sizes=ds.factor_sizes,
    num_global=num_global,
    num_train_votes=num_votes,
    num_eval_votes=0,
    batch_size=batch_size,
  )
  factors = np.concatenate(recorded)[num_global:]
  return Votes(
    images=np.asarray(ds.images(factors)),
    which=np.asarray(which, np.int32),
    batch_size=batch_size,
  )


def _encode_chunk(
  params, samples, votes, posterior_images, shared_images, **kw
) -> dict[str, np.ndarray]:
  """Everything the pass decodes or encodes, for a few models: [m, ...] arrays."""
  train = encode.encode_models(params, samples.images_train, **kw)
  test = encode.encode_models(
    params, samples.images_test, with_nll=True, noise_seed=samples.seed, **kw
  )
  out = {
    "mu_train": train["mu"],
    "mu_test": test["mu"],
    "logvar_test": test["logvar"],
    "nll_test": test["nll"],
  }
  if votes is not None:
    mu = encode.encode_models(params, votes.images, **kw)["mu"]
    out["mu_votes"] = mu.reshape((mu.shape[0], -1, votes.batch_size) + mu.shape[2:])
  if posterior_images is not None:
    post = encode.encode_models(params, posterior_images, **kw)
    out["mu_posterior"], out["logvar_posterior"] = post["mu"], post["logvar"]
  if shared_images is not None:
    shared = encode.encode_models(params, shared_images, **kw)
    out["mu_shared"], out["logvar_shared"] = shared["mu"], shared["logvar"]
  kw = {k: v for k, v in kw.items() if k != "batch_size"}
  out["rec"], out["trav"] = encode.figure_images(
    params,
    samples.images_test[:NUM_RECONSTRUCTIONS],
    test["mu"][:, 0],
    TRAVERSAL_VALUES,
    **kw,
  )
  return out


@dataclasses.dataclass(frozen=True)
class StackOptions:
  """How :func:`evaluate_stack` encodes and scores.

  Attributes:
    latent_dim: the models' latent size.
    num_bins: MI bins per latent.
    batch_size: images per compiled encoder call.
    models_per_call: models per encoder call ("auto": 1 on CPU, all elsewhere).
    impl: convolution formulation (``lbvae.models.IMPLS``; None: the backend's
      default, see :func:`lbvae.evaluation.encode.encode_models`).
  """

  latent_dim: int
  num_bins: int
  batch_size: int
  models_per_call: int | None | str = "auto"
  impl: str | None = None


@dataclasses.dataclass(frozen=True)
class ModelImages:
  """What a model's figures draw.

  Attributes:
    originals: float32[64, H, W, C], the first test images in [0, 1].
    reconstructions: float32[64, H, W, C].
    traversals: float32[L, K, H, W, C], latent l set to TRAVERSAL_VALUES[k].
  """

  originals: np.ndarray
  reconstructions: np.ndarray
  traversals: np.ndarray


@dataclasses.dataclass(frozen=True)
class ModelResult:
  """One model's evaluation on its seed's samples.

  Attributes:
    scores: metric name -> float: one ``metrics.csv`` row's scores (every scalar
      of ``lbvae.metrics.all_metrics``, the tree DCI, ``factor_vae`` with votes,
      the posterior-aware scores with a stratified sample, ``heldout_nll``,
      ``heldout_kl`` and ``active_latents``, the latents whose KL exceeds
      ``lbvae.metrics.heldout.ACTIVE_KL``).
    mi: float[L, F], the MI matrix (nats).
    mi_posterior: float[L, F], the posterior-aware MI matrix, or None.
    kl_per_latent: float64[L], each latent's mean KL on the test samples.
    images: :class:`ModelImages`.
    codes_train, codes_test: float32[N, L] and float32[M, L], the encoder means of
      the train and test samples the scores were computed on.
    shared_codes: float32[N, L] encoder means of the pass's shared images (UDR),
      or None.
    shared_kl: float64[L] each latent's mean KL on them, or None.
  """

  scores: dict[str, float]
  mi: np.ndarray
  mi_posterior: np.ndarray | None
  kl_per_latent: np.ndarray
  images: ModelImages
  codes_train: np.ndarray
  codes_test: np.ndarray
  shared_codes: np.ndarray | None = None
  shared_kl: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class StackTimes:
  """Seconds :func:`evaluate_stack` spent encoding, and on the metrics (the tree
  DCI included)."""

  encode: float
  metrics: float


# The stages of a model's evaluation, as ``on_progress`` names them (the pass's
# figures come after, outside this module).
ENCODING, SCORING = "encoding", "scoring"


def _encode_stack(params, samples, ds, options, votes, posterior, shared, on_progress):
  """:func:`_encode_chunk` over chunks of ``options.models_per_call`` models,
  concatenated: [M, ...] arrays."""
  num_models = jax.tree.leaves(params)[0].shape[0]
  per_call = options.models_per_call
  if per_call == "auto":
    per_call = encode.default_models_per_call()
  chunk = num_models if per_call is None else int(per_call)
  kw = dict(
    latent_dim=options.latent_dim,
    num_channels=ds.num_channels,
    batch_size=options.batch_size,
    models_per_call=None,
    impl=options.impl,
  )
  parts = []
  for first in range(0, num_models, chunk):
    rows = list(range(first, min(first + chunk, num_models)))
    parts.append(
      _encode_chunk(
        pytrees.take(params, np.asarray(rows)),
        samples,
        votes,
        None if posterior is None else posterior[1],
        shared,
        **kw,
      )
    )
    on_progress(ENCODING, len(rows))
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def factor_scores() -> tuple[str, ...]:
  """The scores the pass computes from codes that need factors: NaN for a dataset
  without them."""
  return tuple(e.name for e in metrics.entries(*entry.FROM_CODES) if e.needs_factors)


def _labels(*runs: str) -> str:
  """The report labels of the registry's entries that run where ``runs`` says."""
  return ", ".join(e.label for e in metrics.entries(*runs) if e.label)


def host_scores(
  codes_train,
  factors_train,
  codes_test,
  factors_test,
  *,
  functions=None,
  on_model=None,
  **options,
) -> dict[str, np.ndarray]:
  """The registry's host entries of M models: column -> float64[M].

  Args:
    codes_train, codes_test: float[M, N, L] and float[M, N', L] codes.
    factors_train, factors_test: int[N, F] and int[N', F], shared by the models.
    functions: the ``compute`` functions to run (default: every host entry's).
    on_model: called as ``on_model(m)`` before model m is scored (or None).
    options: ``factor_sizes`` and ``num_bins``, passed on to ``compute``.
  """
  if functions is None:
    functions = dict.fromkeys(e.compute for e in metrics.entries(entry.HOST))
  rows = []
  for m in range(len(codes_train)):
    if on_model is not None:
      on_model(m)
    row = {}
    for fn in functions:
      row.update(
        fn(codes_train[m], factors_train, codes_test[m], factors_test, **options)
      )
    rows.append(row)
  return (
    {k: np.asarray([r[k] for r in rows], np.float64) for k in rows[0]} if rows else {}
  )


def _stack_scores(enc, samples, ds, options, votes, posterior, on_progress) -> dict:
  """Every score of the M encoded models: metric -> [M] (or [M, L, F]) arrays."""
  num_models = len(enc["mu_train"])
  if not ds.num_factors:
    scores = {k: np.full(num_models, np.nan) for k in factor_scores()}
    scores["mi_matrix"] = np.zeros((num_models, options.latent_dim, 0))
    on_progress(SCORING, num_models)
    return scores
  if votes is not None:
    mu_votes, which = enc["mu_votes"], votes.which
    num_train_votes = (2 * len(which)) // 3
  else:
    mu_votes = np.zeros((num_models, 1, 2, options.latent_dim), np.float32)
    which, num_train_votes = np.zeros((1,), np.int32), 0
  # Pad the model axis to a multiple of MODEL_BUCKET (repeating model 0): one
  # compilation serves grids of similar size; the metrics are cheap per model.
  padded = -(-num_models // MODEL_BUCKET) * MODEL_BUCKET
  pad = lambda a: np.concatenate([a, np.repeat(a[:1], padded - num_models, 0)])
  factor_sizes = tuple(int(s) for s in ds.factor_sizes)
  scores = stack_metrics(
    pad(enc["mu_train"]),
    samples.factors_train.astype(np.int32),
    pad(enc["mu_test"]),
    samples.factors_test.astype(np.int32),
    pad(mu_votes),
    which,
    functions=compiled_functions(),
    factor_sizes=factor_sizes,
    num_bins=int(options.num_bins),
    num_train_votes=num_train_votes,
  )
  # The host entries (the literature's DCI fits its trees, LightGBM) run while the
  # compiled metrics do (their dispatch above is asynchronous).

  def on_model(m):
    if m:
      on_progress(SCORING, 1)
    on_progress(f"{SCORING}: {_labels(entry.HOST)}, model {m + 1} of {num_models}", 0)

  host = host_scores(
    enc["mu_train"],
    samples.factors_train,
    enc["mu_test"],
    samples.factors_test,
    on_model=on_model,
    factor_sizes=factor_sizes,
    num_bins=int(options.num_bins),
  )
  on_progress(SCORING, 1)
  on_progress(
    f"{SCORING}: MI, " + _labels(entry.COMPILED, *((entry.VOTES,) if votes else ())), 0
  )
  scores = jax.tree.map(lambda a: np.asarray(a)[:num_models], scores)
  scores.update(host)
  if posterior is not None:
    on_progress(f"{SCORING}: posterior-aware MI", 0)
    key = jax.random.fold_in(jax.random.key(samples.seed), POSTERIOR_STREAM)
    post = stack_posterior_scores(
      enc["mu_posterior"],
      enc["logvar_posterior"],
      np.asarray(posterior[0], np.int32),
      key,
      factor_sizes=factor_sizes,
    )
    scores.update(jax.tree.map(np.asarray, post))
  return scores


def evaluate_stack(
  params,
  samples,
  ds,
  options: StackOptions,
  *,
  votes: Votes | None = None,
  posterior: tuple[np.ndarray, np.ndarray] | None = None,
  shared: np.ndarray | None = None,
  on_progress: Callable[[str, int], None] | None = None,
) -> tuple[list[ModelResult], StackTimes]:
  """Evaluates M models (stacked parameters) on one seed's samples.

  The metrics run once, vmapped over all M padded to a multiple of ``MODEL_BUCKET``
  (grids of similar size share one compilation).

  Args:
    params: parameter pytree with a leading model axis M (all finite).
    samples: :class:`lbvae.evaluation.samples.Samples` of the models' seed.
    ds: the dataset (``factor_sizes``, ``num_channels``).
    options: :class:`StackOptions`.
    votes: the seed's FactorVAE votes (:func:`draw_votes`); None leaves the score
      out. The first 2/3 train the majority-vote classifier, the rest score it;
      the train codes serve as the global sample.
    posterior: (factors int[N, F], images uint8[N, ...]) of the seed's stratified
      sample (``samples.draw_stratified``): adds the posterior-aware
      ``mig_posterior`` and ``im_posterior`` (:mod:`lbvae.metrics.posterior_mi`)
      and the ``mi_posterior`` matrix; None leaves them out.
    shared: uint8[N, 64, 64, C], the images every model of the pass encodes for
      UDR (``samples.draw_shared``); None leaves them out.
    on_progress: called as ``on_progress(stage, n)`` when n more models have
      finished the stage ``ENCODING`` or ``SCORING``, and with n = 0 to say what
      runs now (a stage and what of it, e.g. "scoring: DCI-D, DCI-C, DCI-I (accuracy),
      model 2 of 6": the host entries' labels).

  A dataset without factors gets NaN for every score that needs them
  (:func:`factor_scores`) and MI matrices of shape [L, 0].

  Returns:
    (M :class:`ModelResult` in the models' order, :class:`StackTimes`).
  """
  t0 = time.perf_counter()
  on_progress = on_progress or (lambda stage, n: None)
  on_progress(ENCODING, 0)
  enc = _encode_stack(
    params, samples, ds, options, votes, posterior, shared, on_progress
  )
  t1 = time.perf_counter()
  scores = _stack_scores(enc, samples, ds, options, votes, posterior, on_progress)
  times = StackTimes(encode=t1 - t0, metrics=time.perf_counter() - t1)
  kl = heldout.kl_per_latent(enc["mu_test"], enc["logvar_test"])  # [M, L]
  originals = samples.images_test[:NUM_RECONSTRUCTIONS].astype(np.float32) / 255.0
  out = []
  for m in range(len(kl)):
    s = {
      k: float(v[m])
      for k, v in scores.items()
      if k not in ("mi_matrix", "mi_posterior")
    }
    s["heldout_nll"] = float(enc["nll_test"][m].mean())
    s["heldout_kl"] = float(kl[m].sum())
    s["active_latents"] = int(heldout.active_latents(kl[m]))
    out.append(
      ModelResult(
        scores=s,
        mi=scores["mi_matrix"][m],
        mi_posterior=(scores["mi_posterior"][m] if "mi_posterior" in scores else None),
        kl_per_latent=kl[m],
        images=ModelImages(
          originals=originals, reconstructions=enc["rec"][m], traversals=enc["trav"][m]
        ),
        codes_train=enc["mu_train"][m],
        codes_test=enc["mu_test"][m],
        shared_codes=enc["mu_shared"][m] if shared is not None else None,
        shared_kl=(
          heldout.kl_per_latent(enc["mu_shared"][m], enc["logvar_shared"][m])
          if shared is not None
          else None
        ),
      )
    )
  return out, times

"""UDR, the Unsupervised Disentanglement Ranking: choosing models without labels.

Duan et al. (ICLR 2020), "Unsupervised Model Selection for Variational Disentangled
Representation Learning": models of one hyper-parameter setting that disentangle
find the same axis-aligned factors from every seed, up to permutation and sign,
while entangled models each mix them their own way. The score, as
disentanglement_lib's ``udr.py`` computes it (docs/method.md §5, "UDR"), for M models'
mean codes of the same N images:

1. standardise each model's latents (mean 0, std 1; a constant latent is only
   centred) and zero those whose mean KL to the prior is at most ``kl_threshold``
   (inactive);
2. for every ordered pair (i, j), i ≠ j, a similarity R [L, L] between i's latents
   (rows) and j's (columns): ``"lasso"`` -- |coefficients| of a Lasso (α = 0.1,
   scikit-learn's objective) regressing each of j's latents on all of i's;
   ``"spearman"`` -- |Spearman rank correlation| of each pair of latents (a
   perfect match scores 1 with Spearman and 1 − α = 0.9 with the Lasso, whose
   weight of a unit-variance copy is shrunk by α);
3. keep the rows active in i and the columns active in j; the pair's score is
   ½ [mean over columns of max²/sum + mean over rows of max²/sum], a 0/0 (a line of
   zeros) counting as 0, as does a NaN (Spearman's correlation of a constant
   latent) anywhere in a line;
4. model i's UDR is the median over j ≠ i of ``pairwise[j, i]``, the scores of the
   pairs in which i's code is the one predicted.

Where disentanglement_lib differs or stops: its pairwise matrix has 0 on the
diagonal (never computed), and so has ours; with one model the median is over
nothing and the score is NaN here; a pair in which a model has no active latent
raises an error there and scores 0 here; it zeroes latents at a fixed KL of 0.01
and filters at ``kl_filter_threshold``, where we use ``kl_threshold`` for both
(the same at the default 0.01).

Pure JAX (jit with ``correlation`` static; vmap-able over cells): the Lasso is the
coordinate descent of :func:`lbvae.metrics.dci_lasso.lasso_coefficients`.

Synopsis::

  scores = udr(codes, kl)                       # codes float[M, N, L], kl float[M, L]
  scores["model_scores"], scores["pairwise"]    # float32[M], float32[M, M]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lbvae import errors
from lbvae.metrics import entry
from lbvae.metrics.dci_lasso import lasso_coefficients
from lbvae.metrics.dci_lasso import standardise

CORRELATIONS = ("lasso", "spearman")
LASSO_ALPHA = 0.1  # disentanglement_lib's Lasso penalty


def average_ranks(values: jax.Array) -> jax.Array:
  """1-based ranks of each column, ties sharing their average rank (scipy's
  ``rankdata(method="average")``).

  Args:
    values: float[N, L].

  Returns:
    float32[N, L].
  """

  def column(v):
    ordered = jnp.sort(v)
    below = jnp.searchsorted(ordered, v, side="left")
    through = jnp.searchsorted(ordered, v, side="right")
    return (below + through + 1).astype(jnp.float32) / 2

  return jax.vmap(column, in_axes=1, out_axes=1)(values)


def spearman_matrix(a: jax.Array, b: jax.Array) -> jax.Array:
  """|Spearman correlation| of every latent of ``a`` with every latent of ``b``.

  Args:
    a: float[N, La]; b: float[N, Lb].

  Returns:
    float32[La, Lb]; NaN where a latent is constant (0/0, as scipy gives).
  """

  def centred(x):
    r = average_ranks(x)
    return r - r.mean(axis=0)

  ra, rb = centred(a), centred(b)
  norms = jnp.sqrt((ra**2).sum(axis=0))[:, None] * jnp.sqrt((rb**2).sum(axis=0))[None]
  return jnp.abs(ra.T @ rb / norms)


def lasso_matrix(a: jax.Array, b: jax.Array) -> jax.Array:
  """|Lasso coefficients| regressing each latent of ``b`` on all latents of ``a``.

  Args:
    a: float[N, La], centred; b: float[N, Lb], centred.

  Returns:
    float32[La, Lb]: column j holds the weights of ``b[:, j]``'s regression.
  """
  return jnp.abs(lasso_coefficients(a, b, alpha=LASSO_ALPHA))


def relative_strength(
  similarity: jax.Array, rows: jax.Array, cols: jax.Array
) -> jax.Array:
  """½ [mean over kept columns of max²/sum + mean over kept rows of max²/sum].

  Args:
    similarity: float[La, Lb], non-negative (NaN allowed).
    rows: bool[La], the rows kept; cols: bool[Lb], the columns kept.

  Returns:
    float32 scalar; a line whose ratio is 0/0 or NaN counts 0, and a side with no
    kept line contributes 0.
  """
  kept = jnp.where(rows[:, None] & cols[None, :], similarity, 0.0)

  def side(axis, keep):
    ratio = jnp.nan_to_num(kept.max(axis=axis) ** 2 / kept.sum(axis=axis), nan=0.0)
    count = keep.sum()
    return jnp.where(keep, ratio, 0.0).sum() / jnp.maximum(count, 1)

  return (side(0, cols) + side(1, rows)) / 2


def udr(
  codes: jax.Array,
  kl: jax.Array,
  *,
  correlation: str = "lasso",
  kl_threshold: float = 0.01,
) -> dict[str, jax.Array]:
  """UDR of M models of one hyper-parameter setting (see the module docstring).

  Args:
    codes: float[M, N, L], each model's mean codes of the same N images.
    kl: float[M, L], each model's mean KL to the prior per latent (nats).
    correlation: ``"lasso"`` or ``"spearman"`` (static under jit).
    kl_threshold: latents with mean KL at most this are inactive.

  Returns:
    ``{"model_scores": float32[M], "pairwise": float32[M, M]}``: ``pairwise[i, j]``
    is the score of the pair that predicts j's code from i's (0 on the diagonal);
    ``model_scores[i]`` the median of ``pairwise[j, i]`` over j ≠ i (NaN when
    M = 1).

  Raises:
    lbvae.errors.ConfigError: an unknown ``correlation``, or shapes that do not
      match.
  """
  errors.require(
    correlation in CORRELATIONS,
    f"correlation must be one of {', '.join(CORRELATIONS)}, got {correlation!r}",
  )
  codes = jnp.asarray(codes, jnp.float32)
  kl = jnp.asarray(kl, jnp.float32)
  errors.require(
    codes.ndim == 3 and kl.shape == (codes.shape[0], codes.shape[2]),
    f"udr needs codes float[M, N, L] and kl float[M, L]; got "
    f"{list(codes.shape)} and {list(kl.shape)}",
  )
  active = kl > kl_threshold  # [M, L]
  z = jax.vmap(lambda c: standardise(c, c)[0])(codes) * active[:, None, :]
  similarity = lasso_matrix if correlation == "lasso" else spearman_matrix

  def pair(i, j):
    return relative_strength(similarity(z[i], z[j]), active[i], active[j])

  index = jnp.arange(codes.shape[0])
  pairwise = jax.vmap(lambda i: jax.vmap(lambda j: pair(i, j))(index))(index)
  diagonal = jnp.eye(codes.shape[0], dtype=bool)
  pairwise = jnp.where(diagonal, 0.0, pairwise)
  scores = jnp.nanmedian(jnp.where(diagonal, jnp.nan, pairwise), axis=0)
  return {"model_scores": scores, "pairwise": pairwise}


# metrics.csv's UDR columns: (column, report label, the correlation it uses).
COLUMNS = (("udr", "UDR", "lasso"), ("udr_spearman", "UDR (Spearman)", "spearman"))
ENTRIES = tuple(
  entry.Entry(column, label, True, entry.CELLS, needs_factors=False)
  for column, label, _ in COLUMNS
)

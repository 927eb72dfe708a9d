"""Posterior-aware mutual information between latents and factors (Chen et al., 2018).

Chen, Li, Grosse, Duvenaud (2018), "Isolating Sources of Disentanglement in Variational
Autoencoders", §5: I(z_l; v_j) = H(z_l) − H(z_l | v_j) with z drawn from the encoder's
posterior q(z|x), not read off its mean (docs/method.md §4, "What lbvae adds"). Both
entropies are Monte Carlo estimates over N images x_n (a stratified sample,
``lbvae.evaluation.samples``), with ``num_draws`` draws z_l ~ q(z_l | x_n) each:

    log q(z_l)        ≈ logsumexp_m log q(z_l | x_m) − log N,
    log q(z_l | v_j)  ≈ logsumexp_{m: v_j(x_m) = v_j} log q(z_l | x_m) − log N_{v_j};

H is minus the mean log density over the draws, the conditional one weighted by the
empirical p(v). When q(z|x) is the same for every x the estimate is exactly 0; for a
Gaussian channel it converges to the channel's MI. Cost: O(num_draws · N² · L · (F + 1))
log-densities, one latent at a time (memory O(num_draws · N²)). Synopsis::

  mi = posterior_mutual_info(mu, logvar, factors, key, factor_sizes=sizes)   # [L, F]
  out = posterior_scores(mu, logvar, factors, key, factor_sizes=sizes)
  out["mig_posterior"], out["im_posterior"], out["mi_posterior"]
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp

from lbvae.metrics import im_score
from lbvae.metrics import entry
from lbvae.metrics import mutual_info_gap
from lbvae.metrics import mutual_info

LOG_2PI = math.log(2.0 * math.pi)


def _gaussian_log_density(z, mu, logvar):
  """log N(z; mu, exp(logvar)) for z float[A, 1] against components float[1, M]."""
  return -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 * jnp.exp(-logvar))


def posterior_mutual_info(
  mu: jax.Array,
  logvar: jax.Array,
  factors: jax.Array,
  key: jax.Array,
  *,
  factor_sizes: Sequence[int] | None = None,
  num_draws: int = 1,
) -> jax.Array:
  """Estimates I(z_l; v_j) for every latent and factor, with z ~ q(z|x).

  Args:
    mu: float[N, L] posterior means of N images.
    logvar: float[N, L] posterior log-variances.
    factors: int[N, F] the images' factor classes.
    key: PRNG key of the posterior draws.
    factor_sizes: classes per factor (static under jit/vmap; see
      :func:`lbvae.metrics.mutual_info.resolve_factor_sizes`).
    num_draws: draws of z per image.

  Returns:
    float32[L, F] MI estimates in nats, clipped at 0 (the Monte Carlo estimate of a
    zero MI scatters around 0).
  """
  mu, factors, sizes = mutual_info.resolve_inputs(mu, factors, factor_sizes)
  mu = jnp.asarray(mu, jnp.float32)
  logvar = jnp.asarray(logvar, jnp.float32)
  factors = jnp.asarray(factors, jnp.int32)
  n = mu.shape[0]
  eps = jax.random.normal(key, (num_draws,) + mu.shape, jnp.float32)
  z = (mu + jnp.exp(0.5 * logvar) * eps).reshape(num_draws * n, -1)  # [A, L]
  owner = jnp.tile(jnp.arange(n), num_draws)  # [A]
  draw_factors = factors[owner]  # [A, F]
  counts = [jnp.bincount(factors[:, j], length=k) for j, k in enumerate(sizes)]
  log_count = jnp.stack(
    [
      jnp.log(jnp.maximum(c[draw_factors[:, j]], 1)).astype(jnp.float32)
      for j, c in enumerate(counts)
    ]
  )  # [F, A]

  def one_latent(args):
    z_l, mu_l, logvar_l = args  # [A], [N], [N]
    log_p = _gaussian_log_density(z_l[:, None], mu_l[None, :], logvar_l[None, :])
    h = -jnp.mean(jax.nn.logsumexp(log_p, axis=1) - math.log(n))
    conditional = []
    for j in range(len(sizes)):
      same = draw_factors[:, j][:, None] == factors[None, :, j]  # [A, N]
      log_q = jax.nn.logsumexp(jnp.where(same, log_p, -jnp.inf), axis=1)
      conditional.append(-jnp.mean(log_q - log_count[j]))
    return h - jnp.stack(conditional)  # [F]

  mi = jax.lax.map(one_latent, (z.T, mu.T, logvar.T))  # [L, F]
  return jnp.maximum(mi, 0.0)


def posterior_scores(
  mu: jax.Array,
  logvar: jax.Array,
  factors: jax.Array,
  key: jax.Array,
  *,
  factor_sizes: Sequence[int] | None = None,
  num_draws: int = 1,
) -> dict[str, jax.Array]:
  """MIG and I_m on the posterior-aware MI matrix.

  Args:
    mu, logvar, factors, key, factor_sizes, num_draws: as for
      :func:`posterior_mutual_info`.

  Returns:
    ``mi_posterior`` float32[L, F]; ``mig_posterior`` float32[] (gaps normalised by
    the sample's factor entropies, as :func:`lbvae.metrics.mig`); ``im_posterior``
    float32[] (best one-to-one total, :func:`lbvae.metrics.im_from_mutual_info`).
  """
  mu, factors, sizes = mutual_info.resolve_inputs(mu, factors, factor_sizes)
  mi = posterior_mutual_info(
    mu, logvar, factors, key, factor_sizes=sizes, num_draws=num_draws
  )
  entropy = mutual_info.factor_entropy(factors, factor_sizes=sizes)
  return {
    "mi_posterior": mi,
    "mig_posterior": mutual_info_gap.mig_from_mutual_info(mi, entropy),
    "im_posterior": im_score.im_from_mutual_info(mi),
  }


def memory_bytes(num_samples: int, num_draws: int = 1) -> int:
  """Bytes :func:`posterior_mutual_info` holds at least for N samples: one latent's
  float32[A, N] log-densities (A = N * num_draws draws)."""
  return 4 * int(num_samples) * int(num_samples) * int(num_draws)


ENTRIES = (
  entry.Entry(
    "mig_posterior",
    "MIG (post.)",
    True,
    entry.POSTERIOR,
    leading=True,
    probe_label="MIG (posterior)",
  ),
  entry.Entry(
    "im_posterior",
    "I_m (post.)",
    True,
    entry.POSTERIOR,
    leading=True,
    probe_label="I_m (posterior), nats",
  ),
)

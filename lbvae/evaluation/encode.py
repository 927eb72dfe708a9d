"""Encoding evaluation images with a stack of models at once (arXiv 2602.09277, §4).

Parameters are stacked on a leading model axis and the encoder (and decoder) lifted
over it in one jitted function; images go in fixed-size batches (the last padded), so a
pass compiles once per model count. ``models_per_call`` sets the batching of the model
axis: ``lax.map`` with that many vmapped at a time, ``None`` vmaps all, ``"auto"`` is
all at once on GPU/TPU and one at a time on CPU (docs/performance.md); every choice
gives the same numbers. The layers are the trainer's (``model_impl="auto"``).
Codes are the posterior means μ(x) (docs/method.md §4). The held-out NLL is the
Bernoulli −log p(x | z), summed over pixels, of one sample z = μ + σ ε per image (the
training loss's estimator), ε keyed by (seed, image index) so a rerun gives the same
number; ``noise_seed=None`` decodes μ instead, a different measure.

Synopsis::

  out = encode.encode_models(params, images, latent_dim=10, num_channels=1,
                             batch_size=500, with_nll=True)
  out["mu"], out["logvar"], out["nll"]    # float32[M, N, L], [M, N, L], [M, N]
  rec, trav = encode.figure_images(params, images[:64], base, values, ...)
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lbvae import devices
from lbvae import losses
from lbvae import models
from lbvae.train import state as state_lib


HELDOUT_STREAM = 0x6E6C6C  # "nll": the held-out NLL's noise stream of a seed


def default_models_per_call(backend: str | None = None) -> int | None:
  """1 on CPU (sequential map over models), None (all at once) elsewhere; ``backend``:
  the one the pass is compiled for (None: the current one)."""
  return 1 if devices.on_cpu(backend) else None


def _over_models(fn, params, models_per_call):
  """``fn`` mapped over the leading axis of ``params`` (see module docstring)."""
  num = jax.tree.leaves(params)[0].shape[0]
  if models_per_call is None or models_per_call >= num:
    return jax.vmap(fn)(params)
  return jax.lax.map(fn, params, batch_size=models_per_call)


def noise_keys(seed: int, index) -> jax.Array:
  """PRNG keys of the held-out NLL's N(0, I) draws: key[B] for image index int[B].

  Keyed by the seed (in a stream of its own) and the image's position in the
  evaluation sample, so the draws do not depend on the batch size or on how models
  are grouped, and every model of a seed sees the same draws (common random numbers
  across β and λ).
  """
  base = jax.random.fold_in(jax.random.key(seed), HELDOUT_STREAM)
  return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(index))


@functools.partial(
  jax.jit,
  static_argnames=(
    "latent_dim",
    "num_channels",
    "with_nll",
    "sample",
    "models_per_call",
    "impl",
  ),
)
def encode_batch(
  params,
  x,
  seed,
  start,
  *,
  latent_dim,
  num_channels,
  with_nll,
  sample,
  models_per_call,
  impl,
):
  """One compiled encoder call, all models on one batch: params [M, ...], x
  uint8[B, H, W, C] (images ``start`` to ``start + B`` of the sample)."""
  model = models.VAE(latent_dim, num_channels, impl=impl)
  keys = noise_keys(seed, start + jnp.arange(x.shape[0]))
  x = losses.as_float_images(x)
  eps = jax.vmap(lambda k: jax.random.normal(k, (latent_dim,)))(keys)

  def one(p):
    mu, logvar = model.apply({"params": p}, x, method=models.VAE.encode)
    out = {"mu": mu, "logvar": logvar}
    if with_nll:
      z = mu + jnp.exp(0.5 * logvar) * eps if sample else mu
      logits = model.apply({"params": p}, z, method=models.VAE.decode)
      out["nll"] = losses.bernoulli_nll(logits, x)
    return out

  return _over_models(one, params, models_per_call)


def encode_models(
  params,
  images: np.ndarray,
  *,
  latent_dim: int,
  num_channels: int,
  batch_size: int,
  with_nll: bool = False,
  noise_seed: int | None = None,
  models_per_call: int | None | str = "auto",
  impl: str | None = None,
) -> dict[str, np.ndarray]:
  """Mean codes (and optionally reconstruction NLLs) of N images under M models.

  Args:
    params: the models' parameter pytree, every leaf with a leading axis M.
    images: uint8[N, 64, 64, C], values 0..255.
    latent_dim: latent size L of the models.
    num_channels: C.
    batch_size: images per compiled call (the last batch is padded).
    with_nll: also return each image's reconstruction NLL.
    noise_seed: with ``with_nll``: decode one reparameterised sample per image,
      drawn with :func:`noise_keys` (the training loss's estimator); None decodes the
      mean code instead.
    models_per_call: models vmapped together (None: all; "auto":
      :func:`default_models_per_call`).
    impl: formulation of the convolutions (``lbvae.models.IMPLS``); None: what the
      trainer's ``model_impl="auto"`` picks on this backend
      (:func:`lbvae.train.state.resolve_impl`: sub-pixel, reference on a TPU).

  Returns:
    {"mu": float32[M, N, L], "logvar": float32[M, N, L]} and, with ``with_nll``,
    {"nll": float32[M, N]} (nats, summed over pixels).
  """
  images = np.asarray(images)
  n = images.shape[0]
  if n == 0:
    raise ValueError("no images to encode")
  batch_size = max(1, min(int(batch_size), n))
  if models_per_call == "auto":
    models_per_call = default_models_per_call()
  chunks = []
  for start in range(0, n, batch_size):
    x = images[start : start + batch_size]
    pad = batch_size - x.shape[0]
    if pad:
      x = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
    out = encode_batch(
      params,
      x,
      0 if noise_seed is None else noise_seed,
      start,
      latent_dim=latent_dim,
      num_channels=num_channels,
      with_nll=with_nll,
      sample=noise_seed is not None,
      models_per_call=models_per_call,
      impl=impl or state_lib.resolve_impl("auto"),
    )
    chunks.append({k: np.asarray(v)[:, : batch_size - pad] for k, v in out.items()})
  return {k: np.concatenate([c[k] for c in chunks], axis=1) for k in chunks[0]}


@functools.partial(
  jax.jit, static_argnames=("latent_dim", "num_channels", "models_per_call", "impl")
)
def _figure_images(
  params, x, base, values, *, latent_dim, num_channels, models_per_call, impl
):
  model = models.VAE(latent_dim, num_channels, impl=impl)
  x = losses.as_float_images(x)
  eye = jnp.eye(latent_dim, dtype=jnp.float32)

  def one(args):
    p, z0 = args
    mu, _ = model.apply({"params": p}, x, method=models.VAE.encode)
    rec = jax.nn.sigmoid(model.apply({"params": p}, mu, method=models.VAE.decode))
    # codes[i, k] = z0 with latent i replaced by values[k]: float32[L, K, L].
    codes = (
      z0[None, None, :] * (1.0 - eye[:, None, :])
      + values[None, :, None] * eye[:, None, :]
    )
    flat = codes.reshape(-1, latent_dim)
    trav = jax.nn.sigmoid(model.apply({"params": p}, flat, method=models.VAE.decode))
    return rec, trav.reshape(codes.shape[:2] + trav.shape[1:])

  return _over_models(one, (params, base), models_per_call)


def figure_images(
  params,
  images: np.ndarray,
  base: np.ndarray,
  values: np.ndarray,
  *,
  latent_dim: int,
  num_channels: int,
  models_per_call: int | None | str = "auto",
  impl: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
  """Reconstructions and latent traversals for the per-model figures.

  Args:
    params: parameter pytree with a leading model axis M.
    images: uint8[K_rec, 64, 64, C] images to reconstruct (e.g. 64 test images).
    base: float32[M, L] each model's base code for the traversals.
    values: float32[K] values each latent takes in turn (e.g. −2.5 … 2.5); the
      other latents stay at the base code.
    latent_dim, num_channels: the models' shapes.
    models_per_call, impl: as in :func:`encode_models`.

  Returns:
    (reconstructions float32[M, K_rec, 64, 64, C] in [0, 1] (decoder means of the
    mean codes), traversals float32[M, L, K, 64, 64, C] in [0, 1]).
  """
  if models_per_call == "auto":
    models_per_call = default_models_per_call()
  rec, trav = _figure_images(
    params,
    np.asarray(images),
    jnp.asarray(base, jnp.float32),
    jnp.asarray(values, jnp.float32),
    latent_dim=latent_dim,
    num_channels=num_channels,
    models_per_call=models_per_call,
    impl=impl or state_lib.resolve_impl("auto"),
  )
  return np.asarray(rec), np.asarray(trav)

"""Vmapped encoding over a stack of models equals encoding model by model."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import pytrees
from lbvae import losses
from lbvae import models
from lbvae.evaluation import encode
from lbvae.metrics import heldout


@pytest.fixture(scope="module")
def stack():
  """Three different 4-latent models: (list of pytrees, stacked pytree).

  Random parameters of the right shapes (``eval_shape`` of the initialiser, which
  saves compiling a forward pass just to initialise).
  """
  shapes = jax.eval_shape(lambda: models.init_params(jax.random.key(0), latent_dim=4))
  rng = np.random.default_rng(0)

  def fill(leaf):
    fan_in = int(np.prod(leaf.shape[:-1])) if leaf.ndim > 1 else 100
    return jnp.asarray(rng.normal(0, fan_in**-0.5, (3,) + leaf.shape), jnp.float32)

  stacked = jax.tree.map(fill, shapes)
  per = [jax.tree.map(lambda x, m=m: x[m], stacked) for m in range(3)]
  return per, stacked


def _images(n, seed=0):
  rng = np.random.default_rng(seed)
  return (rng.random((n, 64, 64, 1)) > 0.8).astype(np.uint8) * 255


@pytest.mark.parametrize("models_per_call", [None, 1, 2])
def test_vmapped_encoding_equals_a_loop(stack, models_per_call):
  per, stacked = stack
  x = _images(7)
  out = encode.encode_models(
    stacked,
    x,
    latent_dim=4,
    num_channels=1,
    batch_size=4,
    with_nll=True,  # 2 batches, 1 padded
    models_per_call=models_per_call,
  )
  assert out["mu"].shape == (3, 7, 4) and out["nll"].shape == (3, 7)
  model = models.VAE(4, 1)
  xf = jnp.asarray(x, jnp.float32) / 255.0
  apply = jax.jit(model.apply, static_argnames="method")
  for m, p in enumerate(per):
    mu, logvar = apply({"params": p}, xf, method=models.VAE.encode)
    logits = apply({"params": p}, mu, method=models.VAE.decode)
    np.testing.assert_allclose(out["mu"][m], mu, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["logvar"][m], logvar, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
      out["nll"][m], losses.bernoulli_nll(logits, xf), rtol=1e-4
    )
  # The models differ, so a mix-up of the model axis would be caught.
  assert not np.allclose(out["mu"][0], out["mu"][1])


def test_heldout_nll_decodes_one_seeded_sample_per_image(stack):
  """noise_seed: image i decodes mu + sigma * eps_i, eps_i keyed by (seed, i)."""
  per, stacked = stack
  x = _images(7, seed=3)
  kw = dict(latent_dim=4, num_channels=1, with_nll=True, noise_seed=5)
  out = encode.encode_models(stacked, x, batch_size=4, **kw)
  again = encode.encode_models(stacked, x, batch_size=7, models_per_call=1, **kw)
  np.testing.assert_allclose(out["nll"], again["nll"], rtol=1e-5)  # any batching
  model = models.VAE(4, 1)
  apply = jax.jit(model.apply, static_argnames="method")
  xf = jnp.asarray(x, jnp.float32) / 255.0
  keys = encode.noise_keys(5, np.arange(7))
  eps = jnp.stack([jax.random.normal(k, (4,)) for k in keys])
  mu, logvar = apply({"params": per[2]}, xf, method=models.VAE.encode)
  logits = apply(
    {"params": per[2]}, mu + jnp.exp(0.5 * logvar) * eps, method=models.VAE.decode
  )
  np.testing.assert_allclose(out["nll"][2], losses.bernoulli_nll(logits, xf), rtol=1e-4)
  other = encode.encode_models(stacked, x, batch_size=4, **dict(kw, noise_seed=6))
  assert not np.allclose(other["nll"], out["nll"])


def test_figure_images_traverse_one_latent_at_a_time(stack):
  per, stacked = stack
  per, stacked = per[:2], jax.tree.map(lambda x: x[:2], stacked)
  x = _images(5, seed=1)
  base = np.random.default_rng(2).normal(size=(2, 4)).astype(np.float32)
  values = np.array([-2.0, 0.5, 2.0], np.float32)
  rec, trav = encode.figure_images(
    stacked, x, base, values, latent_dim=4, num_channels=1, models_per_call=None
  )
  assert rec.shape == (2, 5, 64, 64, 1) and trav.shape == (2, 4, 3, 64, 64, 1)
  model = models.VAE(4, 1)
  z = base[1].copy()
  z[2] = values[0]
  want = jax.nn.sigmoid(
    model.apply({"params": per[1]}, z[None], method=models.VAE.decode)
  )[0]
  np.testing.assert_allclose(trav[1, 2, 0], want, atol=1e-5)
  mu, _ = model.apply(
    {"params": per[0]}, jnp.asarray(x, jnp.float32) / 255.0, method=models.VAE.encode
  )
  want = jax.nn.sigmoid(model.apply({"params": per[0]}, mu, method=models.VAE.decode))
  np.testing.assert_allclose(rec[0], want, atol=1e-5)


def test_kl_per_latent_sums_to_the_loss_kl():
  rng = np.random.default_rng(0)
  mu, logvar = rng.normal(size=(2, 9, 4)), rng.normal(size=(2, 9, 4)) * 0.3
  kl = heldout.kl_per_latent(mu, logvar)
  want = np.stack(
    [np.asarray(losses.gaussian_kl(mu[m], logvar[m])).mean() for m in range(2)]
  )
  np.testing.assert_allclose(kl.sum(-1), want, rtol=1e-5)


def test_take_and_all_finite(stack):
  _, stacked = stack

  def poison(x):
    x = np.array(x)
    x[1, ..., 0] = np.nan
    return x

  leaves, tree = jax.tree.flatten(stacked)
  bad = jax.tree.unflatten(tree, [poison(leaves[0])] + leaves[1:])
  np.testing.assert_array_equal(pytrees.finite_rows(bad), [True, False, True])
  sub = pytrees.take(stacked, np.asarray([2, 0]))
  leaf, sub_leaf = jax.tree.leaves(stacked)[0], jax.tree.leaves(sub)[0]
  np.testing.assert_array_equal(sub_leaf[0], leaf[2])
  np.testing.assert_array_equal(sub_leaf[1], leaf[0])

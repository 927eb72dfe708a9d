"""all_metrics: one model eager and jitted, and a model axis by vmap."""

import functools

import jax
import numpy as np

from lbvae import metrics

SCALARS = (
  "mig",
  "sap",
  "im",
  "dci_lasso_disentanglement",
  "dci_lasso_completeness",
  "dci_lasso_informativeness",
)


def test_outputs_have_the_documented_shapes(scores, codes, factor_sizes):
  got = scores["mixed"]
  num_latents, num_factors = codes["mixed"][0].shape[1], len(factor_sizes)
  for key in SCALARS:
    assert got[key].shape == () and np.isfinite(got[key])
  for key in ("mi_matrix", "sap_scores", "dci_lasso_importance"):
    assert got[key].shape == (num_latents, num_factors)
  assert got["factor_entropy"].shape == (num_factors,)


def test_eager_equals_jitted(codes, split, scores, factor_sizes):
  z_train, z_test = codes["mixed"]
  eager = metrics.all_metrics(
    z_train, split[0], z_test, split[1], factor_sizes=factor_sizes
  )
  for key, value in eager.items():
    # Fusion changes float32 rounding; the LASSO stops at a 1e-7 step.
    np.testing.assert_allclose(
      value, scores["mixed"][key], rtol=1e-4, atol=1e-5, err_msg=key
    )


def test_vmap_over_models_equals_a_loop(codes, split, scores, factor_sizes):
  names = ("identity", "mixed", "random")
  z_train = np.stack([codes[name][0] for name in names])
  z_test = np.stack([codes[name][1] for name in names])
  evaluate = functools.partial(metrics.all_metrics, factor_sizes=factor_sizes)
  batched = jax.jit(jax.vmap(evaluate, in_axes=(0, None, 0, None)))(
    z_train, split[0], z_test, split[1]
  )
  for m, name in enumerate(names):
    for key, value in batched.items():
      np.testing.assert_allclose(
        value[m], scores[name][key], rtol=1e-4, atol=1e-5, err_msg=f"{name}/{key}"
      )

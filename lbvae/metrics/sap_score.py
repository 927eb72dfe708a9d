"""Separated Attribute Predictability (SAP), discrete-factor version.

Kumar, Sattigeri, Balakrishnan (2018), "Variational Inference of Disentangled Latent
Concepts from Unlabeled Observations"; docs/method.md §4. For every latent z_i and factor v_j,
fit a linear SVM on the single feature z_i (C = 0.01, balanced class weights,
squared hinge, one-vs-rest — scikit-learn's ``LinearSVC`` settings, solved exactly in
JAX by :mod:`lbvae.metrics.linear_svm`) on the train part and score it by accuracy
on the test part. SAP is the mean over factors of the gap between the best and the
second-best latent's accuracy.

Synopsis::

  score = sap(z_train, v_train, z_test, v_test, factor_sizes=(3, 6, 40, 32, 32))
  acc = sap_score_matrix(z_train, v_train, z_test, v_test, factor_sizes=sizes)  # [L, F]
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from lbvae.metrics import linear_svm
from lbvae.metrics import mutual_info
from lbvae.metrics.mutual_info_gap import top_two_gaps


def sap_score_matrix(
  latents_train: jax.Array,
  factors_train: jax.Array,
  latents_test: jax.Array,
  factors_test: jax.Array,
  *,
  factor_sizes: Sequence[int] | None = None,
  c: float = 0.01,
) -> jax.Array:
  """Test accuracy of a one-feature linear SVM for every (latent, factor) pair.

  Args:
    latents_train: float[N, L] codes the SVMs are fitted on.
    factors_train: int[N, F] class indices of the train part.
    latents_test: float[M, L] codes the SVMs are scored on.
    factors_test: int[M, F] class indices of the test part.
    factor_sizes: number of classes per factor (static under jit/vmap; see
      :func:`lbvae.metrics.mutual_info.resolve_factor_sizes`).
    c: the SVM cost C.

  Returns:
    float32[L, F] accuracies in [0, 1].
  """
  latents_test, factors_test, _ = mutual_info.resolve_inputs(
    latents_test, factors_test, factor_sizes
  )
  latents_train, factors_train, sizes = mutual_info.resolve_inputs(
    latents_train, factors_train, factor_sizes
  )
  fit = linear_svm.fit_one_feature_svms(
    latents_train, factors_train, num_classes=max(sizes), c=c
  )
  predicted = linear_svm.predict_one_feature_svms(fit, latents_test)  # [L, F, M]
  truth = jnp.asarray(factors_test, jnp.int32).T[None]  # [1, F, M]
  return (predicted == truth).mean(axis=-1, dtype=jnp.float32)


def sap_from_scores(score_matrix: jax.Array) -> jax.Array:
  """Mean over factors of (best − second-best) latent score.

  Args:
    score_matrix: float[L, F]. With a single latent the second-best is taken as 0.

  Returns:
    float32 scalar.
  """
  return top_two_gaps(jnp.asarray(score_matrix, jnp.float32)).mean()


def sap(
  latents_train: jax.Array,
  factors_train: jax.Array,
  latents_test: jax.Array,
  factors_test: jax.Array,
  *,
  factor_sizes: Sequence[int] | None = None,
  c: float = 0.01,
) -> jax.Array:
  """SAP score of a code (see :func:`sap_score_matrix` for the arguments).

  Returns:
    float32 scalar in [0, 1].
  """
  return sap_from_scores(
    sap_score_matrix(
      latents_train,
      factors_train,
      latents_test,
      factors_test,
      factor_sizes=factor_sizes,
      c=c,
    )
  )

"""DCI with E&W's LASSO predictor: a named variant (the default: :mod:`~lbvae.metrics.dci`).

Eastwood & Williams (2018), "A Framework for the Quantitative Evaluation of
Disentangled Representations" (ICLR), in pure JAX (jit- and vmap-able). Latents and
factors (class indices as ordinal values) are standardised with the train part's mean
and std; each factor is regressed on all latents under ``sklearn.linear_model.Lasso``'s
objective (1 / 2N) ‖v_j − Z w_j‖² + α ‖w_j‖₁, solved by cyclic coordinate descent on
the Gram matrix Zᵀ Z / N, and R = |W| (+ 1e-11 before normalising). Then
D = Σ_i ρ_i (1 − H_F(P_i·)) with P_ij = R_ij / Σ_k R_ik, ρ_i = Σ_j R_ij / Σ R;
C = mean_j (1 − H_L(R_·j / Σ_k R_kj)) (E&W's uniform mean); I = the test NRMSE,
‖v_j − Z_test w_j‖ / √M in train-standardised units (≈ 1 for an uninformative code;
lower is better). Read D and C with I: for a code with no information a few spurious
weights near α decide them (a random code can show D ≈ 0.7; docs/method.md §4).

Synopsis::

  scores = dci_lasso(z_train, v_train, z_test, v_test)   # dict of scalars and R
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lbvae.metrics.dci_importance import disentanglement_completeness


def standardise(train: jax.Array, test: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Both parts standardised with the train part's mean and std (ddof 0), as
  scikit-learn's ``StandardScaler``: a constant column is centred, not scaled.

  Args:
    train: float[N, D]; test: float[M, D].

  Returns:
    (float32[N, D], float32[M, D]).
  """
  train = jnp.asarray(train, jnp.float32)
  mean = train.mean(axis=0)
  std = train.std(axis=0)
  std = jnp.where(std > 0, std, 1.0)
  return (train - mean) / std, (jnp.asarray(test, jnp.float32) - mean) / std


def lasso_coefficients(
  inputs: jax.Array,
  targets: jax.Array,
  *,
  alpha: float = 0.02,
  max_sweeps: int = 2000,
  tol: float = 1e-7,
) -> jax.Array:
  """LASSO weights for centred inputs and targets, by cyclic coordinate descent.

  Minimises (1 / 2N) ‖targets[:, j] − inputs @ W[:, j]‖² + alpha ‖W[:, j]‖₁ for
  each j (all targets at once; each coordinate update is exact). A zero input
  column gets a zero weight.

  Args:
    inputs: float[N, L], centred.
    targets: float[N, F], centred.
    alpha: L1 penalty.
    max_sweeps: most passes over the L coordinates.
    tol: stop once a sweep changes no weight by more than tol.

  Returns:
    float32[L, F] weights W.
  """
  n = inputs.shape[0]
  gram = inputs.T @ inputs / n  # [L, L]
  cross = inputs.T @ targets / n  # [L, F]
  diag = jnp.diag(gram)

  def update(k, weights):
    residual = cross[k] - gram[k] @ weights + diag[k] * weights[k]
    shrunk = jnp.sign(residual) * jnp.maximum(jnp.abs(residual) - alpha, 0.0)
    usable = diag[k] > 0
    scaled = shrunk / jnp.where(usable, diag[k], 1.0)
    return weights.at[k].set(jnp.where(usable, scaled, 0.0))

  def sweep(state):
    weights, _, count = state
    new = jax.lax.fori_loop(0, gram.shape[0], update, weights)
    return new, jnp.max(jnp.abs(new - weights)), count + 1

  keep_going = lambda state: (state[1] > tol) & (state[2] < max_sweeps)
  start = jnp.zeros(cross.shape, jnp.float32)
  weights, _, _ = jax.lax.while_loop(
    keep_going, sweep, (start, jnp.float32(jnp.inf), 0)
  )
  return weights


def dci_lasso(
  latents_train: jax.Array,
  factors_train: jax.Array,
  latents_test: jax.Array,
  factors_test: jax.Array,
  *,
  alpha: float = 0.02,
) -> dict[str, jax.Array]:
  """DCI scores of a code with a LASSO predictor.

  Args:
    latents_train: float[N, L] codes the predictors are fitted on.
    factors_train: int[N, F] class indices (used as ordinal regression targets).
    latents_test: float[M, L] codes the predictors are scored on.
    factors_test: int[M, F] class indices of the test part.
    alpha: the LASSO penalty.

  Returns:
    dict with float32 scalars ``disentanglement``, ``completeness``,
    ``informativeness`` (test NRMSE, lower is better) and float32[L, F] ``importance``.
  """
  z_train, z_test = standardise(latents_train, latents_test)
  v_train, v_test = standardise(factors_train, factors_test)
  weights = lasso_coefficients(z_train, v_train, alpha=alpha)
  error = jnp.sqrt(jnp.mean(jnp.square(v_test - z_test @ weights), axis=0))
  importance = jnp.abs(weights)
  d, c = disentanglement_completeness(importance, uniform_completeness=True)
  return {
    "disentanglement": d,
    "completeness": c,
    "informativeness": error.mean(),
    "importance": importance,
  }

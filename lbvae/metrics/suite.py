"""All array metrics of one model in one jit-able call (the evaluation pass's unit).

Computes, from the docs/method.md §4 train/test split of one model's codes: the MI matrix and
MIG (Chen et al., 2018) and I_m (arXiv 2602.09277) on the train part, SAP (Kumar et
al., 2018) fitted on train and scored on test, and DCI (Eastwood & Williams, 2018)
with E&W's LASSO predictor (``dci_lasso_*``). The literature's DCI
(gradient-boosted trees, :func:`lbvae.metrics.dci`) fits LightGBM on the host and
the FactorVAE score needs fresh dataset samples: both are called beside this one.

Synopsis (a model axis is one ``vmap``, applied where the metrics are called)::

  evaluate = functools.partial(all_metrics, factor_sizes=dataset.factor_sizes)
  per_model = jax.jit(jax.vmap(evaluate, in_axes=(0, None, 0, None)))
  scores = per_model(z_train, v_train, z_test, v_test)  # z_*: [models, N, L]

Use ``in_axes=0`` for the factors too when each model has its own evaluation sample
(e.g. one sample per seed).
"""

from __future__ import annotations

from typing import Sequence

import jax

from lbvae.metrics import mutual_info
from lbvae.metrics import entry
from lbvae.metrics.dci_lasso import dci_lasso
from lbvae.metrics.im_score import im_from_mutual_info
from lbvae.metrics.mutual_info_gap import mig_from_mutual_info
from lbvae.metrics.sap_score import sap_from_scores
from lbvae.metrics.sap_score import sap_score_matrix


def all_metrics(
  latents_train: jax.Array,
  factors_train: jax.Array,
  latents_test: jax.Array,
  factors_test: jax.Array,
  *,
  factor_sizes: Sequence[int],
  num_bins: int = 20,
  sap_c: float = 0.01,
  dci_alpha: float = 0.02,
) -> dict[str, jax.Array]:
  """MIG, SAP, I_m, DCI and the matrices behind them, for one model.

  Args:
    latents_train: float[N, L] codes of the train part (e.g. encoder means).
    factors_train: int[N, F] class indices of the train part.
    latents_test: float[M, L] codes of the test part.
    factors_test: int[M, F] class indices of the test part.
    factor_sizes: number of classes per factor (static).
    num_bins: equal-width bins per latent for the MI estimate.
    sap_c: the SAP SVMs' cost C.
    dci_alpha: the DCI LASSO penalty.

  Returns:
    dict with float32 scalars ``mig``, ``sap``, ``im``, ``dci_lasso_disentanglement``,
    ``dci_lasso_completeness``, ``dci_lasso_informativeness`` (test NRMSE, lower is
    better) and
    the float32 matrices ``mi_matrix`` [L, F] (nats), ``factor_entropy`` [F] (nats),
    ``sap_scores`` [L, F] (test accuracies) and ``dci_lasso_importance`` [L, F].
  """
  latents_test, factors_test, _ = mutual_info.resolve_inputs(
    latents_test, factors_test, factor_sizes
  )
  latents_train, factors_train, sizes = mutual_info.resolve_inputs(
    latents_train, factors_train, factor_sizes
  )
  mi = mutual_info.mutual_info_matrix(
    latents_train, factors_train, num_bins=num_bins, factor_sizes=sizes
  )
  entropy = mutual_info.factor_entropy(factors_train, factor_sizes=sizes)
  sap_scores = sap_score_matrix(
    latents_train,
    factors_train,
    latents_test,
    factors_test,
    factor_sizes=sizes,
    c=sap_c,
  )
  dci_scores = dci_lasso(
    latents_train, factors_train, latents_test, factors_test, alpha=dci_alpha
  )
  return {
    "mig": mig_from_mutual_info(mi, entropy),
    "sap": sap_from_scores(sap_scores),
    "im": im_from_mutual_info(mi),
    "dci_lasso_disentanglement": dci_scores["disentanglement"],
    "dci_lasso_completeness": dci_scores["completeness"],
    "dci_lasso_informativeness": dci_scores["informativeness"],
    "mi_matrix": mi,
    "factor_entropy": entropy,
    "sap_scores": sap_scores,
    "dci_lasso_importance": dci_scores["importance"],
  }


# The scores of one all_metrics call (the pass's compiled unit).
ENTRIES = (
  entry.Entry(
    "mig",
    "MIG",
    True,
    entry.COMPILED,
    nan_if_diverged=True,
    leading=True,
    paper=True,
    probe_label="MIG (binned μ)",
    compute=all_metrics,
  ),
  entry.Entry(
    "sap",
    "SAP",
    True,
    entry.COMPILED,
    nan_if_diverged=True,
    leading=True,
    paper=True,
    compute=all_metrics,
  ),
  entry.Entry(
    "im",
    "I_m",
    True,
    entry.COMPILED,
    nan_if_diverged=True,
    leading=True,
    paper=True,
    probe_label="I_m (binned μ), nats",
    compute=all_metrics,
  ),
  entry.Entry(
    "dci_lasso_disentanglement", None, True, entry.COMPILED, compute=all_metrics
  ),
  entry.Entry(
    "dci_lasso_completeness", None, True, entry.COMPILED, compute=all_metrics
  ),
  entry.Entry(
    "dci_lasso_informativeness", None, False, entry.COMPILED, compute=all_metrics
  ),
)

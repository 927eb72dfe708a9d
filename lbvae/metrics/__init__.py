"""Disentanglement metrics as pure JAX functions over arrays (arXiv 2602.09277, §4).

One module per metric, each citing its paper: :mod:`~lbvae.metrics.mutual_info` (binned
MI matrix, factor entropies), :mod:`~lbvae.metrics.mutual_info_gap` (MIG),
:mod:`~lbvae.metrics.attribute_predictability` (SAP, on the exact JAX SVMs of
:mod:`~lbvae.metrics.linear_svm`), :mod:`~lbvae.metrics.best_assignment` (I_m),
:mod:`~lbvae.metrics.posterior_mi` (MI of z ~ q(z|x), its MIG and I_m),
:mod:`~lbvae.metrics.dci` (DCI with gradient-boosted trees, on the host) and
:mod:`~lbvae.metrics.dci_lasso` (its LASSO variant), :mod:`~lbvae.metrics.majority_vote`
(the FactorVAE score), :mod:`~lbvae.metrics.suite` (:func:`all_metrics`, every jit-able
score at once), and, needing no factors, :mod:`~lbvae.metrics.disentanglement_ranking`
(:func:`udr`, the agreement of M seeds' codes: float[M, N, L] and KL float[M, L]). One calling convention: codes float[N, L], then factors int[N, F] (class
indices in [0, factor_sizes[j]); else :class:`lbvae.errors.DataError`), hyper-parameters
keyword-only; classifier scores fit on a train part, score a test part. All but the tree
DCI are written for one model, jit, and vmap over models (``factor_sizes`` is static)::

  scores = metrics.all_metrics(z_train, v_train, z_test, v_test,
                               factor_sizes=(3, 6, 40, 32, 32))
  grid = jax.jit(jax.vmap(functools.partial(metrics.all_metrics, factor_sizes=sizes),
                          in_axes=(0, None, 0, None)))
"""

from lbvae.metrics.dci import dci
from lbvae.metrics.dci_importance import disentanglement_completeness
from lbvae.metrics.dci import tree_importance
from lbvae.metrics.dci_lasso import dci_lasso
from lbvae.metrics.best_assignment import im
from lbvae.metrics.best_assignment import im_from_mutual_info
from lbvae.metrics.majority_vote import factor_vae_inputs
from lbvae.metrics.majority_vote import factor_vae_score
from lbvae.metrics.mutual_info_gap import mig
from lbvae.metrics.mutual_info_gap import mig_from_mutual_info
from lbvae.metrics.mutual_info_gap import top_two_gaps
from lbvae.metrics.mutual_info import discretize
from lbvae.metrics.mutual_info import factor_entropy
from lbvae.metrics.mutual_info import mutual_info_matrix
from lbvae.metrics.posterior_mi import posterior_mutual_info
from lbvae.metrics.posterior_mi import posterior_scores
from lbvae.metrics.attribute_predictability import sap
from lbvae.metrics.attribute_predictability import sap_from_scores
from lbvae.metrics.attribute_predictability import sap_score_matrix
from lbvae.metrics.suite import all_metrics
from lbvae.metrics.disentanglement_ranking import udr

__all__ = [
    "all_metrics",
    "dci",
    "dci_lasso",
    "discretize",
    "disentanglement_completeness",
    "factor_entropy",
    "factor_vae_inputs",
    "factor_vae_score",
    "im",
    "im_from_mutual_info",
    "mig",
    "mig_from_mutual_info",
    "top_two_gaps",
    "tree_importance",
    "mutual_info_matrix",
    "posterior_mutual_info",
    "posterior_scores",
    "sap",
    "sap_from_scores",
    "sap_score_matrix",
    "udr",
]

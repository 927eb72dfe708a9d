"""Disentanglement metrics as pure JAX functions over arrays (arXiv 2602.09277, §4).

One module per metric, each citing its paper:

- :mod:`~lbvae.metrics.mutual_info` — binned plug-in MI matrix and factor entropies;
- :mod:`~lbvae.metrics.mutual_info_gap` — MIG (Chen et al., 2018);
- :mod:`~lbvae.metrics.attribute_predictability` — SAP (Kumar et al., 2018) on the
  exact JAX linear SVMs of :mod:`~lbvae.metrics.linear_svm`;
- :mod:`~lbvae.metrics.best_assignment` — I_m, the best one-to-one total MI
  (arXiv 2602.09277);
- :mod:`~lbvae.metrics.posterior_mi` — MI with z drawn from q(z|x) (Chen et al., 2018),
  and the MIG / I_m on it;
- :mod:`~lbvae.metrics.dci` — DCI (Eastwood & Williams, 2018) with disentanglement_lib's
  gradient-boosted trees (LightGBM, on the host); :mod:`~lbvae.metrics.dci_lasso`
  — E&W's LASSO variant in JAX;
- :mod:`~lbvae.metrics.majority_vote` — the FactorVAE score (Kim & Mnih, 2018), a
  majority-vote classifier's accuracy;
- :mod:`~lbvae.metrics.suite` — :func:`all_metrics`, every jit-able score at once.

One calling convention: codes first, then factor classes, hyper-parameters keyword-only::

  mig(latents, factors, *, num_bins=20, factor_sizes=...)          # float32[]
  im(latents, factors, *, num_bins=20, factor_sizes=...)           # float32[] nats
  sap(latents_train, factors_train, latents_test, factors_test, *, factor_sizes=...)
  dci(latents_train, factors_train, latents_test, factors_test, *, predictor="trees")

(the classifier-based scores fit on a train part and score a test part). Codes are
float[N, L], factors int[N, F] class indices in [0, factor_sizes[j]) (any array-like;
anything else raises :class:`lbvae.errors.DataError`). Every function but the tree DCI
is written for one model, is jit-able, and lifts to a model axis with ``jax.vmap``.
Factor class counts must be static under jit: pass ``factor_sizes``. Synopsis::

  from lbvae import metrics

  scores = metrics.all_metrics(z_train, v_train, z_test, v_test,
                               factor_sizes=(3, 6, 40, 32, 32))
  grid = jax.jit(jax.vmap(functools.partial(metrics.all_metrics, factor_sizes=sizes),
                          in_axes=(0, None, 0, None)))
"""

from lbvae.metrics.dci import dci
from lbvae.metrics.dci import disentanglement_completeness
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
]

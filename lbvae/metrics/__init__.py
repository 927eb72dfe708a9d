"""Disentanglement metrics as pure JAX functions over arrays (SPEC §4).

One module per metric, each citing its paper:

- :mod:`~lbvae.metrics.mutual_info` — binned plug-in MI matrix and factor entropies;
- :mod:`~lbvae.metrics.mig` — MIG (Chen et al., 2018);
- :mod:`~lbvae.metrics.sap` — SAP (Kumar et al., 2018) on the exact JAX linear SVMs of
  :mod:`~lbvae.metrics.linear_svm`;
- :mod:`~lbvae.metrics.im` — I_m, the best one-to-one total MI (arXiv 2602.09277);
- :mod:`~lbvae.metrics.dci` — DCI with a LASSO predictor (Eastwood & Williams, 2018);
- :mod:`~lbvae.metrics.factor_vae` — the FactorVAE score (Kim & Mnih, 2018);
- :mod:`~lbvae.metrics.suite` — :func:`all_metrics`, everything but FactorVAE at once.

Every function is written for one model, is jit-able, and lifts to a model axis with
``jax.vmap``. Factor class counts are static: pass ``factor_sizes``. Synopsis::

  from lbvae import metrics

  scores = metrics.all_metrics(z_train, v_train, z_test, v_test,
                               factor_sizes=(3, 6, 40, 32, 32))
  grid = jax.jit(jax.vmap(functools.partial(metrics.all_metrics, factor_sizes=sizes),
                          in_axes=(0, None, 0, None)))
"""

from lbvae.metrics.dci import dci
from lbvae.metrics.dci import disentanglement_completeness
from lbvae.metrics.factor_vae import factor_vae_inputs
from lbvae.metrics.factor_vae import factor_vae_score
from lbvae.metrics.im import im_score
from lbvae.metrics.mig import mig
from lbvae.metrics.mig import mig_from_mutual_info
from lbvae.metrics.mutual_info import discretize
from lbvae.metrics.mutual_info import factor_entropy
from lbvae.metrics.mutual_info import mutual_info_matrix
from lbvae.metrics.sap import sap
from lbvae.metrics.sap import sap_from_scores
from lbvae.metrics.sap import sap_score_matrix
from lbvae.metrics.suite import all_metrics

__all__ = [
    "all_metrics",
    "dci",
    "discretize",
    "disentanglement_completeness",
    "factor_entropy",
    "factor_vae_inputs",
    "factor_vae_score",
    "im_score",
    "mig",
    "mig_from_mutual_info",
    "mutual_info_matrix",
    "sap",
    "sap_from_scores",
    "sap_score_matrix",
]

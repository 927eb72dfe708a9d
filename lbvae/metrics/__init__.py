"""Disentanglement metrics as pure JAX functions over arrays (arXiv 2602.09277, §4).

One module per metric, each citing its paper: :mod:`~lbvae.metrics.mutual_info`
(binned MI matrix, factor entropies), :mod:`~lbvae.metrics.mutual_info_gap` (MIG),
:mod:`~lbvae.metrics.sap_score` (SAP, on the exact JAX SVMs of
:mod:`~lbvae.metrics.linear_svm`), :mod:`~lbvae.metrics.im_score` (I_m),
:mod:`~lbvae.metrics.posterior_mi` (MI of z ~ q(z|x), its MIG and I_m),
:mod:`~lbvae.metrics.dci` (DCI with gradient-boosted trees, on the host) and
:mod:`~lbvae.metrics.dci_lasso` (its LASSO variant),
:mod:`~lbvae.metrics.factor_vae_metric` (the FactorVAE score),
:mod:`~lbvae.metrics.suite` (:func:`all_metrics`, every jit-able score at once), and,
needing no factors, :mod:`~lbvae.metrics.disentanglement_ranking` (:func:`udr`, the
agreement of M seeds' codes: float[M, N, L] and KL float[M, L]).

One calling convention: codes float[N, L], then factors int[N, F] (class
indices in [0, factor_sizes[j]); else :class:`lbvae.errors.DataError`), hyper-parameters
keyword-only; classifier scores fit on a train part, score a test part. All but the tree
DCI are written for one model, jit, and vmap over models (``factor_sizes`` is static)::

  scores = metrics.all_metrics(z_train, v_train, z_test, v_test,
                               factor_sizes=(3, 6, 40, 32, 32))
  grid = jax.jit(jax.vmap(functools.partial(metrics.all_metrics, factor_sizes=sizes),
                          in_axes=(0, None, 0, None)))
"""

from lbvae import errors
from lbvae.metrics import disentanglement_ranking
from lbvae.metrics import heldout
from lbvae.metrics import factor_vae_metric
from lbvae.metrics import posterior_mi
from lbvae.metrics import suite
from lbvae.metrics.dci import ENTRIES as _TREE_DCI
from lbvae.metrics.dci import dci
from lbvae.metrics.dci_importance import disentanglement_completeness
from lbvae.metrics.dci import tree_importance
from lbvae.metrics.dci_lasso import dci_lasso
from lbvae.metrics.im_score import im
from lbvae.metrics.im_score import im_from_mutual_info
from lbvae.metrics.factor_vae_metric import factor_vae_inputs
from lbvae.metrics.factor_vae_metric import factor_vae_score
from lbvae.metrics.mutual_info_gap import mig
from lbvae.metrics.mutual_info_gap import mig_from_mutual_info
from lbvae.metrics.mutual_info_gap import top_two_gaps
from lbvae.metrics.mutual_info import discretize
from lbvae.metrics.mutual_info import factor_entropy
from lbvae.metrics.mutual_info import mutual_info_matrix
from lbvae.metrics.posterior_mi import posterior_mutual_info
from lbvae.metrics.posterior_mi import posterior_scores
from lbvae.metrics.sap_score import sap
from lbvae.metrics.sap_score import sap_from_scores
from lbvae.metrics.sap_score import sap_score_matrix
from lbvae.metrics.suite import all_metrics
from lbvae.metrics.disentanglement_ranking import udr
from lbvae.metrics.entry import Entry

# The registry: every score of metrics.csv, in the order of the report's tables. The
# pass, the tables, the report, the selection views, the collapse probe and curves
# and the cache read it (lbvae.metrics.entry); a new metric is a module that ends
# with its ENTRIES and one line here.
_ENTRIES = (
  *heldout.ENTRIES,
  *suite.ENTRIES,
  *posterior_mi.ENTRIES,
  *_TREE_DCI,
  *factor_vae_metric.ENTRIES,
  *disentanglement_ranking.ENTRIES,
)


def entries(*runs: str) -> tuple[Entry, ...]:
  """The registry's entries, in order; only those that run where ``runs`` says
  (:data:`lbvae.metrics.entry.RUNS`) when any are given."""
  return tuple(e for e in _ENTRIES if not runs or e.runs in runs)


def names(*runs: str) -> tuple[str, ...]:
  """The ``metrics.csv`` columns of :func:`entries`."""
  return tuple(e.name for e in entries(*runs))


def find(name: str) -> Entry:
  """The entry of column ``name``.

  Raises:
    lbvae.errors.ConfigError: no entry has that name.
  """
  found = {e.name: e for e in _ENTRIES}
  errors.require(
    name in found, f"no metric is called {name!r}; the registry has {', '.join(found)}"
  )
  return found[name]


__all__ = [
  "Entry",
  "all_metrics",
  "dci",
  "dci_lasso",
  "discretize",
  "entries",
  "find",
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
  "names",
  "posterior_mutual_info",
  "posterior_scores",
  "sap",
  "sap_from_scores",
  "sap_score_matrix",
  "udr",
]

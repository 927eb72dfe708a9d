"""What the evaluation knows of a score: one :class:`Entry` per ``metrics.csv`` column.

Each metric module ends with its ``ENTRIES``; :mod:`lbvae.metrics` lists them in one
registry (``metrics.entries()``), and the pass, its tables, the report, the selection
views, the collapse probe and curves, the released-model comparison and the cache
read it (docs/library.md, "Adding a metric"). Where an entry runs (:data:`RUNS`):

==============  ============================================================  ============
``compiled``    inside the pass's vmapped, jit-compiled call, from one model's  ``compute``
                codes and factors (the codes cache can score it again)
``host``        on the host, one model at a time, from the same arrays          ``compute``
``encoder``     from the encoding of the test part (held-out NLL, KL)          the pass
``votes``       from the FactorVAE votes' codes (``eval.factor_vae_votes``)     the pass
``posterior``   from the stratified sample's q(z|x) (``eval.posterior_samples``) the pass
``cells``       across a cell's seeds, when the tables are written (UDR)        the tables
==============  ============================================================  ============

``compute(codes_train, factors_train, codes_test, factors_test, *, factor_sizes,
num_bins)`` takes float[N, L], int[N, F], float[M, L], int[M, F] and returns
{column: scalar} (a ``compiled`` one may add ``mi_matrix`` float[L, F]).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

COMPILED, HOST, ENCODER, VOTES, POSTERIOR, CELLS = (
  "compiled",
  "host",
  "encoder",
  "votes",
  "posterior",
  "cells",
)
RUNS = (COMPILED, HOST, ENCODER, VOTES, POSTERIOR, CELLS)
# Where the pass can score an entry again from a model's cached codes alone.
FROM_CODES = (COMPILED, HOST)


@dataclasses.dataclass(frozen=True)
class Entry:
  """One score, as the registry lists it.

  Attributes:
    name: its ``metrics.csv`` column (``<name>_mean``, ``<name>_std`` in
      ``summary.csv``).
    label: report.md's header of it, or None: not in the report's tables.
    higher_is_better: its direction (None: neither, e.g. a count).
    runs: where it is computed, one of :data:`RUNS`.
    needs_factors: NaN for a dataset without ground-truth factors.
    nan_if_diverged: a diverged model's row holds it as NaN (else only the
      scores its cache entry has).
    leading: placed right after the training means in ``metrics.csv`` and
      ``summary.csv``, in registry order (the others follow in the order the
      pass computes them).
    paper: one of the paper's three scores (arXiv 2602.09277, §4): the selection
      views plot it, the report's reading follows its β trend, the released
      models' comparison shows it (their metrics files use the same name).
    probe_label: the collapse curves' axis label of the trainer's collapse probe
      column (``phaseN/collapse.csv``; :mod:`lbvae.train.collapse`), or None:
      not probed.
    compute: for ``compiled`` and ``host`` entries, the function of the module
      docstring (entries computed together share one); None for the others.
  """

  name: str
  label: str | None
  higher_is_better: bool | None
  runs: str
  needs_factors: bool = True
  nan_if_diverged: bool = False
  leading: bool = False
  paper: bool = False
  probe_label: str | None = None
  compute: Callable[..., dict] | None = None

  def __post_init__(self):
    if self.runs not in RUNS:
      raise ValueError(
        f"metric {self.name!r}: runs must be one of {RUNS}, got {self.runs!r}"
      )
    if (self.compute is None) == (self.runs in FROM_CODES):
      raise ValueError(
        f"metric {self.name!r}: a {self.runs} entry "
        f"{'needs' if self.compute is None else 'takes no'} compute"
      )

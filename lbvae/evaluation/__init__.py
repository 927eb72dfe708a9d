"""The evaluation pass of arXiv 2602.09277, §4: trained checkpoints -> scores, report.

Modules:

* :mod:`~lbvae.evaluation.settings` -- the ``eval`` group: defaults, bounds, cache key;
* :mod:`~lbvae.evaluation.samples` -- the per-seed evaluation samples;
* :mod:`~lbvae.evaluation.encode` -- encoding / decoding with a stack of models;
* :mod:`~lbvae.evaluation.compute` -- all scores of one seed's models, vmapped;
* :mod:`~lbvae.evaluation.checkpoints` -- what the trainer left in a run directory;
* :mod:`~lbvae.evaluation.keys` -- a model's identity (``ModelKey``, ``PhaseMember``);
* :mod:`~lbvae.evaluation.store` -- output layout and the per-model cache;
* :mod:`~lbvae.evaluation.tables`, :mod:`~lbvae.evaluation.figures`,
  :mod:`~lbvae.evaluation.report` -- CSVs, PNGs and the Markdown page;
* :mod:`~lbvae.evaluation.selection` (maths), :mod:`~lbvae.evaluation.selection_views`
  (figures, page, CSVs and report section) -- choosing (β, λ): % change against the
  baseline, the NLL–MIG Pareto front, augmented Tchebycheff scalarisation;
* :mod:`~lbvae.evaluation.runner` -- the pass itself;
* :mod:`~lbvae.evaluation.model_codes` -- a workdir's models as arrays (codes,
  factors, parameters) for one's own metric.

Synopsis::

  from lbvae import evaluation
  config = evaluation.load_config("runs/default")
  result = evaluation.evaluate_workdir("runs/default", config)
  print(result.report)                      # runs/default/report.md

or ``python -m experiments.evaluate --workdir=runs/default``; one's own metric::

  for m in evaluation.load_model_codes("runs/default"):
    print(m.beta, m.lam, my_score(m.codes_train, m.factors_train))
"""

from __future__ import annotations

from lbvae import lazy_submodules

MODULES = ("checkpoints", "collapse_curves", "compute", "encode", "figures",
           "keys", "model_codes", "outputs", "released_scores", "report", "runner",
           "samples", "selection", "selection_views", "settings", "store", "tables")
# The pass's entry points, each loaded with its module on first use (so importing
# one submodule, as lbvae.train does, loads no plotting or checkpoint code).
EXPORTS = {"ModelCodes": "model_codes", "evaluate_workdir": "runner",
           "load_config": "checkpoints", "load_model_codes": "model_codes"}

__all__ = sorted(EXPORTS)


__getattr__, __dir__ = lazy_submodules(__name__, MODULES, EXPORTS)

"""The evaluation pass of arXiv 2602.09277, §4: trained checkpoints -> scores, report.

Modules (the ``eval`` config group is :mod:`lbvae.eval_settings`, below the trainer
that checks it): ``samples`` (per-seed samples), ``encode`` (a stack of models),
``compute`` (one seed's scores, vmapped), ``checkpoints`` (what the trainer left),
``keys`` (``ModelKey``, ``PhaseMember``), ``store`` (layout and cache), ``rescore``
(a cached model scored on a metric registered since), ``model_figures`` (each
per-model figure declared once), ``tables``, ``figures``, ``report`` (CSVs, PNGs,
Markdown) and ``reading`` (its opening, in words, from the numbers), ``selection``
and ``selection_views`` (choosing (β, λ); its PNGs ``selection_figures``, its page
``selection_page``), ``udr_cells`` and ``udr_choice`` (UDR per cell, choosing
without labels), ``runner`` (the pass), ``model_codes`` (a workdir's models as
arrays, for one's own metric).

Synopsis::

  from lbvae import evaluation
  config = evaluation.load_config("runs/default")
  result = evaluation.evaluate_workdir("runs/default", config)   # result.report: the page

or ``python -m experiments.evaluate --workdir=runs/default``; one's own metric::

  for m in evaluation.load_model_codes("runs/default"):
    print(m.beta, m.lam, my_score(m.codes_train, m.factors_train))
"""

from __future__ import annotations

from lbvae import lazy_submodules

MODULES = (
  "checkpoints",
  "collapse_curves",
  "compute",
  "encode",
  "figures",
  "keys",
  "model_codes",
  "model_figures",
  "outputs",
  "reading",
  "released_scores",
  "report",
  "rescore",
  "runner",
  "samples",
  "selection",
  "selection_figures",
  "selection_page",
  "selection_views",
  "store",
  "tables",
  "udr_cells",
  "udr_choice",
)
# The pass's entry points, each loaded with its module on first use (so importing
# one submodule, as lbvae.train does, loads no plotting or checkpoint code).
EXPORTS = {
  "ModelCodes": "model_codes",
  "evaluate_workdir": "runner",
  "load_config": "checkpoints",
  "load_model_codes": "model_codes",
}

__all__ = sorted(EXPORTS)


__getattr__, __dir__ = lazy_submodules(__name__, MODULES, EXPORTS)

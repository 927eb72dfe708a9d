"""The evaluation pass of arXiv 2602.09277, §4: trained checkpoints -> scores, report.

Modules:

* :mod:`~lbvae.evaluation.samples` -- the per-seed evaluation samples;
* :mod:`~lbvae.evaluation.encode` -- encoding / decoding with a stack of models;
* :mod:`~lbvae.evaluation.compute` -- all scores of one seed's models, vmapped;
* :mod:`~lbvae.evaluation.checkpoints` -- what the trainer left in a run directory;
* :mod:`~lbvae.evaluation.keys` -- a model's identity (``ModelKey``, ``PhaseMember``);
* :mod:`~lbvae.evaluation.store` -- output layout and the per-model cache;
* :mod:`~lbvae.evaluation.tables`, :mod:`~lbvae.evaluation.figures`,
  :mod:`~lbvae.evaluation.report` -- CSVs, PNGs and the Markdown page;
* :mod:`~lbvae.evaluation.selection` (maths), :mod:`~lbvae.evaluation.result_views`
  (files and report section), :mod:`~lbvae.evaluation.selection_figures`,
  :mod:`~lbvae.evaluation.selection_page` -- choosing (β, λ): % change against the
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

from lbvae.train.workdir import load_config
from lbvae.evaluation.model_codes import ModelCodes
from lbvae.evaluation.model_codes import load_model_codes
from lbvae.evaluation.runner import evaluate_workdir

__all__ = ["ModelCodes", "evaluate_workdir", "load_config", "load_model_codes"]

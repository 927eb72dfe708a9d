"""A trained workdir's models as arrays: codes, factors and parameters per model.

The route to one's own metric: the same evaluation samples, the same encoder means,
the same restored parameters the evaluation pass scores (docs/method.md §4), with no
file written. Synopsis::

  from lbvae import evaluation
  for m in evaluation.load_model_codes("runs/default"):
    my_score(m.codes_train, m.factors_train, m.codes_test, m.factors_test)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import jax
import numpy as np

from lbvae import data
from lbvae import errors
from lbvae import eval_settings as settings_lib
from lbvae import pytrees
from lbvae.evaluation import checkpoints
from lbvae.evaluation import encode
from lbvae.evaluation import samples as samples_lib
from lbvae.evaluation import store
from lbvae.train import workdir as workdir_lib


@dataclasses.dataclass(frozen=True)
class ModelCodes:
  """One trained model and its codes of its seed's evaluation samples.

  Attributes:
    phase, beta, lam, seed: the model's place in the grid (``lam`` 0 in phase 1).
    objective: the training objective (``lbvae.objectives``; ``beta`` its strength).
    step: the checkpoint step.
    finite: False for a member the trainer froze after a non-finite loss.
    params: the model's parameters (a pytree of numpy arrays, no grid axis).
    codes_train: float32[N, L] encoder means of the train part.
    factors_train: int[N, F] their factor classes.
    codes_test: float32[M, L]; factors_test: int[M, F], the test part.
    factor_sizes, factor_names: the dataset's F class counts and names.
  """

  phase: int
  beta: float
  lam: float
  seed: int
  objective: str
  step: int
  finite: bool
  params: Any
  codes_train: np.ndarray
  factors_train: np.ndarray
  codes_test: np.ndarray
  factors_test: np.ndarray
  factor_sizes: tuple[int, ...]
  factor_names: tuple[str, ...]


def load_model_codes(
  workdir: str, config=None, *, phases: Sequence[int] = (1, 2)
) -> list[ModelCodes]:
  """Every model of a workdir's final checkpoints, with its evaluation codes.

  Args:
    workdir: a training run (``python -m experiments.sweep`` or
      ``lbvae.train.train``).
    config: its config (None: the one stored in the workdir); ``eval.num_train``
      and ``eval.num_test`` size the samples, ``eval.batch_size`` the encoder calls.
    phases: which phases to read.

  Returns:
    One :class:`ModelCodes` per model with finite parameters, in grid order
    (phase, then the grid axis). Codes are the encoder means of the pass's samples
    of the model's seed (:func:`lbvae.evaluation.samples.draw`): those the
    evaluation pass scored and cached where its cache holds them for these settings
    and this checkpoint, else encoded here.

  Raises:
    lbvae.errors.Error: no such workdir, no checkpoints, an unreadable one.
  """
  config = settings_lib.with_eval_defaults(
    workdir_lib.load_config(workdir) if config is None else config
  )
  settings = settings_lib.cache_settings(config)
  found, _ = checkpoints.find_phases(workdir)
  found = [ph for ph in found if ph.number in tuple(phases)]
  errors.require(
    bool(found),
    f"no checkpoints of phases {tuple(phases)} in {workdir}",
    errors.CheckpointError,
  )
  ds = data.from_config(config.dataset)
  checkpoints.check_against_config(
    found,
    config,
    num_channels=ds.num_channels,
    config_file=workdir_lib.Paths(workdir).config,
  )
  paths = store.EvalPaths(workdir)
  drawn: dict[int, samples_lib.Samples] = {}
  out = []
  for ph in found:
    params = ph.restore()
    finite = pytrees.finite_rows(params)
    for m in ph.members:
      if not finite[m.index]:
        continue
      seed = m.key.seed
      if seed not in drawn:
        drawn[seed] = samples_lib.draw(
          ds, seed=seed, num_train=settings["num_train"], num_test=settings["num_test"]
        )
      s = drawn[seed]
      one = pytrees.take(params, np.asarray([m.index]))
      codes = store.load_codes(
        paths,
        m,
        step=ph.step,
        settings=settings,
        checkpoint=ph.fingerprint,
        latent_dim=int(config.latent_dim),
      )
      if codes is None:  # not evaluated with these settings yet: encode here
        kw = dict(
          latent_dim=int(config.latent_dim),
          num_channels=ds.num_channels,
          batch_size=int(config.eval.batch_size),
        )
        codes = tuple(
          encode.encode_models(one, images, **kw)["mu"][0]
          for images in (s.images_train, s.images_test)
        )
      out.append(
        ModelCodes(
          phase=ph.number,
          beta=m.key.strength,
          lam=m.key.lam,
          seed=seed,
          objective=ph.objective,
          step=ph.step,
          finite=m.finite,
          params=jax.tree.map(lambda a: np.asarray(a)[0], one),
          codes_train=codes[0],
          factors_train=s.factors_train,
          codes_test=codes[1],
          factors_test=s.factors_test,
          factor_sizes=tuple(int(k) for k in ds.factor_sizes),
          factor_names=tuple(ds.factor_names),
        )
      )
  return out

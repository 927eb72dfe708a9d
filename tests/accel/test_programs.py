"""lbvae.accel.programs: the evaluation programs compile from the evaluation's own code.

compile_for's H100 and fake-device runs are minutes of CPU (``make test-accel``); the
evaluation programs are built here for the CPU target, so a change of the evaluation
functions' signatures that the program builder misses fails in ``make test``.
"""

import jax

from configs import smoke
from lbvae.accel import programs
from lbvae.accel import targets
from lbvae.train import config as config_lib


def test_the_evaluation_scores_and_posterior_programs_compile_for_the_cpu_target():
  config = smoke.get_config()
  config_lib.validate(config)
  target = targets.get("cpu")
  build = programs._Build(config, target, jax.devices("cpu")[:1])
  for report in (build.scores(), build.posterior()):
    assert report.compiled, (report.name, report.error)
    assert report.peak_bytes is None or report.peak_bytes > 0

"""Shared fixtures of the linear-Gaussian tests: float64 and one BLAS thread.

One BLAS thread: the NumPy transcriptions here run many small LAPACK calls, which
OpenBLAS's spinning threads slow down by 10-100x on a busy 2-core machine.
"""

import jax
import pytest
import threadpoolctl


@pytest.fixture(autouse=True, scope="module")
def float64():
  """Runs each module of tests/linear under jax.enable_x64 (never globally)."""
  with jax.enable_x64(True), threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
    yield

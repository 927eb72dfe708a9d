"""Suite-wide fixtures: one persistent JAX compilation cache for every test; files
with end-to-end tests run first."""

import os

import jax
import pytest

from tests.helpers import fake_bucket


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(request):
  """Compiled programs are shared between tests, test processes and runs.

  Every program is kept, however quick to compile: most of the suite's are small
  ones (an eager operation on a new shape), and compiling them afresh was most of a
  warm run's time (docs/performance.md, "Every program in the cache"). The folder
  grows as programs change (about 32 MB for the quick selection); ``pytest
  --cache-clear`` empties it.
  """
  path = request.config.cache.mkdir("jax_compilation_cache")
  jax.config.update("jax_compilation_cache_dir", str(path))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  return path


@pytest.fixture(scope="session")
def cli_env(compilation_cache):
  """The environment of ``python -m experiments.*`` subprocesses: this one, with the
  session's compilation cache and its threshold."""
  out = dict(os.environ)
  out["JAX_COMPILATION_CACHE_DIR"] = str(compilation_cache)
  out["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = str(
    jax.config.jax_persistent_cache_min_compile_time_secs
  )
  return out


def pytest_collection_modifyitems(items):
  """Files that hold a test marked ``slow`` go first, in their collected order.

  ``make test`` hands whole files to two workers (``--dist loadfile
  --no-loadscope-reorder``) in collection order; starting with the long end-to-end
  files and ending with the many short ones keeps both workers busy to the end.
  (xdist's default order, most tests first, left the few-test end-to-end files for
  last, with one worker idle while the other ran them.)
  """
  slow_files = {item.path for item in items if item.get_closest_marker("slow")}
  items.sort(key=lambda item: item.path not in slow_files)  # stable: order kept within


@pytest.fixture
def bucket():
  """A ``gs://`` workdir URL served from memory (``tests/helpers/fake_bucket.py``)."""
  with fake_bucket.served():
    yield "gs://lbvae-test/run"

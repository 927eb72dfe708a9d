"""Suite-wide fixtures: one persistent JAX compilation cache for every test."""

import os

import jax
import pytest


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(request):
  """Compiled programs are shared between tests, test processes and runs."""
  path = request.config.cache.mkdir("jax_compilation_cache")
  jax.config.update("jax_compilation_cache_dir", str(path))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
  return path


@pytest.fixture(scope="session")
def cli_env(compilation_cache):
  """The environment of ``python -m experiments.*`` subprocesses: this one, with the
  session's compilation cache."""
  out = dict(os.environ)
  out["JAX_COMPILATION_CACHE_DIR"] = str(compilation_cache)
  out["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.2"
  return out

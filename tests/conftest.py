"""Suite-wide fixtures: one persistent JAX compilation cache for every test."""

import jax
import pytest


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(request):
  """Compiled programs are shared between tests, test processes and runs."""
  path = request.config.cache.mkdir("jax_compilation_cache")
  jax.config.update("jax_compilation_cache_dir", str(path))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
  return path

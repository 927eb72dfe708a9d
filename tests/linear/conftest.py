"""Shared fixtures of the linear-Gaussian tests: float64 for every test module here."""

import jax
import pytest


@pytest.fixture(autouse=True, scope="module")
def float64():
  """Runs each module of tests/linear under jax.enable_x64 (never globally)."""
  with jax.enable_x64(True):
    yield

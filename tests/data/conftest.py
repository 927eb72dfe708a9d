"""Shared fixtures for the lbvae.data tests."""

import pytest

import lbvae.data as data


@pytest.fixture(scope="session")
def dsprites():
  return data.load("dsprites")


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
  """Every test converts into its own cache directory."""
  path = tmp_path / "lbvae-cache"
  monkeypatch.setenv("LBVAE_CACHE_DIR", str(path))
  return path

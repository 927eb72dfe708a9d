"""Test helper: ``gs://`` (and ``az://``) served by fsspec's in-memory file system,
in this process.

etils.epath opens ``gs://`` through fsspec's ``gcs`` implementation (gcsfs, when
installed), ``az://`` through ``az`` (adlfs); :func:`served` registers an in-memory
one in their place, so the files
lbvae writes into a ``gs://`` workdir go through epath's own URL backend without a
network. Orbax checkpoints are not covered: TensorStore writes their arrays itself.
"""

import contextlib

import fsspec
from etils.epath import backend
from fsspec.implementations import memory
from fsspec.registry import _registry


class MemoryBucket(memory.MemoryFileSystem):
  """``gs://bucket/key`` kept in memory (one store per :func:`served`)."""

  protocol = ("gs", "gcs", "az")
  store: dict = {}
  pseudo_dirs = [""]

  @classmethod
  def _strip_protocol(cls, path):
    path = str(path)
    if "://" in path:
      path = path.split("://", 1)[1]
    return "/" + path.strip("/")


@contextlib.contextmanager
def served():
  """Serves ``gs://`` and ``az://`` from memory while the body runs; yields the store (a dict of
  ``/bucket/key`` -> file)."""
  saved = {name: _registry.get(name) for name in MemoryBucket.protocol}
  MemoryBucket.store, MemoryBucket.pseudo_dirs = {}, [""]
  MemoryBucket.clear_instance_cache()
  for name in saved:
    fsspec.register_implementation(name, MemoryBucket, clobber=True)
  backend.fsspec_backend._get_filesystem.cache_clear()
  try:
    yield MemoryBucket.store
  finally:
    for name, cls in saved.items():
      if cls is None:
        _registry.pop(name, None)
      else:
        _registry[name] = cls
    backend.fsspec_backend._get_filesystem.cache_clear()

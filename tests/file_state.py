"""Test helper: what is on disk under a folder, to prove a run changed nothing."""

import os


def snapshot(root):
  """Every file under ``root`` with its size and mtime: {path: (bytes, mtime_ns)}."""
  out = {}
  for d, _, files in os.walk(root):
    for name in files:
      p = os.path.join(d, name)
      st = os.stat(p)
      out[p] = (st.st_size, st.st_mtime_ns)
  return out

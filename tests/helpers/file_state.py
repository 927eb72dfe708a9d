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


def zero_fill_chunk(step_dir):
  """Zero-fills the middle half of the largest data file of an orbax checkpoint's
  ``state`` (its sizes kept): raw reads pass, decoding the chunks fails."""
  data = os.path.join(step_dir, "state", "ocdbt.process_0", "d")
  path = max((os.path.join(data, n) for n in os.listdir(data)), key=os.path.getsize)
  size = os.path.getsize(path)
  with open(path, "r+b") as f:
    f.seek(size // 4)
    f.write(b"\0" * (size // 2))
  return path

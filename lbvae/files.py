"""Atomic writes of the JSON, CSV and text files lbvae leaves on disk.

Every writer goes through a temporary file in the same directory and ``os.replace``,
so a reader (or a run that is killed half-way) never sees a half-written file in
place of a good one. CSV values are formatted by :func:`format_value`: bools as 0/1,
integers as themselves, floats with full round-trip precision (``repr``) or with
``digits`` significant digits, NaN as ``nan``; a missing column is an empty cell.

Synopsis::

    files.write_json(path, {"step": 3})
    files.write_csv(path, ["step", "loss"], rows)                # full precision
    files.write_csv(path, columns, rows, digits=8)               # tables for people
    files.append_csv(path, columns, more_rows)                   # a growing log
    files.write_npz(path, step=np.arange(3), loss=losses)        # arrays
"""

from __future__ import annotations

import csv
import json
import math
import os
from typing import Iterable, Sequence

import numpy as np


def _temporary(path: str) -> str:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  return f"{path}.tmp{os.getpid()}"


def write_text(path: str, text: str) -> None:
  """Writes ``text`` to ``path`` atomically."""
  tmp = _temporary(path)
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, path)


def write_json(path: str, obj, *, indent: int = 1) -> None:
  """Writes ``obj`` as JSON (a trailing newline) atomically."""
  write_text(path, json.dumps(obj, indent=indent) + "\n")


def write_npz(path: str, **arrays) -> None:
  """Writes NumPy arrays as an uncompressed .npz atomically (read it back with
  ``np.load(path, allow_pickle=False)``)."""
  tmp = _temporary(path) + ".npz"  # np.savez appends .npz to other names
  np.savez(tmp, **arrays)
  os.replace(tmp, path)


def format_value(v, digits: int | None = None) -> str:
  """One CSV cell (see the module docstring); strings pass through unchanged."""
  if isinstance(v, (bool, np.bool_)):
    return str(int(v))
  if isinstance(v, (int, np.integer)):
    return str(int(v))
  if isinstance(v, (float, np.floating)):
    v = float(v)
    if math.isnan(v):
      return "nan"
    return repr(v) if digits is None else f"{v:.{digits}g}"
  return str(v)


def _cells(row: dict, columns: Sequence[str], digits: int | None) -> list[str]:
  return [format_value(row[c], digits) if c in row else "" for c in columns]


def write_csv(path: str, columns: Sequence[str], rows: Iterable[dict], *,
              digits: int | None = None) -> None:
  """Writes a whole CSV atomically.

  Args:
    path: the file.
    columns: the header; a row's extra keys are ignored, missing ones left empty.
    rows: dicts of values (numbers, bools or strings, e.g. read back from a CSV).
    digits: significant digits of floats (None: full precision).
  """
  tmp = _temporary(path)
  with open(tmp, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(columns)
    for r in rows:
      w.writerow(_cells(r, columns, digits))
  os.replace(tmp, path)


def append_csv(path: str, columns: Sequence[str], rows: Iterable[dict], *,
               digits: int | None = None) -> None:
  """Appends rows to a CSV that :func:`write_csv` started (one ``write`` per row)."""
  with open(path, "a", newline="") as f:
    w = csv.writer(f)
    for r in rows:
      w.writerow(_cells(r, columns, digits))

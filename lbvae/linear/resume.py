"""Resumable linear protocol: finished solves and the gradient solver's state on disk.

Synopsis::

    from lbvae.linear import resume
    store = resume.Store(os.path.join(workdir, "progress"), config)
    store.save_result("fixed_point", 50, params, iterations, converged, seconds)
    done = store.load_result("fixed_point", 50)       # None if not solved yet
    store.save_state(100, state, steps_done, seconds)  # gradient.AdamWState
    state, steps_done, seconds = store.load_state(100, like=fresh_state)
    store.clear()                                     # after the results are written

``workdir/progress/`` keeps each finished (solver, n) solve and, every
``config.gradient.save_minutes``, the gradient solver's full state, so a restarted
run continues bit for bit (docs/theory.md §7). ``progress/config.json`` holds the
config that made the files: layout fields (threads, lanes, chunk sizes, the save
interval) may differ on resume, any other difference raises :class:`lbvae.ConfigError`
(nothing is overwritten), and an unreadable file :class:`lbvae.CheckpointError`
naming it. Files are written atomically and read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from typing import Any

import jax
import numpy as np

from lbvae import errors
from lbvae import files

CONFIG_NAME = "config.json"
# Fields that change how the work is split, not what is computed.
LAYOUT_FIELDS = (
  "fixed_point.num_lanes",
  "fixed_point.num_threads",
  "gradient.chunk",
  "gradient.runs_per_chunk",
  "gradient.num_threads",
  "gradient.save_minutes",
)


def fingerprint(config) -> dict[str, Any]:
  """The config as plain data, without :data:`LAYOUT_FIELDS`."""
  data = json.loads(json.dumps(config.to_dict(), default=str))
  for field in LAYOUT_FIELDS:
    group, name = field.split(".")
    data.get(group, {}).pop(name, None)
  return data


def _read_npz(path: str) -> dict[str, np.ndarray]:
  try:
    with np.load(path, allow_pickle=False) as f:
      return {k: f[k] for k in f.files}
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise errors.CheckpointError(
      f"{path} is unreadable ({type(e).__name__}: {e}); delete it to redo that "
      "part of the run"
    ) from None


def _flatten(tree) -> dict[str, np.ndarray]:
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {jax.tree_util.keystr(path): np.asarray(x) for path, x in leaves}


def _unflatten(like, arrays: dict[str, np.ndarray], path: str):
  out = []
  for key_path, ref in jax.tree_util.tree_flatten_with_path(like)[0]:
    key = jax.tree_util.keystr(key_path)
    shape, dtype = tuple(ref.shape), np.dtype(ref.dtype)
    ok = key in arrays and arrays[key].shape == shape and arrays[key].dtype == dtype
    errors.require(
      ok,
      f"{path} does not hold {key} as {dtype}{list(shape)}; it was "
      "not written by this run (delete it to redo that part)",
      errors.CheckpointError,
    )
    out.append(arrays[key])
  return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), out)


class Store:
  """The ``progress/`` folder of one protocol run.

  Args:
    folder: where the files go (created if missing).
    config: the protocol config; compared with the folder's ``config.json``.

  Raises:
    lbvae.ConfigError: the folder holds files of a run with a different config.
    lbvae.CheckpointError: its config.json is unreadable.
  """

  def __init__(self, folder: str, config):
    self.folder = folder
    self._config = fingerprint(config)
    path = os.path.join(folder, CONFIG_NAME)
    if os.path.exists(path):
      try:
        with open(path) as f:
          saved = json.load(f)
      except (OSError, ValueError) as e:
        raise errors.CheckpointError(f"{path} is unreadable ({e})") from None
      if saved != self._config:
        changed = sorted(_differences(saved, self._config))
        raise errors.ConfigError(
          f"{folder} holds an unfinished run of another config (differs in "
          f"{', '.join(changed[:4])}); rerun with that config to finish it, or use "
          "another --workdir"
        )
    else:
      os.makedirs(folder, exist_ok=True)
      files.write_json(path, self._config)

  def _path(self, name: str) -> str:
    return os.path.join(self.folder, name)

  def save_result(
    self, solver: str, n: int, params, iterations, converged, seconds: float
  ) -> None:
    """Keeps a finished solve: final models (a pytree), iterations, converged."""
    files.write_npz(
      self._path(f"{solver}_n{n}.npz"),
      **_flatten(params),
      iterations=np.asarray(iterations),
      converged=np.asarray(converged),
      seconds=np.asarray(seconds, np.float64),
    )

  def load_result(self, solver: str, n: int, *, like):
    """(params, iterations, converged, seconds) of a finished solve, or None.

    Args:
      like: a pytree of arrays or ``jax.ShapeDtypeStruct`` with the structure,
        shapes and dtypes of the saved params.
    """
    path = self._path(f"{solver}_n{n}.npz")
    if not os.path.exists(path):
      return None
    arrays = _read_npz(path)
    for key in ("iterations", "converged", "seconds"):
      errors.require(
        key in arrays,
        f"{path} has no '{key}'; delete it to redo that solve",
        errors.CheckpointError,
      )
    return (
      _unflatten(like, arrays, path),
      arrays["iterations"],
      arrays["converged"],
      float(arrays["seconds"]),
    )

  def save_state(self, n: int, state, steps_done: int, seconds: float) -> None:
    """Keeps the gradient solver's state after ``steps_done`` steps."""
    files.write_npz(
      self._path(f"gradient_n{n}.state.npz"),
      **_flatten(state),
      steps_done=np.asarray(steps_done, np.int64),
      seconds=np.asarray(seconds, np.float64),
    )

  def load_state(self, n: int, *, like):
    """(state, steps_done, seconds) saved for dimension n, or None.

    Args:
      like: a fresh state of the same run (structure, shapes and dtypes).
    """
    path = self._path(f"gradient_n{n}.state.npz")
    if not os.path.exists(path):
      return None
    arrays = _read_npz(path)
    errors.require(
      "steps_done" in arrays and "seconds" in arrays,
      f"{path} has no step count; delete it to restart that solve",
      errors.CheckpointError,
    )
    return (
      _unflatten(like, arrays, path),
      int(arrays["steps_done"]),
      float(arrays["seconds"]),
    )

  def drop_state(self, n: int) -> None:
    """Removes the gradient state of dimension n (its result is saved)."""
    path = self._path(f"gradient_n{n}.state.npz")
    if os.path.exists(path):
      os.remove(path)

  def clear(self) -> None:
    """Removes the folder (call once the run's results are in place)."""
    shutil.rmtree(self.folder, ignore_errors=True)


def _differences(a, b, prefix: str = "") -> list[str]:
  if isinstance(a, dict) and isinstance(b, dict):
    out = []
    for key in sorted(set(a) | set(b)):
      out += _differences(a.get(key), b.get(key), f"{prefix}{key}.")
    return out
  return [] if a == b else [prefix.rstrip(".") or "config"]

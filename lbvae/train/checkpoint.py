"""Orbax checkpoints of a training phase (arXiv 2602.09277, §4: phase 1 and phase 2).

One ``orbax.checkpoint.CheckpointManager`` per phase, in ``DIR/phaseN/checkpoints``;
each ``<step>/`` (the global step) holds two items:

* ``state`` -- the grid :class:`~lbvae.train.state.TrainState` of the G real members
  (no :mod:`~lbvae.train.sharding` padding; on-disk names :data:`DISK_NAMES`);
* ``meta`` -- JSON: ``{"phase", "objective", "step", "start_step", "end_step",
  "members": [{"member", "beta", "lambda", "seed", ["parent",] "finite",
  "frozen_step"}]}``.

Writes are atomic and synchronous (docs/cluster.md). :meth:`PhaseCheckpoints.restore`
and :func:`load_params` read onto the reader's devices, whatever their number when
written, after :func:`check_readable` has decoded every array. Synopsis::

    ckpts = checkpoint.PhaseCheckpoints(path, keep=2)
    ckpts.save(step, state, meta)
    state, meta = ckpts.restore(ckpts.latest_step(), abstract_state)
    params, meta = checkpoint.load_params(path)     # evaluation: no model needed
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
import tensorstore as ts

from lbvae import errors
from lbvae import files
from lbvae import log_filters

ITEMS = ("state", "meta")
# Errors orbax and tensorstore raise for unreadable or inconsistent files.
READ_ERRORS = (OSError, ValueError, KeyError, TypeError)
# Top-level fields of a state stored under another name: the 0.1.0 on-disk names.
DISK_NAMES = {"strength": "beta"}


def _fields(tree) -> dict | None:
  """A state's (or a dict's) top-level fields by name; None for any other tree."""
  if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
    return {f.name: getattr(tree, f.name) for f in dataclasses.fields(tree)}
  return dict(tree) if isinstance(tree, dict) else None


def _to_disk(tree):
  """``tree`` as stored: its top-level fields under their :data:`DISK_NAMES`."""
  fields = _fields(tree)
  if fields is None:
    return tree
  return {DISK_NAMES.get(k, k): v for k, v in fields.items()}


def _from_disk(stored, like):
  """A tree read under the on-disk names, in the form of the caller's ``like``."""
  fields = _fields(like)
  if fields is None:
    return stored
  out = {k: stored[DISK_NAMES.get(k, k)] for k in fields}
  return out if isinstance(like, dict) else type(like)(**out)


def _options(keep: int | None = None, read_only: bool = False):
  if read_only:  # a reader of this process alone: no barrier with other processes
    here = jax.process_index()
    # No saving, no creating: orbax notes each writer setting it turns off itself.
    return ocp.CheckpointManagerOptions(
      read_only=True,
      enable_async_checkpointing=False,
      save_interval_steps=0,
      create=False,
      multiprocessing_options=ocp.options.MultiprocessingOptions(
        primary_host=here, active_processes={here}
      ),
    )
  return ocp.CheckpointManagerOptions(
    max_to_keep=keep, create=True, enable_async_checkpointing=False
  )


def _one_line(e: BaseException) -> str:
  return f"{type(e).__name__}: {errors.first_line(e)}"


def check_readable(directory: str, step: int) -> None:
  """Reads and decodes every stored array of the checkpoint's ``state`` item.

  The item is an OCDBT database (orbax's default format) of zarr arrays; reading
  each array whole through synchronous tensorstore calls -- the manifest, the index,
  and every chunk decompressed as a restore will -- finds a truncated, missing,
  zero-filled or otherwise corrupt file before orbax opens the arrays, as one error
  rather than a failure inside orbax's concurrent reads. Keys that belong to no
  array are read raw.

  Args:
    directory: ``DIR/phaseN/checkpoints``.
    step: the checkpoint's step.

  Raises:
    lbvae.errors.CheckpointError: the item is missing or a file does not read.
  """
  item = os.path.join(files.absolute(directory), str(int(step)), "state")
  name = os.path.join(directory, str(int(step)))
  errors.require(
    files.as_path(item).is_dir(),
    f"checkpoint {name} has no state directory",
    error=errors.CheckpointError,
  )
  errors.require(
    files.as_path(item, "_METADATA").exists(),
    f"checkpoint {name} is incomplete (no state/_METADATA)",
    error=errors.CheckpointError,
  )
  if not files.as_path(item, "manifest.ocdbt").exists():
    return  # not OCDBT: left to orbax
  # TensorStore's own kvstore URL: file:// for a local path, else the workdir's
  # (gs://, s3://).
  url = f"file://{item}/" if files.is_local(item) else f"{item}/"
  base = {"driver": "ocdbt", "base": url}
  try:
    store = ts.KvStore.open(base).result()
    keys = store.list().result()
    arrays = {k[: -len(b"/.zarray")] for k in keys if k.endswith(b"/.zarray")}
    for key in keys:  # what no array decodes: read raw
      if key.rsplit(b"/", 1)[0] not in arrays:
        store.read(key).result()
    for path in sorted(arrays):  # every chunk decoded, as restore will
      array = ts.open(
        {"driver": "zarr", "kvstore": {**base, "path": path.decode()}, "open": True},
        read=True,
      ).result()
      array.read().result()
  except READ_ERRORS as e:
    raise errors.CheckpointError(
      f"checkpoint {name} is unreadable ({_one_line(e)})"
    ) from None


def newest_readable(directory: str, steps) -> tuple[int | None, list]:
  """The newest of ``steps`` whose checkpoint reads and decodes (:func:`check_readable`).

  Returns:
    (that step or None, ``[(step, CheckpointError)]`` of the newer ones that did
    not, newest first).
  """
  failed = []
  for step in sorted(steps, reverse=True):
    try:
      check_readable(directory, step)
      return step, failed
    except errors.CheckpointError as e:
      failed.append((step, e))
  return None, failed


def meta_path(directory: str, step: int) -> str:
  """The file orbax stores the checkpoint's ``meta`` item in (the JSON of the module
  docstring; the trainer writes the same record to ``grid.json``)."""
  return os.path.join(directory, str(int(step)), "meta", "metadata")


def _files_under(top, prefix: str = ""):
  """``(relative name, epath.Path)`` of every file under ``top``."""
  for child in top.iterdir():
    if child.is_dir():
      yield from _files_under(child, f"{prefix}{child.name}/")
    else:
      yield f"{prefix}{child.name}", child


def fingerprint(directory: str, step: int) -> str:
  """What identifies the checkpoint's content: every file's path, size and mtime.

  A checkpoint rewritten, truncated or replaced (with its step kept) gets another
  fingerprint; reading it back is not needed. In a URL workdir the mtimes are the
  store's, in whole seconds (0 where it keeps none).

  Args:
    directory: ``DIR/phaseN/checkpoints``.
    step: the checkpoint's step.

  Returns:
    A hex digest (sha256) of the sorted ``(path, bytes, mtime_ns)`` of its files.
  """
  root = os.path.join(files.absolute(directory), str(int(step)))
  listing = []
  if files.is_local(root):
    for d, _, names in os.walk(root):
      for name in names:
        path = os.path.join(d, name)
        st = os.stat(path)
        listing.append((os.path.relpath(path, root), st.st_size, st.st_mtime_ns))
  elif files.as_path(root).is_dir():
    for name, path in _files_under(files.as_path(root)):
      st = path.stat()
      listing.append((name, st.length, st.mtime))
  return hashlib.sha256(repr(sorted(listing)).encode()).hexdigest()


def finalized_steps(directory: str) -> list[int]:
  """Steps of the complete checkpoints in ``directory`` (``DIR/phaseN/checkpoints``),
  by orbax's own test: on a local disk a finished one is renamed ``<step>``; on an
  object store, where orbax writes in place, it holds ``commit_success.txt``."""
  top = files.as_path(directory)
  if not top.is_dir():
    return []
  return sorted(
    int(d.name)
    for d in top.iterdir()
    if d.name.isdigit() and d.is_dir() and ocp.path.step.is_path_finalized(d)
  )


def _target(abstract, default: jax.sharding.Sharding):
  """``jax.ShapeDtypeStruct`` leaves, each with its own sharding or ``default``."""

  def one(a):
    sharding = getattr(a, "sharding", None) or default
    return jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sharding)

  return jax.tree.map(one, abstract)


def _unused(path: str) -> str:
  """``path``, or ``path.2``, ``path.3``, ... : the first name that is free."""
  name, n = path, 1
  while files.as_path(name).exists():
    n += 1
    name = f"{path}.{n}"
  return name


class PhaseCheckpoints:
  """The checkpoints of one phase.

  Args:
    directory: ``DIR/phaseN/checkpoints``.
    keep: how many of the most recent checkpoints to keep (the latest always stays).
  """

  def __init__(self, directory: str, keep: int = 2):
    self.directory = files.absolute(directory)
    self._manager = ocp.CheckpointManager(
      self.directory, options=_options(keep), item_names=ITEMS
    )

  def latest_step(self) -> int | None:
    """The newest complete checkpoint's step, or None."""
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def readable_step(self, log) -> int | None:
    """The newest checkpoint that reads and decodes (:func:`check_readable`), or None.

    Each newer one that does not is renamed ``<step>.unreadable`` (kept, never
    deleted, and no longer a checkpoint; ``<step>.unreadable.2`` and so on when an
    earlier one is in the way) and named in one line through ``log``.
    """
    step, failed = newest_readable(self.directory, self.all_steps())
    for bad, e in failed:
      aside = _unused(os.path.join(self.directory, f"{bad}.unreadable"))
      files.as_path(self.directory, str(bad)).replace(aside)
      log(f"{e}; moved to {aside}, using the next older checkpoint")
    if failed:
      self._manager.reload()
    return step

  def stored_layout(self, step: int) -> dict:
    """The top-level fields of the ``state`` tree stored at ``step``, as the library
    calls them (``beta`` on disk is ``strength``): {name: its metadata (an array's
    ``shape``, ``dtype``; a dict for a subtree)}.

    Raises:
      lbvae.errors.CheckpointError: the checkpoint's metadata does not read.
    """
    check_readable(self.directory, step)
    manager = _reader(self.directory)
    try:
      stored = _stored_tree(manager, int(step), self.directory)
    finally:
      manager.close()
    library = {v: k for k, v in DISK_NAMES.items()}
    return {library.get(k, k): v for k, v in stored.items()}

  def stored_fields(self, step: int) -> set[str]:
    """The top-level names of :meth:`stored_layout`."""
    return set(self.stored_layout(step))

  def save(self, step: int, state, meta: dict) -> None:
    """Writes the state and its metadata at ``step`` (blocks until on disk)."""
    self._manager.save(
      int(step),
      args=ocp.args.Composite(
        state=ocp.args.StandardSave(_to_disk(state)), meta=ocp.args.JsonSave(meta)
      ),
    )
    self._manager.wait_until_finished()

  def restore(self, step: int, abstract_state) -> tuple[Any, dict]:
    """Reads the checkpoint at ``step`` onto this process's devices.

    Args:
      step: a step of :meth:`all_steps`.
      abstract_state: a state, or a ``jax.ShapeDtypeStruct`` tree (e.g. from
        ``jax.eval_shape``), of the same structure; each leaf's ``sharding`` says
        where it goes (a leaf without one goes to the first local device). The
        writer's device count does not matter; its stored shardings are not used.

    Returns:
      (state, meta).

    Raises:
      lbvae.errors.CheckpointError: the checkpoint does not read.
    """
    check_readable(self.directory, step)
    target = _target(
      _to_disk(abstract_state),
      jax.sharding.SingleDeviceSharding(jax.local_devices()[0]),
    )
    try:
      out = self._manager.restore(
        int(step),
        args=ocp.args.Composite(
          state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore()
        ),
      )
    except READ_ERRORS as e:
      raise errors.CheckpointError(
        f"checkpoint {os.path.join(self.directory, str(int(step)))} does not "
        f"restore ({_one_line(e)})"
      ) from None
    return _from_disk(out.state, abstract_state), out.meta

  def close(self) -> None:
    self._manager.close()


def _reader(directory: str) -> ocp.CheckpointManager:
  """A read-only manager that knows both items' handlers (so it reads metadata)."""
  registry = ocp.handlers.DefaultCheckpointHandlerRegistry()
  registry.add("state", ocp.args.PyTreeRestore, ocp.PyTreeCheckpointHandler)
  registry.add("meta", ocp.args.JsonRestore, ocp.JsonCheckpointHandler)
  with log_filters.dropped("absl", ("Given directory is read only",)):
    return ocp.CheckpointManager(
      files.absolute(directory),
      options=_options(read_only=True),
      handler_registry=registry,
    )


def _stored_tree(manager: ocp.CheckpointManager, step: int, directory: str) -> dict:
  """The stored ``state`` tree's metadata (array metadata leaves) at ``step``."""
  try:
    stored = manager.item_metadata(step)["state"]
    return dict(getattr(stored, "tree", stored))
  except READ_ERRORS as e:
    raise errors.CheckpointError(
      f"checkpoint {os.path.join(directory, str(step))} has unreadable metadata "
      f"({_one_line(e)})"
    ) from None


def param_shapes(directory: str, step: int) -> dict[str, tuple[int, ...]]:
  """The stored shape of every parameter at ``step``, read from the checkpoint's
  metadata (no array is read): ``"['encoder']['fc_mu']['kernel']" -> (G, 256, L)``.

  Raises:
    lbvae.errors.CheckpointError: the metadata does not read.
  """
  manager = _reader(directory)
  try:
    params = _stored_tree(manager, int(step), directory).get("params", {})
  finally:
    manager.close()
  return {
    jax.tree_util.keystr(path): tuple(leaf.shape)
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]
  }


def shape_differences(stored: dict, expected: dict) -> list[str]:
  """Where stored parameter shapes (:func:`param_shapes`, leading grid axis) differ
  from one model's ``expected`` shapes (same keys, no grid axis), e.g.
  ``['encoder']['fc_mu']['kernel'] is (256, 10), expected (256, 12)``."""
  out = [f"{k} is missing" for k in expected if k not in stored]
  out += [f"{k} is not a parameter of the model" for k in stored if k not in expected]
  out += [
    f"{k} is {stored[k][1:]}, expected {tuple(expected[k])}"
    for k in expected
    if k in stored and stored[k][1:] != tuple(expected[k])
  ]
  return out


def load_params(directory: str, step: int | None = None) -> tuple[Any, dict]:
  """Parameters and metadata of a phase checkpoint, without a model or optimiser.

  The shapes and dtypes come from the checkpoint's own metadata and the arrays are
  read into host memory, so any process can load a checkpoint written on any
  number of devices.

  Args:
    directory: ``DIR/phaseN/checkpoints``.
    step: which checkpoint (default: the latest).

  Returns:
    (params: nested dict of numpy arrays with leading axis G = number of members,
    meta: the checkpoint's JSON metadata, as in the module docstring).

  Raises:
    lbvae.errors.CheckpointError: no checkpoint in ``directory``, or it does not
      read.
  """
  manager = _reader(directory)
  try:
    step = manager.latest_step() if step is None else int(step)
    errors.require(
      step is not None, f"no checkpoint in {directory}", error=errors.CheckpointError
    )
    check_readable(directory, step)
    try:
      target = jax.tree.map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype),
        _stored_tree(manager, step, directory),
      )
      host = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), target)
      out = manager.restore(
        step,
        args=ocp.args.Composite(
          state=ocp.args.PyTreeRestore(target, restore_args=host),
          meta=ocp.args.JsonRestore(),
        ),
      )
    except READ_ERRORS as e:
      raise errors.CheckpointError(
        f"checkpoint {os.path.join(directory, str(step))} does not restore "
        f"({_one_line(e)})"
      ) from None
  finally:
    manager.close()
  return out.state["params"], out.meta

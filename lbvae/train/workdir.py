"""A sweep's workdir: its files, the stored-config check and the one-writer lock.

Layout (phase 1 trains ``config.objective``, phase 2 adds λ; arXiv 2602.09277, §4)::

    DIR/config.json                 the run's config (fixed by the first checkpoint)
    DIR/run.log                     the human-readable log, appended by every run
    DIR/workdir.lock                "host H pid P since T" of the writer (:func:`locked`)
    DIR/phaseN/grid.json            members (β, λ, seed[, parent]) and their flags
    DIR/phaseN/checkpoints/<step>/  orbax checkpoints (:mod:`lbvae.train.checkpoint`)
    DIR/phaseN/train_log.csv        :func:`log_columns`; means over each log_every steps
    DIR/phaseN/final_metrics.csv    :func:`final_columns`; loss-window means at the end
    DIR/phaseN/collapse.csv, collapse_mi.npz   the probe of :mod:`lbvae.train.collapse`
    DIR/tensorboard/train/<run>/    live curves per member (:mod:`lbvae.train.event_files`)

``step`` is global (phase 2 continues phase 1's count); ``beta`` is the objective's
strength, ``loss`` its total with λ·l2, and an objective's parts follow as columns.
A member frozen by a non-finite value has ``finite`` 0, its ``frozen_step`` (else -1,
null in JSON) and NaN means. Entry points: :class:`Paths`, :func:`check_config`,
:func:`store_config`, :func:`load_config`, :func:`locked`. ``DIR`` may be a URL
(``gs://``): every file goes through :mod:`lbvae.files` (what differs: docs/cluster.md).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
from typing import Iterable, Sequence

import jax
import ml_collections

from lbvae import errors
from lbvae import files
from lbvae import objectives
from lbvae.train import config as config_lib
from lbvae.train import hosts

# The stored-config rules, as each field declares them (lbvae.train.config.Field).
# Fields that may differ between runs on one workdir: they change how, not what,
# is computed.
FREE_FIELDS = config_lib.fields_where(role=config_lib.HOW)
# Fields read only when a member's parameters are first made, which a run that
# resumes from a checkpoint never does again: they may differ from the stored config,
# whose value (what the workdir was trained with) stands.
START_FIELDS = config_lib.fields_where(role=config_lib.START)
# Config fields (or groups) added after runs were made: a stored config without one
# of them holds its default (``config.defaults()``).
ADDED_FIELDS = config_lib.fields_where(before=config_lib.DEFAULT)


def legacy_values() -> dict:
  """The added fields a stored config without them held at another value than
  today's default, nested: e.g. ``{"model": {"init": "flax"}}``."""
  out: dict = {}
  for f in config_lib.declared():
    if f.before in (config_lib.ORIGINAL, config_lib.DEFAULT):
      continue
    *groups, name = f.name.split(".")
    node = out
    for group in groups:
      node = node.setdefault(group, {})
    node[name] = f.before
  return out


LEGACY_VALUES = legacy_values()

# Fields every config.json has held since lbvae's first release: what was trained.
# A stored config without one of them is refused, never filled with a default.
REQUIRED_FIELDS = (
  "dataset.name",
  "dataset.source",
  "betas",
  "lambdas",
  "num_seeds",
  "seed",
  "latent_dim",
  "batch_size",
  "phase1_steps",
  "phase2_steps",
)

LOCK_NAME = "workdir.lock"

# A member's row: which member, then the logged fields (objectives.BASE_FIELDS and
# the objective's parts), then its flags.
ID_COLUMNS = ("member", "beta", "lambda", "seed")
FLAG_COLUMNS = ("finite", "frozen_step", "step")


def log_columns(parts=()) -> tuple[str, ...]:
  """Columns of ``train_log.csv``: the step, the member, the logged base fields
  (``objectives.BASE_FIELDS``), ``finite``, then the objective's parts."""
  return ("step",) + ID_COLUMNS + objectives.BASE_FIELDS + ("finite",) + tuple(parts)


def final_columns(parts=()) -> tuple[str, ...]:
  """Columns of ``final_metrics.csv``: the member, the logged base fields, its
  flags, then the objective's parts."""
  return ID_COLUMNS + objectives.BASE_FIELDS + FLAG_COLUMNS + tuple(parts)


LOG_COLUMNS = log_columns()  # a β-VAE run's
FINAL_COLUMNS = final_columns()


class Paths:
  """File names of a workdir (the layout of the module docstring)."""

  def __init__(self, root: str):
    self.root = files.absolute(root)
    self.config = os.path.join(self.root, "config.json")
    self.run_log = os.path.join(self.root, "run.log")
    self.lock = os.path.join(self.root, LOCK_NAME)

  def phase(self, phase: int) -> str:
    return os.path.join(self.root, f"phase{phase}")

  def checkpoints(self, phase: int) -> str:
    return os.path.join(self.phase(phase), "checkpoints")

  def grid(self, phase: int) -> str:
    return os.path.join(self.phase(phase), "grid.json")

  def train_log(self, phase: int) -> str:
    return os.path.join(self.phase(phase), "train_log.csv")

  def final_metrics(self, phase: int) -> str:
    return os.path.join(self.phase(phase), "final_metrics.csv")


def _flatten(d: dict, prefix: str = "") -> dict:
  out = {}
  for k, v in d.items():
    key = f"{prefix}{k}"
    if isinstance(v, dict):
      out.update(_flatten(v, key + "."))
    else:
      out[key] = v
  return out


def _as_plain(config) -> dict:
  return json.loads(config.to_json_best_effort())


def _free(key: str) -> bool:
  return any(
    key == f or key.startswith(f + ".")
    for f in config_lib.fields_where(role=config_lib.HOW)
    + config_lib.fields_where(role=config_lib.START)
  )


def with_added_fields(stored: dict) -> dict:
  """A stored config, flattened to dotted fields, with every field added since it was
  written at the value it held then (:data:`LEGACY_VALUES`, else the default)."""
  defaults = _flatten(_as_plain(config_lib.defaults()))
  added = {
    k: v
    for k, v in defaults.items()
    if any(
      k == f or k.startswith(f + ".")
      for f in config_lib.fields_where(before=config_lib.DEFAULT)
    )
  }
  return {**added, **_flatten(legacy_values()), **_flatten(stored)}


def config_differences(stored: dict, config) -> list[str]:
  """Fields (dotted) where ``config`` differs from a stored config, FREE_FIELDS and
  START_FIELDS aside."""
  a, b = with_added_fields(stored), _flatten(_as_plain(config))
  diffs = []
  for key in sorted(set(a) | set(b)):
    if _free(key) or a.get(key) == b.get(key):
      continue
    diffs.append(f"{key} (stored {a.get(key)!r}, given {b.get(key)!r})")
  return diffs


def has_checkpoints(paths: Paths) -> bool:
  """Whether any phase of the workdir holds a checkpoint directory."""
  for phase in (1, 2):
    directory = files.as_path(paths.checkpoints(phase))
    if directory.is_dir() and any(d.name.isdigit() for d in directory.iterdir()):
      return True
  return False


def check_config(paths: Paths, config) -> bool:
  """Refuses a config that differs from the stored one of a workdir with a
  checkpoint (:data:`FREE_FIELDS` aside; a stored config lacking a field of
  :data:`ADDED_FIELDS` holds its default).

  Returns:
    True when the workdir's stored config holds (a resumed run).

  Raises:
    lbvae.errors.Error: the configs differ, or config.json is unreadable.
  """
  if not (files.as_path(paths.config).exists() and has_checkpoints(paths)):
    return False
  stored = read_stored_config(paths.config)
  diffs = config_differences(stored, config)
  errors.require(
    not diffs,
    f"{paths.root} was trained with a different config: "
    f"{'; '.join(diffs)}. Use a new --workdir, or the stored config.",
  )
  return True


def _merged(defaults: dict, stored: dict) -> dict:
  """``stored`` with every field of ``defaults`` it lacks (groups merged field by
  field)."""
  out = dict(stored)
  for k, v in defaults.items():
    if k not in out:
      out[k] = v
    elif isinstance(v, dict) and isinstance(out[k], dict):
      out[k] = _merged(v, out[k])
  return out


def read_stored_config(path: str) -> dict:
  """A workdir's ``config.json``, checked: a JSON object holding every field of
  :data:`REQUIRED_FIELDS`, each group an object.

  Raises:
    lbvae.errors.Error: the file does not read, or is not such an object.
  """
  try:
    stored = files.read_json(path)
  except (OSError, ValueError) as e:
    raise errors.ConfigError(f"cannot read {path}: {e}") from None
  errors.require(
    isinstance(stored, dict),
    f"{path} holds a JSON {type(stored).__name__}, not a config (an object of fields)",
    errors.DataError,
  )
  for group in sorted({f.split(".")[0] for f in REQUIRED_FIELDS if "." in f}):
    if not isinstance(stored.get(group, {}), dict):
      raise errors.DataError(
        f"{path}: {group} is {stored[group]!r:.60}, not a group of fields"
      )
  missing = [f for f in REQUIRED_FIELDS if f not in _flatten(stored)]
  errors.require(
    not missing,
    f"{path} lacks {', '.join(missing)}, which every run's "
    "config holds; restore it (or train into a new --workdir)",
    errors.DataError,
  )
  return stored


def run_facts(config) -> dict[str, str]:
  """What every process of a multi-host run must agree on before it trains or
  evaluates (``lbvae.train.hosts.check_same_run``): the config, lbvae's code and
  the process count it was started with."""
  count = os.environ.get("JAX_NUM_PROCESSES") or str(jax.process_count())
  return {
    "config": json.dumps(_as_plain(config), sort_keys=True),
    "code": hosts.code_version(),
    "process count": count,
  }


def store_config(paths: Paths, config) -> None:
  """Writes ``config.json`` unless a checkpoint exists (then it is kept)."""
  if not (files.as_path(paths.config).exists() and has_checkpoints(paths)):
    files.write_json(paths.config, _as_plain(config))


def load_config(root: str) -> ml_collections.ConfigDict:
  """The config stored in a workdir (tuples come back as lists), each field it lacks
  (one added since it was written) at the value it held then (:data:`LEGACY_VALUES`)
  or else its default, validated.

  Raises:
    lbvae.errors.Error: no such directory, no readable ``config.json``, one that
      is not an object, lacks a field of :data:`REQUIRED_FIELDS` or holds a value
      ``lbvae.train.config.validate`` refuses (the line names the file).
  """
  files.check_url(root, what="workdir")
  errors.require(files.as_path(root).is_dir(), f"workdir {root} does not exist")
  path = Paths(root).config
  errors.require(
    files.as_path(path).exists(),
    f"{path} does not exist: {root} is "
    "not a training run (train one with python -m experiments.sweep)",
  )
  stored = _merged(
    _as_plain(config_lib.defaults()), _merged(legacy_values(), read_stored_config(path))
  )
  try:
    config = ml_collections.ConfigDict(stored)
    config_lib.validate(config)
  except errors.Error as e:
    raise errors.DataError(f"{path}: {e}") from None
  except (TypeError, ValueError, KeyError, AttributeError) as e:
    raise errors.DataError(
      f"{path}: a field of the wrong type ({type(e).__name__}: {errors.first_line(e)})"
    ) from None
  return config


def _holder() -> str:
  """The lock file's line: ``host H pid P since T``."""
  since = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
  return f"host {socket.gethostname()} pid {os.getpid()} since {since}\n"


def _busy(root: str, holder: str, remedy: str = "") -> errors.WorkdirBusy:
  return errors.WorkdirBusy(
    f"{root} is in use by another run ({holder or 'unknown'}); wait for it to "
    f"finish{remedy}, or use another --workdir"
  )


@contextlib.contextmanager
def locked(root: str, *, writer: bool = True):
  """Holds ``DIR/workdir.lock`` (an exclusive, non-blocking flock) while the body runs.

  The kernel drops the flock when its holder dies, so a killed run's lock is taken
  over; a run that ends (or is interrupted) removes the file. The file is never
  opened through a symbolic link (a link in its place is refused). A URL workdir
  has no flock and gets the advisory file of :func:`_url_lock`.

  Args:
    root: the workdir (created if needed).
    writer: False on a process that does not write (under jax.distributed, every
      process but 0): nothing is locked.

  Raises:
    lbvae.errors.WorkdirBusy: another live process holds the lock.
    lbvae.errors.DiskError: the lock cannot be written (a full or read-only disk,
      a symbolic link in its place).
  """
  if not writer:
    yield
    return
  root = files.absolute(root)
  if not files.is_local(root):
    with _url_lock(root):
      yield
    return
  lock, created = os.path.join(root, LOCK_NAME), not os.path.isdir(root)
  try:
    os.makedirs(root, exist_ok=True)
    fd = _take(root, lock)
  except OSError as e:
    if created:  # a new workdir on a full disk: left as it was, absent
      with contextlib.suppress(OSError):
        os.rmdir(root)
    raise files.disk_error(e, lock, root) from None
  try:
    yield
  finally:
    try:
      os.unlink(lock)  # while still held: a waiting opener sees it gone (_take)
    except OSError:
      pass
    os.close(fd)  # releases the flock


def _take(root: str, lock: str) -> int:
  """Opens, flocks and fills in ``lock``; the descriptor holds the lock.

  A holder removes the file before it releases the flock, so a file taken after
  its removal is a stale inode: the path is opened again until the flocked
  descriptor is the file at the path.
  """
  while True:
    fd = files.open_own(lock, os.O_RDWR | os.O_CREAT)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.pread(fd, 512, 0).decode(errors="replace").strip()
      os.close(fd)
      raise _busy(root, holder) from None
    try:
      current = os.lstat(lock)
    except FileNotFoundError:
      current = None
    mine = os.fstat(fd)
    if current is not None and (current.st_ino, current.st_dev) == (
      mine.st_ino,
      mine.st_dev,
    ):
      break
    os.close(fd)  # removed (or replaced) by the holder that just let go
  try:
    os.ftruncate(fd, 0)
    os.pwrite(fd, _holder().encode(), 0)
  except OSError:
    os.unlink(lock)  # ours, held: a full disk leaves no empty lock behind
    os.close(fd)
    raise
  return fd


def _dead_here(holder: str) -> bool:
  """Whether a lock line names this host and a pid that no longer runs."""
  parts = holder.split()
  if len(parts) < 4 or parts[0] != "host" or parts[2] != "pid":
    return False
  if parts[1] != socket.gethostname() or not parts[3].isdigit():
    return False
  return not files.pid_alive(int(parts[3]))


@contextlib.contextmanager
def _url_lock(root: str):
  """The advisory lock of a URL workdir: a file written at the start, removed at the end.

  A second writer that finds it is refused; a killed run's file is taken over only
  when it names this host and a pid that is gone. Finding and writing it are two
  steps, so two runs started in the same instant may both go on.
  """
  lock = os.path.join(root, LOCK_NAME)
  if files.as_path(lock).exists():
    holder = files.read_text(lock).strip()
    if not _dead_here(holder):
      raise _busy(root, holder, f" (if no run uses {root}, delete {lock})")
  mine = _holder()
  files.write_text(lock, mine)
  try:
    yield
  finally:
    try:
      if files.read_text(lock) == mine:
        files.as_path(lock).unlink()
    except OSError:
      pass  # already gone: nothing to release


class CsvLog:
  """A CSV appended row by row at host boundaries, and trimmed on resume.

  On resume, rows whose ``step`` is after the restored step (written by the
  interrupted run after its last checkpoint, a last row cut short included) are
  dropped first, so the file equals an uninterrupted run's; a row that is not one
  lbvae writes (a cell that is not a number) is one DataError line.

  Args:
    path: the CSV file.
    columns: its columns (one of them ``step``).
    resume_step: the restored checkpoint's step, or None to start a new file.
  """

  def __init__(self, path: str, columns: Sequence[str], resume_step: int | None):
    self.path, self.columns = path, tuple(columns)
    rows = []
    if resume_step is not None and files.as_path(path).exists():
      rows = [
        r
        for r in files.read_csv(path, integers=("step",), drop_unfinished=True)[1]
        if r["step"] <= resume_step
      ]
    files.write_csv(path, self.columns, rows)

  def append(self, rows: Iterable[dict]) -> None:
    files.append_csv(self.path, self.columns, rows)


class TrainLog(CsvLog):
  """``train_log.csv`` of a phase (:func:`log_columns`), see :class:`CsvLog`."""

  def __init__(self, path: str, resume_step: int | None, parts=()):
    super().__init__(path, log_columns(parts), resume_step)

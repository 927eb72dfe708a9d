"""The errors lbvae raises for problems in what a user gave it.

Library code raises these; it never prints and never exits. The command-line entry
points (:mod:`lbvae.cli`) turn any :class:`Error` into one line on stderr and exit
status 2; a notebook or a script that imports lbvae catches them like any exception::

    from lbvae import errors
    try:
      scores = lbvae.metrics.mig(codes, factors, factor_sizes=(3, 6))
    except errors.Error as e:        # a bad value: e says which and why
      ...

Everything else that escapes lbvae is a bug, not a user mistake.
"""

from __future__ import annotations

import math


class Error(Exception):
  """A problem with a user's input: a value, a path, a dataset, a file."""


class ConfigError(Error, ValueError):
  """A config field or function argument outside its allowed range or type."""


class DataError(Error, ValueError):
  """A dataset or input file that is missing, unreadable or not what was expected."""


class DiskError(Error):
  """A file or directory that cannot be written: no space left, a read-only file
  system, no permission, a file where a directory should be."""


class CheckpointError(Error):
  """A checkpoint that is missing, unreadable or incompatible with the request."""


class WorkdirBusy(Error):
  """A workdir that another live process is writing (it holds the workdir lock)."""


class Interrupted(KeyboardInterrupt):
  """A run stopped by Ctrl-C or SIGTERM: a ``KeyboardInterrupt`` (``except
  Exception`` does not catch it) whose message says where it stopped and what is
  kept; the command line prints it and exits with status 130."""


def first_line(e: BaseException, limit: int = 200) -> str:
  """The first line of ``e``'s message (at most ``limit`` characters), or its type's
  name when the message is empty: the part of a library's error worth one line."""
  lines = str(e).strip().splitlines()
  return lines[0][:limit] if lines else type(e).__name__


def require(condition, message: str, error: type[Error] = ConfigError) -> None:
  """Raises ``error(message)`` unless ``condition`` holds.

  Args:
    condition: a Python bool (never a traced array: checks run eagerly).
    message: one line naming the field or file and what was expected.
    error: the :class:`Error` subclass to raise.
  """
  if not condition:
    raise error(message)


def require_int(value, name: str, lowest: int = 1) -> None:
  """Raises :class:`ConfigError` unless ``value`` is an int (not a bool) >= ``lowest``.

  ``name`` is the field as the user writes it, e.g. ``config.window``.
  """
  require(
    isinstance(value, int) and not isinstance(value, bool) and value >= lowest,
    f"{name} must be an integer >= {lowest}, got {value!r}",
  )


def require_positive(value, name: str) -> None:
  """Raises :class:`ConfigError` unless ``value`` is a finite number > 0 (not a bool)."""
  require(
    isinstance(value, (int, float))
    and not isinstance(value, bool)
    and math.isfinite(value)
    and value > 0,
    f"{name} must be a number > 0, got {value!r}",
  )

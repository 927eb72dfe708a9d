"""Command-line boundary helpers: user mistakes become one line and exit status 2.

Synopsis::

    from lbvae import cli

    def main(argv):
      train.train(FLAGS.config, FLAGS.workdir)   # may raise lbvae.errors.Error

    if __name__ == "__main__":
      cli.run(main)                         # absl.app.run with error handling

Every entry point under ``experiments/`` runs through :func:`run`, so a bad value
(a negative beta, an unknown dataset, a missing file, a corrupt checkpoint) prints
``error: <one line naming the problem>`` on stderr and exits with status 2, with no
traceback; so does an OSError (a full or read-only disk, a missing permission).
Ctrl-C and SIGTERM (:mod:`lbvae.interrupts`) end the command within seconds with
one line saying what is kept and exit status 130. Programming errors still raise
normally.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from typing import Callable, Sequence

from lbvae import errors
from lbvae import files
from lbvae import interrupts
from lbvae import log_filters

# Errors of a write (no space, quota, read-only, no permission): named with the
# free space.
_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def fail(message: str) -> None:
  """Prints ``error: message`` on stderr and exits with status 2."""
  print(f"error: {message}", file=sys.stderr, flush=True)
  raise SystemExit(2)


INTERRUPTED = (
  "interrupted; what was written is kept (a sweep resumes from its "
  "newest checkpoint); run the same command to resume"
)


def _stop(message: str) -> None:
  """Prints ``error: message`` and ends the process at once with status 130: the
  work has unwound (locks released); the interpreter's shutdown (waiting on
  library threads) is skipped."""
  print(f"error: {message}", file=sys.stderr, flush=True)
  sys.stdout.flush()
  os._exit(interrupts.EXIT_STATUS)  # pylint: disable=protected-access


def _one_line(error: BaseException) -> str:
  text = " ".join(str(error).split()).strip("'\"")
  return text or type(error).__name__


def _parse_flags(argv):
  """Parses flags; a bad flag, config file or ``--config.x`` override exits 2."""
  from absl import flags

  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(f"bad command line: {_one_line(e)}")
  except (KeyError, AttributeError) as e:
    # A KeyError's str() is the repr of its message (escaped quotes, a literal
    # "\n"): print the message itself, a clean line per line of it (ml_collections
    # wraps it as AttributeError(KeyError(message)) for attribute access).
    while len(e.args) == 1 and isinstance(e.args[0], KeyError):
      e = e.args[0]
    text = e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else str(e)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    fail(
      "bad command line: unknown config field "
      + "\n".join(line for line in lines if line)
    )
  except (ValueError, TypeError) as e:
    fail(f"bad command line: {_one_line(e)}")
  except Exception as e:  # pylint: disable=broad-except
    # Loading a --config file runs the user's code: a SyntaxError, NameError, ...
    fail(f"bad command line: {type(e).__name__}: {_one_line(e)}")


def _check_config_loads() -> None:
  """A ``--config`` file is loaded lazily; report a failed load as one line."""
  from absl import flags

  if "config" not in flags.FLAGS:
    return
  config = flags.FLAGS.config
  if config is None:
    return
  try:
    config.keys()
  except OSError as e:
    lines = [l.strip() for l in str(e).splitlines() if l.strip()]
    fail(f"cannot load the config file: {lines[-1] if lines else e}")


# Log lines a user cannot act on, by logger: orbax's notes on opening the finished
# phase-1 checkpoints read-only (every phase 2 and evaluation), JAX's probe of
# accelerator plugins that this host does not have, and the echoes in which orbax's
# writer threads and asyncio repeat, with tracebacks, a failed checkpoint write that
# the error line already names.
QUIET = {
  "absl": (
    "CheckpointManagerOptions.read_only=True",
    "Given directory is read only",
    "_SignalingThread.run() raised an exception",
  ),
  "asyncio": (
    "Future exception was never retrieved",
    "Task exception was never retrieved",
  ),
  "jax._src.xla_bridge": ("Unable to initialize backend",),
}


def _unraisable(default):
  """An unraisable-exception hook that drops the "Event loop is closed" errors of
  orbax's callbacks after a failed write (they follow the real error)."""

  def hook(unraisable):
    if not (
      isinstance(unraisable.exc_value, RuntimeError)
      and str(unraisable.exc_value) == "Event loop is closed"
    ):
      default(unraisable)

  return hook


def quiet_known_noise() -> None:
  """Installs the :data:`QUIET` filters and the unraisable hook (the command-line
  path only; idempotent)."""
  for name, fragments in QUIET.items():
    logger = logging.getLogger(name)
    if not any(isinstance(f, log_filters.DropMessages) for f in logger.filters):
      logger.addFilter(log_filters.DropMessages(fragments))
  if getattr(sys.unraisablehook, "__qualname__", "") != "_unraisable.<locals>.hook":
    sys.unraisablehook = _unraisable(sys.unraisablehook)


def run(main: Callable[[Sequence[str]], object]) -> None:
  """Runs ``main`` under ``absl.app.run``; lbvae.errors.Error -> one line, exit 2.

  Flag-parsing problems (an unknown ``--config.x`` field, a value of the wrong type,
  a config file that does not exist or does not load) are reported the same way;
  the log lines of :data:`QUIET` are dropped. Under ``jax.distributed`` the work
  runs in a child process that :mod:`lbvae.supervisor` watches, so that a lost peer
  is one line too.
  """
  from absl import app
  from lbvae import supervisor

  if supervisor.wanted(sys.argv):  # several processes: a lost peer is one line
    raise SystemExit(supervisor.supervise(supervisor.child_command()))
  supervisor.die_with_parent()

  def _wrapped(argv):
    quiet_known_noise()
    _check_config_loads()
    interrupts.install(INTERRUPTED)
    try:
      return main(argv)
    except errors.Interrupted as e:
      _stop(str(e))
    except KeyboardInterrupt:
      _stop(INTERRUPTED)
    except errors.Error as e:
      fail(str(e))
    except RuntimeError as e:
      if not str(e).startswith("Unable to initialize backend"):
        raise
      fail(f"JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS', '')!r}: {_one_line(e)}")
    except OSError as e:  # a disk, a permission, a file that went away
      fail(
        _one_line(
          files.disk_error(e, "a file")
          if e.errno in _WRITE_ERRNOS
          else f"{e.filename or 'a file'}: {e.strerror or e}"
        )
      )

  app.run(_wrapped, flags_parser=_parse_flags)

"""Ctrl-C and SIGTERM: the sections they must not cut, and the command line's handler.

A sweep stopped part way resumes exactly from its newest checkpoint
(:mod:`lbvae.train.loop`); what a stop must not do is cut a checkpoint, a log row or
a JSON file in half. Library code marks such a section with :func:`deferred`; under
the command line's :func:`handle` (installed for SIGINT and SIGTERM by
:func:`install`, from :mod:`lbvae.cli` only) a signal that arrives inside it raises
``KeyboardInterrupt`` as the section ends, and anywhere else at once. Without
:func:`install` (a notebook, a test) Ctrl-C behaves as Python's default. A program
stuck where Python cannot raise (an XLA compilation) is ended by :func:`install`'s
watch :data:`GRACE_SECONDS` after the signal, as a killed run is: its newest
checkpoint is kept. Synopsis::

    with interrupts.deferred():      # library: a checkpoint and its logs
      save(...)
    interrupts.install(message)      # command line: once, before the work
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
import threading
import time

EXIT_STATUS = 130  # 128 + SIGINT, what shells report for Ctrl-C
GRACE_SECONDS = 5.0  # how long a stopped run may take to end by itself
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_depth = 0  # nesting of deferred() sections (main thread only)
_pending = False  # a signal arrived inside one
_raised = False  # the stop is under way: later signals change nothing


def handle(signum, frame) -> None:  # pylint: disable=unused-argument
  """The signal handler :func:`install` sets: ``KeyboardInterrupt`` now, or when the
  current :func:`deferred` section ends; a second signal (a second Ctrl-C, or the
  SIGINT a terminal sends the whole process group besides the one passed on by
  ``lbvae.supervisor``) does not cut the unwinding of the first."""
  global _pending, _raised
  if _raised:
    return
  if _depth:
    _pending = True
    return
  if _swallowed_in(frame):  # raised there it would be printed and lost: soon after
    threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
    return
  _raised = True
  raise KeyboardInterrupt(signal.Signals(signum).name)


def _swallowed_in(frame) -> bool:
  """Whether an exception raised in ``frame`` would be reported as "Exception
  ignored" and dropped: ``frame`` or a caller is a garbage-collector callback (JAX
  registers one) or a ``__del__``."""
  codes = {getattr(cb, "__code__", None) for cb in gc.callbacks}
  while frame is not None:
    if frame.f_code in codes or frame.f_code.co_name == "__del__":
      return True
    frame = frame.f_back
  return False


@contextlib.contextmanager
def deferred():
  """A section that an interrupting signal must not cut (see the module docstring)."""
  global _depth, _pending, _raised
  _depth += 1
  try:
    yield
  finally:
    _depth -= 1
    if not _depth and _pending:
      _pending, _raised = False, True
      raise KeyboardInterrupt("deferred")


def _watch(receiver: socket.socket, message: str) -> None:
  """Waits for a signal's byte, then ends the process if it is still running after
  :data:`GRACE_SECONDS`."""
  while receiver.recv(1)[0] not in SIGNALS:
    pass
  time.sleep(GRACE_SECONDS)
  sys.stderr.write(f"error: {message}\n")
  sys.stderr.flush()
  os._exit(EXIT_STATUS)  # pylint: disable=protected-access


def install(message: str) -> None:
  """Sets :func:`handle` for SIGINT and SIGTERM, and a watch that ends the process
  with ``message`` when it has not stopped :data:`GRACE_SECONDS` after a signal.

  Call from the main thread of a command-line program, before its work.
  """
  receiver, sender = socket.socketpair()
  sender.setblocking(False)
  signal.set_wakeup_fd(sender.fileno(), warn_on_full_buffer=False)
  for sig in SIGNALS:
    signal.signal(sig, handle)
  threading.Thread(
    target=_watch, args=(receiver, message), daemon=True, name="lbvae-interrupt-watch"
  ).start()
  install.sockets = (receiver, sender)  # kept open for the process's life

"""Test helper: a training hook that "kills" a run at a boundary, to test resume."""


class Killed(Exception):
  """Raised by :func:`kill_at`'s hook, as if the process had died there."""


def kill_at(phase, step):
  """A ``train(..., hook=)`` that raises :class:`Killed` after (phase, step)'s logs
  and checkpoint are written."""

  def hook(p, t):
    if (p, t) == (phase, step):
      raise Killed(f"killed at phase {p} step {t}")

  return hook


def interrupt_at(phase, step):
  """A ``train(..., hook=)`` that raises ``KeyboardInterrupt`` after (phase, step)'s
  logs and checkpoint are written, as Ctrl-C (or SIGTERM under the command line's
  handler) would there."""

  def hook(p, t):
    if (p, t) == (phase, step):
      raise KeyboardInterrupt

  return hook

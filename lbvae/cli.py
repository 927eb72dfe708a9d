"""Command-line boundary helpers: user mistakes become one line and exit status 2.

Synopsis::

    from lbvae import cli

    def main(argv):
      cfg = cli.validated(FLAGS.config)      # raises cli.UsageError
      ...

    if __name__ == "__main__":
      cli.run(main)                         # absl.app.run with error handling

Every entry point under ``experiments/`` runs through :func:`run`, so a bad value
(a negative beta, an unknown dataset, a missing file, a corrupt checkpoint) prints
``error: <one line naming the problem>`` on stderr and exits with status 2, with no
traceback. Programming errors still raise normally.
"""

from __future__ import annotations

import sys
from typing import Callable, Sequence


class UsageError(Exception):
  """A mistake in the user's input: config value, path, dataset name, file."""


def fail(message: str) -> None:
  """Prints ``error: message`` on stderr and exits with status 2."""
  print(f"error: {message}", file=sys.stderr, flush=True)
  raise SystemExit(2)


def require(condition: bool, message: str) -> None:
  """Raises :class:`UsageError` with ``message`` unless ``condition`` holds."""
  if not condition:
    raise UsageError(message)


def run(main: Callable[[Sequence[str]], object]) -> None:
  """Runs ``main`` under ``absl.app.run``; UsageError -> one line, exit 2.

  Flag-parsing problems (an unknown ``--config.x`` field, a config file that does
  not exist or does not load) are reported the same way.
  """
  from absl import app
  from absl import flags

  def _wrapped(argv):
    try:
      return main(argv)
    except UsageError as e:
      fail(str(e))

  try:
    app.run(_wrapped)
  except flags.Error as e:  # pragma: no cover - absl usually handles these itself
    fail(str(e))

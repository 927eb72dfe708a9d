"""Log records a user of lbvae cannot act on, and the filters that drop them.

:class:`DropMessages` drops a logger's records whose message holds a given fragment.
The command line installs its filters for the whole process
(``lbvae.cli.quiet_known_noise``); a library call that knows it provokes a note holds
one only while it runs (:func:`dropped`), so a notebook keeps every other record.

Synopsis::

    with log_filters.dropped("absl", ("Given directory is read only",)):
      manager = ocp.CheckpointManager(directory, options=read_only_options)
"""

from __future__ import annotations

import contextlib
import logging
from typing import Sequence


class DropMessages(logging.Filter):
  """Drops records whose message contains one of ``fragments``."""

  def __init__(self, fragments: Sequence[str]):
    super().__init__()
    self.fragments = tuple(fragments)

  def filter(self, record: logging.LogRecord) -> bool:
    message = str(record.msg)
    return not any(f in message for f in self.fragments)


@contextlib.contextmanager
def dropped(logger: str, fragments: Sequence[str]):
  """Drops ``logger``'s records that contain one of ``fragments`` while the body runs."""
  target = logging.getLogger(logger)
  drop = DropMessages(fragments)
  target.addFilter(drop)
  try:
    yield
  finally:
    target.removeFilter(drop)

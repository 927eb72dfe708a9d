"""Test helper: a call that may hang (a read of a FIFO), run in a daemon thread."""

import threading


def within(call, seconds: float = 10.0):
  """What ``call()`` returned or raised within ``seconds``, or the string "hung"."""
  out = {}

  def target():
    try:
      out["value"] = call()
    except Exception as e:  # pylint: disable=broad-except
      out["error"] = e

  thread = threading.Thread(target=target, daemon=True)
  thread.start()
  thread.join(seconds)
  return out.get("error", out.get("value", "hung"))

"""What a training run shows while it works: a progress bar and a run log.

:class:`Progress` is a tqdm bar per phase with steps/s, ETA and model-steps/s (steps/s
times the grid size); :class:`RunLog` prints messages and appends them, time-stamped,
to ``DIR/run.log``.

Synopsis::

    log = progress.RunLog(paths.run_log)
    log.info("resuming phase 1 from step 400")
    bar = progress.Progress("phase 1", total=1000, initial=400, grid_size=6)
    bar.update(100)
    rate = bar.close()       # steady-state steps/s (first update = compile excluded)
"""

from __future__ import annotations

import sys
import time

import tqdm

from lbvae import files


class RunLog:
  """Messages to stdout and, time-stamped, to a log file.

  Args:
    path: the log file (appended), or None for stdout only.
    echo: also print to stdout.
  """

  def __init__(self, path: str | None, echo: bool = True):
    self.path = path
    self.echo = echo

  def info(self, message: str) -> None:
    if self.path:
      stamp = time.strftime("%Y-%m-%d %H:%M:%S")
      files.append_text(self.path, f"{stamp} {message}\n")
    if self.echo:
      tqdm.tqdm.write(message, file=sys.stdout)
      sys.stdout.flush()

  def warning(self, message: str) -> None:
    self.info(f"warning: {message}")


class Progress:
  """A tqdm bar over the steps of a phase, with model-steps/s.

  Args:
    desc: label, e.g. ``"phase 1"``.
    total: the phase's steps.
    initial: steps already done (when resuming).
    grid_size: members trained in parallel.
    enabled: False -> no bar (the rates are still measured).
  """

  def __init__(
    self, desc: str, *, total: int, initial: int, grid_size: int, enabled: bool = True
  ):
    self.grid_size = grid_size
    tty = sys.stderr.isatty()
    self._bar = tqdm.tqdm(
      total=total,
      initial=initial,
      desc=desc,
      unit="step",
      dynamic_ncols=True,
      disable=not enabled,
      mininterval=0.5 if tty else 30.0,
      file=sys.stderr,
    )
    self._last = time.perf_counter()
    self.first_seconds = None  # the first update (includes compilation)
    self.steady_seconds = 0.0
    self.steady_steps = 0

  def update(self, steps: int) -> None:
    now = time.perf_counter()
    dt, self._last = now - self._last, now
    if self.first_seconds is None:
      self.first_seconds = dt
    else:
      self.steady_seconds += dt
      self.steady_steps += steps
    if self.steady_steps:
      rate = self.steady_steps / self.steady_seconds
      self._bar.set_postfix_str(
        f"{rate * self.grid_size:.2f} model-steps/s", refresh=False
      )
    self._bar.update(steps)

  def steps_per_second(self) -> float | None:
    """Steps/s after the first update (which includes compilation), or None."""
    return self.steady_steps / self.steady_seconds if self.steady_steps else None

  def close(self) -> float | None:
    self._bar.close()
    return self.steps_per_second()

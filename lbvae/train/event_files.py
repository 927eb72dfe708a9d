"""Live curves: TensorBoard event files beside a workdir's CSVs (``tensorboard --logdir DIR``).

One TensorBoard run (a folder with one event file) per model, so that a quantity's
curves of every member share one chart::

    DIR/tensorboard/train/p1_b4_l0_s0/   each log row's logged fields (train_log.csv)
    DIR/tensorboard/eval/p2_b4_l2_s0/    the pass's scores, reconstructions, traversals

The run's name says its phase, β, λ and seed (``p<phase>_b<β>_l<λ>_s<seed>``, the
evaluation cache's ids). The files are TFRecord-framed ``Event`` protocol buffers as
TensorBoard's own writer frames them; only the process that writes the CSVs writes
them. A resumed phase first drops the events after the restored step
(:func:`trim`), as it drops the CSV rows, so no step is written twice; the CSVs stay
the source of the report. Synopsis::

    log = event_files.EventLog(event_files.run_dir(workdir, "train", "p1_b4_l0_s0"))
    log.write_scalars(100, {"nll": 31.2, "kl": 4.1})
    log.write_images(100, {"reconstructions": png_bytes})
    event_files.read(log.directory)      # [(step, tag, value or PNG bytes)]
"""

from __future__ import annotations

import os
import struct
import time
from typing import Mapping

from tensorboard.compat.proto import event_pb2
from tensorboard.compat.proto import summary_pb2
from tensorboard.summary.writer import record_writer

from lbvae import files

FOLDER = "tensorboard"
# The one event file of a run ("tfevents" in its name is how TensorBoard finds it).
FILE_NAME = "events.out.tfevents.lbvae"
FILE_VERSION = "brain.Event:2"


def run_name(phase: int, strength: float, lam: float, seed: int) -> str:
  """A model's run: ``p2_b16_l4_s0`` (phase, β, λ, seed)."""
  return f"p{phase}_b{strength:g}_l{lam:g}_s{seed}"


def run_dir(workdir: str, kind: str, run: str) -> str:
  """``DIR/tensorboard/<kind>/<run>``: ``kind`` is "train" or "eval"."""
  return os.path.join(files.absolute(workdir), FOLDER, kind, run)


class _Framing:
  """What :class:`record_writer.RecordWriter` writes to, kept in memory."""

  def __init__(self):
    self.data = b""

  def write(self, data: bytes) -> None:
    self.data += data


def _records(events) -> bytes:
  framing = _Framing()
  writer = record_writer.RecordWriter(framing)
  for event in events:
    writer.write(event.SerializeToString())
  return framing.data


def _png_size(png: bytes) -> tuple[int, int]:
  """(height, width) of a PNG image, read from its header."""
  width, height = struct.unpack(">II", png[16:24])
  return height, width


class EventLog:
  """The event file of one run, appended to (the interface of clu's metric writers:
  ``write_scalars``, ``write_images``).

  Args:
    directory: the run's folder (:func:`run_dir`); created on the first write.
  """

  def __init__(self, directory: str):
    self.directory = directory
    self.path = os.path.join(directory, FILE_NAME)

  def _write(self, step: int, values: list) -> None:
    events = []
    if not files.as_path(self.path).exists():
      events.append(event_pb2.Event(wall_time=time.time(), file_version=FILE_VERSION))
    events.append(
      event_pb2.Event(
        wall_time=time.time(), step=int(step), summary=summary_pb2.Summary(value=values)
      )
    )
    files.append_bytes(self.path, _records(events))

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    """One event at ``step`` with a scalar per tag."""
    self._write(
      step,
      [
        summary_pb2.Summary.Value(tag=k, simple_value=float(v))
        for k, v in scalars.items()
      ],
    )

  def write_images(self, step: int, images: Mapping[str, bytes]) -> None:
    """One event at ``step`` with a PNG image (its file's bytes) per tag."""
    values = []
    for tag, png in images.items():
      height, width = _png_size(png)
      values.append(
        summary_pb2.Summary.Value(
          tag=tag,
          image=summary_pb2.Summary.Image(
            height=height, width=width, colorspace=4, encoded_image_string=png
          ),
        )
      )
    self._write(step, values)


def _events(path: str) -> list:
  """The events of a run's file, in order; a record cut short (a run killed while
  appending) ends them."""
  data, out, at = files.read_bytes(path), [], 0
  while at + 12 <= len(data):
    (length,) = struct.unpack("<Q", data[at : at + 8])
    end = at + 12 + length + 4
    if end > len(data):
      break
    out.append(event_pb2.Event.FromString(data[at + 12 : at + 12 + length]))
    at = end
  return out


def read(directory: str) -> list[tuple[int, str, float | bytes]]:
  """A run's (step, tag, scalar or PNG bytes), in the order written ([] without
  a file)."""
  path = os.path.join(directory, FILE_NAME)
  if not files.as_path(path).exists():
    return []
  out = []
  for event in _events(path):
    for v in event.summary.value:
      kind = v.WhichOneof("value")
      out.append(
        (
          int(event.step),
          v.tag,
          v.simple_value if kind == "simple_value" else v.image.encoded_image_string,
        )
      )
  return out


def trim(directory: str, step: int | None) -> None:
  """Drops a run's events after ``step`` (None: the whole file)."""
  path = os.path.join(directory, FILE_NAME)
  if not files.as_path(path).exists():
    return
  if step is None:
    files.as_path(path).unlink()
    return
  files.write_bytes(
    path, _records([e for e in _events(path) if e.step <= step or e.file_version])
  )


class MemberCurves:
  """The training runs of a phase's members: each log row's logged fields.

  Args:
    workdir: the run directory.
    phase: 1 or 2.
    members: the phase's members (``lbvae.train.members.Member``), in row order.
    resume_step: the restored checkpoint's step (events after it are dropped), or
      None for a phase that starts now (its members' earlier events are dropped).
  """

  def __init__(self, workdir: str, phase: int, members, resume_step: int | None):
    self.logs = [
      EventLog(run_dir(workdir, "train", run_name(phase, m.strength, m.lam, m.seed)))
      for m in members
    ]
    for log in self.logs:
      trim(log.directory, resume_step)

  def append(self, rows, fields) -> None:
    """Writes each member's row (``member``, ``step`` and the ``fields``)."""
    for r in rows:
      self.logs[r["member"]].write_scalars(r["step"], {k: r[k] for k in fields})

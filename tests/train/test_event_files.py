"""TensorBoard event files: what is written reads back with TensorBoard's own loader,
a trimmed run keeps the events up to its step, a record cut short is dropped."""

import io

import numpy as np
from matplotlib import image as mpimg
from tensorboard.backend.event_processing import event_file_loader

from lbvae.train import event_files


def _png(height, width):
  buffer = io.BytesIO()
  pixels = np.random.default_rng(0).uniform(size=(height, width, 3))
  mpimg.imsave(buffer, pixels, format="png")
  return buffer.getvalue()


def _loaded(directory):
  """(step, tag, value) read by TensorBoard's own event loader."""
  path = f"{directory}/{event_files.FILE_NAME}"
  out = []
  for event in event_file_loader.LegacyEventFileLoader(path).Load():
    assert event.file_version or event.summary.value
    for v in event.summary.value:
      out.append(
        (
          event.step,
          v.tag,
          v.simple_value
          if v.HasField("simple_value")
          else (v.image.height, v.image.width, v.image.encoded_image_string),
        )
      )
  return out


def test_scalars_and_images_read_back_with_tensorboard(tmp_path):
  directory = event_files.run_dir(
    str(tmp_path), "train", event_files.run_name(2, 16.0, 4.0, 0)
  )
  assert directory.endswith("tensorboard/train/p2_b16_l4_s0")
  log = event_files.EventLog(directory)
  for step in (1, 2, 3):
    log.write_scalars(step, {"nll": 10.0 / step, "kl": float(step)})
  png = _png(20, 30)
  log.write_images(3, {"reconstructions": png})
  want = [
    (1, "nll", 10.0),
    (1, "kl", 1.0),
    (2, "nll", 5.0),
    (2, "kl", 2.0),
    (3, "nll", np.float32(10 / 3)),
    (3, "kl", 3.0),
  ]
  got = _loaded(directory)
  assert got[:6] == want and got[6] == (3, "reconstructions", (20, 30, png))
  assert event_files.read(directory)[:6] == want
  event_files.trim(directory, 2)
  assert _loaded(directory) == want[:4]
  log.write_scalars(3, {"nll": 1.0})  # appended after the trim
  assert _loaded(directory)[-1] == (3, "nll", 1.0)
  event_files.trim(directory, None)
  assert event_files.read(directory) == []


def test_a_record_cut_short_is_left_out(tmp_path):
  log = event_files.EventLog(str(tmp_path / "run"))
  log.write_scalars(1, {"nll": 1.0})
  log.write_scalars(2, {"nll": 2.0})
  with open(log.path, "r+b") as f:
    f.truncate(f.seek(0, 2) - 3)
  assert event_files.read(log.directory) == [(1, "nll", 1.0)]
  event_files.trim(log.directory, 5)
  log.write_scalars(3, {"nll": 3.0})
  assert _loaded(log.directory) == [(1, "nll", 1.0), (3, "nll", 3.0)]

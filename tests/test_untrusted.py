"""lbvae.untrusted: a FIFO never blocks a read, and memory is bounded by the bytes
actually read, never by the sizes a file declares."""

import io
import os
import struct
import tracemalloc
import zipfile

import h5py
import numpy as np

from lbvae import errors
from lbvae import files
from lbvae.data import containers
from lbvae.released import layout
from lbvae.released import torch_pth
from tests.helpers.within import within


def _release(fifo) -> None:
  """Opens the FIFO's writing end once, so that a reader stuck on it ends."""
  try:
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
  except OSError:
    pass


def test_a_fifo_in_place_of_a_file_is_refused_unread(tmp_path):
  fifo = str(tmp_path / "metrics_beta_1_seed_0.npz")
  os.mkfifo(fifo)
  h5 = str(tmp_path / "3dshapes.h5")
  with h5py.File(h5, "w") as f:  # the images' raw data in an external file: the FIFO
    f.create_dataset(
      "images", shape=(4, 64, 64, 3), dtype="u1", external=[(fifo, 0, 4 * 64 * 64 * 3)]
    )
  try:
    for read in (
      lambda: layout.read_metrics(fifo),
      lambda: files.read_npz(fifo),
      lambda: containers.require_file(fifo, "published at ..."),
    ):
      e = within(read)
      assert isinstance(e, errors.DataError) and "is a FIFO" in str(e), e
    e = within(lambda: containers.h5_member(h5, "images"))
    assert isinstance(e, errors.DataError), e
    assert "stored in an external file" in str(e) and "is a FIFO" in str(e)
  finally:
    _release(fifo)


def _peak(read) -> tuple[BaseException | None, int]:
  """(what ``read()`` raised, the peak bytes allocated meanwhile)."""
  tracemalloc.start()
  try:
    read()
    raised = None
  except Exception as e:  # pylint: disable=broad-except
    raised = e
  peak = tracemalloc.get_traced_memory()[1]
  tracemalloc.stop()
  return raised, peak


def _lying_zip(name: str, data: bytes, declared: int) -> bytes:
  """A zip of one deflated member whose headers declare ``declared`` bytes."""
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(name, data)
  raw = bytearray(buffer.getvalue())
  raw[22:26] = struct.pack("<I", declared)  # local header
  central = raw.rfind(b"PK\x01\x02")
  raw[central + 24 : central + 28] = struct.pack("<I", declared)
  return bytes(raw)


def test_memory_is_bounded_by_the_bytes_read_not_the_sizes_declared(tmp_path):
  # A metrics .npz whose .npy header declares float64[2**29] (4 GiB) over 64 bytes.
  buffer = io.BytesIO()
  np.lib.format.write_array_header_1_0(
    buffer, {"descr": "<f8", "fortran_order": False, "shape": (2**29,)}
  )
  npz = tmp_path / "metrics_beta_1_seed_0.npz"
  with zipfile.ZipFile(npz, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("mi_matrix.npy", buffer.getvalue() + bytes(64))
  raised, peak = _peak(lambda: layout.read_metrics(str(npz)))
  assert isinstance(raised, errors.DataError) and "float64[536870912]" in str(raised)
  assert peak < 16 * 2**20, peak
  # A .pth whose pickle member declares 1 KiB and inflates to 64 MiB.
  pth = tmp_path / "betavae_beta_1_seed_0.pth"
  pth.write_bytes(_lying_zip("archive/data.pkl", bytes(64 * 2**20), 1024))
  raised, peak = _peak(lambda: torch_pth.load(str(pth)))
  assert isinstance(raised, errors.DataError), raised
  assert peak < 16 * 2**20, peak

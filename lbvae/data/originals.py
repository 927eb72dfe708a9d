"""The original distribution files of dSprites, Shapes3D and MPI3D (docs/datasets.md).

* dSprites (Matthey et al., 2017): ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``
  (``imgs`` uint8[737280, 64, 64] of 0/1, ``latents_classes`` int[737280, 6]; the
  pickled ``metadata`` is never read) or its ``.hdf5`` twin (``imgs``, ``latents/classes``). The
  colour column (one value) is dropped; the compressed images are converted once into a
  0/255 uint8 cache (:mod:`lbvae.data.cache`), matching the procedural dSprites.
* Shapes3D (Burgess & Kim, 2018; ``3dshapes.h5``): ``images`` uint8[480000, 64, 64, 3],
  ``labels`` float64[480000, 6] of factor values, turned into class indices on the
  published value grids. Memory-mapped when the HDF5 dataset is contiguous, else cached.
* MPI3D (Gondal et al., 2019): ``mpi3d_{real,toy,realistic}.npz``, ``images``
  uint8[1036800, 64, 64, 3] in the documented row-major factor order (sizes 6, 6, 2, 3,
  3, 40, 40; no labels). Memory-mapped when stored uncompressed, else cached.

Every dataset's labels are checked to form the full grid; a file in another row
order is served through a row permutation (or converted into grid order).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from lbvae import errors
from lbvae.data import arrays
from lbvae.data import cache
from lbvae.data import containers
from lbvae.data import dsprites
from lbvae.data import scenes

_SHAPES3D_VALUES = (
  np.linspace(0.0, 1.0, 10, endpoint=False),
  np.linspace(0.0, 1.0, 10, endpoint=False),
  np.linspace(0.0, 1.0, 10, endpoint=False),
  np.linspace(0.75, 1.25, 8),
  np.arange(4.0),
  np.linspace(-30.0, 30.0, 15),
)


@dataclasses.dataclass(frozen=True)
class Layout:
  """What a distribution file must contain.

  Attributes:
    name: registry name of the dataset.
    factor_names: factor names in grid order.
    factor_sizes: values per factor in grid order.
    num_channels: image channels (a 1-channel file has no channel axis).
    published: where the file is published, for the missing-file message.
    values: for label columns holding factor values (3dshapes.h5), the value grid
      of each factor; None when the file holds class indices or no labels.
  """

  name: str
  factor_names: tuple[str, ...]
  factor_sizes: tuple[int, ...]
  num_channels: int
  published: str
  values: tuple[np.ndarray, ...] | None = None

  @property
  def num_images(self) -> int:
    return int(np.prod(self.factor_sizes, dtype=np.int64))


_MPI3D = (
  "object_color",
  "object_shape",
  "object_size",
  "camera_height",
  "background_color",
  "horizontal_axis",
  "vertical_axis",
)
_MPI3D_WHERE = (
  "MPI3D is published at github.com/rr-learning/disentanglement_dataset "
  "(file {name}.npz)"
)

LAYOUTS = {
  "dsprites": Layout(
    "dsprites",
    dsprites.FACTOR_NAMES,
    dsprites.FACTOR_SIZES,
    1,
    "dSprites is published at github.com/deepmind/dsprites-dataset (file "
    "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz or .hdf5)",
  ),
  "shapes3d": Layout(
    "shapes3d",
    scenes.FACTOR_NAMES,
    scenes.FACTOR_SIZES,
    3,
    "3dshapes.h5 is published at storage.googleapis.com/3d-shapes/3dshapes.h5 "
    "(see github.com/deepmind/3d-shapes)",
    _SHAPES3D_VALUES,
  ),
  **{
    name: Layout(
      name, _MPI3D, (6, 6, 2, 3, 3, 40, 40), 3, _MPI3D_WHERE.format(name=name)
    )
    for name in ("mpi3d_real", "mpi3d_toy", "mpi3d_realistic")
  },
}


def _expect(
  member: containers.ArrayMember, dtype_kind: str, shape: tuple, what: str
) -> None:
  ok = member.dtype.kind in dtype_kind and member.shape == shape
  expected = {"u": "uint8", "iu": "int", "f": "float"}[dtype_kind]
  errors.require(
    ok,
    f"{member.path}: {member.key!r} is {member.describe()}; expected "
    f"{expected}{list(shape)} ({what})",
  )


def _grid_rows(layout: Layout, classes: np.ndarray, path: str) -> np.ndarray:
  """File row -> grid index, checking that the labels cover the grid once."""
  sizes = np.asarray(layout.factor_sizes)
  bad = (classes < 0) | (classes >= sizes)
  if bad.any():
    col = int(np.nonzero(bad.any(axis=0))[0][0])
    raise errors.DataError(
      f"{path}: labels of {layout.factor_names[col]!r} fall outside 0..{sizes[col] - 1}"
    )
  strides = np.cumprod(np.r_[sizes[1:], 1][::-1])[::-1]
  index = classes.astype(np.int64) @ strides
  errors.require(
    np.bincount(index, minlength=layout.num_images).max() == 1,
    f"{path}: labels repeat some factor combinations; expected each of "
    f"the {layout.num_images} grid points exactly once",
  )
  return index


def _classes_from_values(layout: Layout, values: np.ndarray, path: str) -> np.ndarray:
  """Class indices of factor values ``float[N, F]`` (the nearest published grid
  point); a NaN, an infinity or a value off the grid is a DataError."""
  classes = np.empty(values.shape, np.int64)
  for f, grid in enumerate(layout.values):
    col = values[:, f]
    bad = np.flatnonzero(~np.isfinite(col))
    errors.require(
      bad.size == 0,
      f"{path}: labels: factor "
      f"{layout.factor_names[f]!r} has {bad.size} non-finite value(s) "
      f"({col[bad[:1]].tolist()} in row {bad[:1].tolist()})",
      errors.DataError,
    )
    k = np.abs(col[:, None] - grid[None, :]).argmin(axis=1)
    step = np.min(np.diff(grid)) if len(grid) > 1 else 1.0
    off = np.abs(col - grid[k]) > 0.01 * step
    errors.require(
      not off.any(),
      f"{path}: label {layout.factor_names[f]!r} has value "
      f"{col[off][:1]} off the published grid {np.round(grid, 4).tolist()}",
    )
    classes[:, f] = k
  return classes


def _serve(
  layout: Layout,
  member: containers.ArrayMember,
  grid_of_row,
  scale: int,
  conversion: str,
) -> arrays.ArrayDataset:
  """Memory-maps the images in place when possible, else converts them once."""
  image_shape = (layout.num_images, 64, 64, layout.num_channels)
  identity = grid_of_row is None or np.array_equal(
    grid_of_row, np.arange(layout.num_images)
  )
  if member.offset is not None and scale == 1:
    images = member.memmap().reshape(image_shape)
    rows = None
    if not identity:
      rows = np.empty(layout.num_images, np.int64)
      rows[grid_of_row] = np.arange(layout.num_images)
    return arrays.ArrayDataset(
      layout.name,
      layout.factor_names,
      layout.factor_sizes,
      images,
      "file",
      member.path,
      rows,
    )

  def fill(out):
    start = 0
    for chunk in member.chunks():
      if scale != 1:
        errors.require(
          chunk.max(initial=0) <= 1,
          f"{member.path}: {member.key!r} "
          "holds values above 1; expected binary 0/1 images",
        )
        chunk = chunk * np.uint8(scale)
      stop = start + chunk.shape[0]
      target = slice(start, stop) if identity else grid_of_row[start:stop]
      out[target] = chunk.reshape((-1,) + image_shape[1:])
      start = stop

  path = cache.cache_path(layout.name, [member.path], conversion)
  images = cache.cached_uint8(
    path, image_shape, fill, f"{layout.name} from {member.path}"
  )
  return arrays.ArrayDataset(
    layout.name, layout.factor_names, layout.factor_sizes, images, "file", member.path
  )


def open_dsprites(
  path: str, layout: Layout = LAYOUTS["dsprites"]
) -> arrays.ArrayDataset:
  """dSprites from its .npz or .hdf5 distribution file (images served 0/255)."""
  containers.require_file(path, layout.published)
  if containers.is_zip(path):
    imgs = containers.npz_member(path, "imgs")
    labels = containers.npz_member(path, "latents_classes")
  else:
    imgs = containers.h5_member(path, "imgs")
    labels = containers.h5_member(path, "latents/classes")
  n = layout.num_images
  _expect(imgs, "u", (n, 64, 64), "binary dSprites images")
  _expect(
    labels, "iu", (n, 1 + len(layout.factor_sizes)), "colour + dSprites latent classes"
  )
  classes = containers.read_small(labels)[:, 1:]
  grid_of_row = _grid_rows(layout, classes, path)
  return _serve(
    layout, imgs, grid_of_row, 255, f"dsprites-x255-grid-{layout.factor_sizes}"
  )


def open_shapes3d(
  path: str, layout: Layout = LAYOUTS["shapes3d"]
) -> arrays.ArrayDataset:
  """Shapes3D from 3dshapes.h5 (labels converted to class indices)."""
  containers.require_file(path, layout.published)
  images = containers.h5_member(path, "images")
  labels = containers.h5_member(path, "labels")
  n = layout.num_images
  _expect(images, "u", (n, 64, 64, 3), "RGB Shapes3D images")
  _expect(labels, "f", (n, len(layout.factor_sizes)), "Shapes3D factor values")
  classes = _classes_from_values(layout, containers.read_small(labels), path)
  return _serve(
    layout,
    images,
    _grid_rows(layout, classes, path),
    1,
    f"shapes3d-grid-{layout.factor_sizes}",
  )


def open_mpi3d(path: str, layout: Layout) -> arrays.ArrayDataset:
  """An MPI3D variant from its .npz (documented row-major factor order)."""
  containers.require_file(path, layout.published)
  images = containers.npz_member(path, "images")
  _expect(images, "u", (layout.num_images, 64, 64, 3), f"RGB {layout.name} images")
  return _serve(layout, images, None, 1, f"mpi3d-{layout.factor_sizes}")


def load(name: str, path: str) -> arrays.ArrayDataset:
  """Opens dataset ``name`` (a key of :data:`LAYOUTS`) from its original file."""
  path = os.path.expanduser(path)
  if name == "dsprites":
    return open_dsprites(path)
  if name == "shapes3d":
    return open_shapes3d(path)
  return open_mpi3d(path, LAYOUTS[name])

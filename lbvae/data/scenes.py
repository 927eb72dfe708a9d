"""``shapes3d_procedural``: ray-cast 3-D scenes with Shapes3D's factor structure.

Shapes3D (Burgess & Kim, 2018) shows one object in a room: floor hue 10 x wall hue 10 x
object hue 10 x scale 8 x shape 4 x orientation 15 = 480 000 RGB 64x64 images. This
dataset has the same grid, factor names and value ranges, rendered on demand by an
analytic ray caster in ``jax.numpy`` (jit- and vmap-able); it is our own scene, not
Shapes3D (docs/datasets.md). Scene (y up): floor ``y = 0``, back wall ``z = 2``, one
object on the floor at the origin; pinhole camera at (0, 1.6, -4) looking at
(0, 0.55, 0), 44 degree vertical field of view; a directional light from the upper left
front, Lambertian shading (ambient 0.35) and hard shadows. Factors:

* floor_hue, wall_hue, object_hue: hue in {0, 0.1, ..., 0.9}, colour = HSV(hue, 0.8, 1);
* scale: ``s`` in linspace(0.75, 1.25, 8), every length of the object x s;
* shape: 0 cube (side s), 1 cylinder (radius 0.4 s, length 1.2 s), 2 sphere (radius
  0.55 s), 3 capsule (radius 0.33 s, segment 0.9 s); cylinder and capsule lie on their
  side, axis horizontal, so their yaw changes the silhouette;
* orientation: yaw in linspace(-30, 30, 15) degrees about the vertical; yaw 0 shows the
  cube face-on and the cylinder/capsule axis left-right (a sphere looks the same at
  every yaw).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lbvae.data import procedural

FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
SHAPES = ("cube", "cylinder", "sphere", "capsule")
REGIONS = ("floor", "wall", "object")

HUES = np.linspace(0.0, 1.0, 10, endpoint=False).astype(np.float32)
SCALES = np.linspace(0.75, 1.25, 8, dtype=np.float32)
ORIENTATIONS_DEG = np.linspace(-30.0, 30.0, 15, dtype=np.float32)

SATURATION = 0.8
AMBIENT = 0.35
WALL_Z = 2.0
EYE = np.array([0.0, 1.6, -4.0], np.float32)
TARGET = np.array([0.0, 0.55, 0.0], np.float32)
FOV_DEG = 44.0
LIGHT = np.array([-0.5, 1.0, -0.7], np.float32) / np.linalg.norm([-0.5, 1.0, -0.7])
_FAR = 1e6
_EPS = 1e-6

# Object dimensions in units of the scale s: cube half-side; cylinder radius and
# half-length; sphere radius; capsule radius and half-segment.
_CUBE_HALF, _CYL_R, _CYL_L = 0.5, 0.4, 0.6
_SPHERE_R, _CAPSULE_R, _CAPSULE_L = 0.55, 0.33, 0.45


def _camera_rays() -> np.ndarray:
  """Unit ray directions through the 64x64 pixel centres: float32[64, 64, 3]."""
  cols, rows = procedural.pixel_grid(1)
  forward = TARGET - EYE
  forward /= np.linalg.norm(forward)
  right = np.cross(np.array([0.0, 1.0, 0.0]), forward)
  right /= np.linalg.norm(right)
  up = np.cross(forward, right)
  half = np.tan(np.radians(FOV_DEG) / 2)
  u = (2 * cols - 1) * half
  v = (1 - 2 * rows) * half
  d = forward + u[..., None] * right + v[..., None] * up
  return (d / np.linalg.norm(d, axis=-1, keepdims=True)).astype(np.float32)


def _hsv(hue: jnp.ndarray) -> jnp.ndarray:
  """Hue float[...] -> RGB float[..., 3] at saturation SATURATION, value 1."""
  h = hue[..., None] * 6.0
  rgb = jnp.clip(
    jnp.abs(h - jnp.array([3.0, 2.0, 4.0])) * jnp.array([1, -1, -1])
    + jnp.array([-1.0, 2.0, 2.0]),
    0.0,
    1.0,
  )
  return 1.0 - SATURATION * (1.0 - rgb)


def _sphere(o, d, centre_x, r):
  """Distance along the rays to spheres centred at (centre_x, 0, 0), or _FAR."""
  ox = o[0] - centre_x
  b = ox * d[0] + o[1] * d[1] + o[2] * d[2]
  c = ox * ox + o[1] * o[1] + o[2] * o[2] - r * r
  disc = b * b - c
  t = -b - jnp.sqrt(jnp.maximum(disc, 0.0))
  return jnp.where((disc > 0) & (t > _EPS), t, _FAR)


def _cylinder_side(o, d, r, half_len):
  """Distance to the side of a cylinder along x with |x| <= half_len, or _FAR."""
  a = d[1] * d[1] + d[2] * d[2] + _EPS
  b = o[1] * d[1] + o[2] * d[2]
  c = o[1] * o[1] + o[2] * o[2] - r * r
  disc = b * b - a * c
  t = (-b - jnp.sqrt(jnp.maximum(disc, 0.0))) / a
  x = o[0] + t * d[0]
  return jnp.where((disc > 0) & (t > _EPS) & (jnp.abs(x) <= half_len), t, _FAR)


def _cylinder_caps(o, d, r, half_len):
  """Distance to the nearer flat cap x = +-half_len of radius r, or _FAR."""
  inv = 1.0 / jnp.where(jnp.abs(d[0]) < _EPS, _EPS, d[0])
  best = _FAR
  for sign in (-1.0, 1.0):
    t = (sign * half_len - o[0]) * inv
    y, z = o[1] + t * d[1], o[2] + t * d[2]
    best = jnp.where((t > _EPS) & (y * y + z * z <= r * r), jnp.minimum(t, best), best)
  return best


def _box(o, d, half):
  """Distance to an axis-aligned cube of half-size ``half``, or _FAR."""
  near, far = -_FAR, _FAR
  for oi, di in zip(o, d):
    inv = 1.0 / jnp.where(jnp.abs(di) < _EPS, _EPS, di)
    t1, t2 = (-half - oi) * inv, (half - oi) * inv
    near = jnp.maximum(near, jnp.minimum(t1, t2))
    far = jnp.minimum(far, jnp.maximum(t1, t2))
  return jnp.where((near <= far) & (near > _EPS), near, _FAR)


def _to_local(v, cos, sin):
  """Rotation by -yaw about the vertical axis, on (x, y, z) component arrays."""
  return (cos * v[0] - sin * v[2], v[1], sin * v[0] + cos * v[2])


def _object_hit(shape, size, yaw, origin, d):
  """Ray-object intersection.

  Args:
    shape: int32[N, 1, 1]; size, yaw: float32[N, 1, 1].
    origin, d: (x, y, z) tuples of float32[N, H, W] ray origins and directions
      in world space.

  Returns:
    (t float32[N, H, W], _FAR where missed; the object-frame origin and direction
    as (x, y, z) tuples; the rotation (cos, sin) of the yaw).
  """
  half_height = size * jnp.select(
    [shape == 0, shape == 1, shape == 2], [_CUBE_HALF, _CYL_R, _SPHERE_R], _CAPSULE_R
  )
  cos, sin = jnp.cos(yaw), jnp.sin(yaw)
  o = _to_local((origin[0], origin[1] - half_height, origin[2]), cos, sin)
  dl = _to_local(d, cos, sin)
  cube = _box(o, dl, size * _CUBE_HALF)
  cylinder = jnp.minimum(
    _cylinder_side(o, dl, size * _CYL_R, size * _CYL_L),
    _cylinder_caps(o, dl, size * _CYL_R, size * _CYL_L),
  )
  sphere = _sphere(o, dl, 0.0, size * _SPHERE_R)
  capsule = jnp.minimum(
    _cylinder_side(o, dl, size * _CAPSULE_R, size * _CAPSULE_L),
    jnp.minimum(
      _sphere(o, dl, -size * _CAPSULE_L, size * _CAPSULE_R),
      _sphere(o, dl, size * _CAPSULE_L, size * _CAPSULE_R),
    ),
  )
  t = jnp.select(
    [shape == 0, shape == 1, shape == 2], [cube, cylinder, sphere], capsule
  )
  return t, o, dl, (cos, sin)


def _object_normal(shape, size, p, cos, sin):
  """World-space unit normal at object-frame surface points p = (x, y, z)."""
  x, y, z = p
  # Cube: the face whose coordinate is largest in magnitude.
  ax, ay, az = jnp.abs(x), jnp.abs(y), jnp.abs(z)
  on_x = (ax >= ay) & (ax >= az)
  on_y = ~on_x & (ay >= az)
  cube = (
    jnp.where(on_x, jnp.sign(x), 0.0),
    jnp.where(on_y, jnp.sign(y), 0.0),
    jnp.where(~on_x & ~on_y, jnp.sign(z), 0.0),
  )
  # Cylinder: caps where |x| reaches the half-length, else radial.
  cap = ax >= size * _CYL_L * (1 - 1e-4)
  cylinder = (
    jnp.where(cap, jnp.sign(x), 0.0),
    jnp.where(cap, 0.0, y),
    jnp.where(cap, 0.0, z),
  )
  # Capsule: away from the nearest point of its segment; sphere: radial.
  capsule = (x - jnp.clip(x, -size * _CAPSULE_L, size * _CAPSULE_L), y, z)
  n = [
    jnp.select([shape == 0, shape == 1, shape == 2], [c0, c1, c2], c3)
    for c0, c1, c2, c3 in zip(cube, cylinder, p, capsule)
  ]
  norm = jnp.sqrt(n[0] ** 2 + n[1] ** 2 + n[2] ** 2) + _EPS
  n = [c / norm for c in n]
  return (cos * n[0] + sin * n[2], n[1], -sin * n[0] + cos * n[2])


def _trace(factors: jnp.ndarray):
  """Casts primary and shadow rays.

  Returns:
    (region int32[N, 64, 64]: 0 floor, 1 wall, 2 object; rgb float32[N, 64, 64, 3]).
  """
  factors = jnp.asarray(factors, jnp.int32)
  num = factors.shape[0]
  floor_hue, wall_hue, object_hue, scale, shape, yaw = (
    factors[:, i, None, None] for i in range(6)
  )  # each int32[N, 1, 1]
  hues = jnp.asarray(HUES)
  size = jnp.asarray(SCALES)[scale]
  yaw = jnp.radians(jnp.asarray(ORIENTATIONS_DEG)[yaw])
  rays = _camera_rays()
  d = tuple(
    jnp.broadcast_to(jnp.asarray(rays[..., i]), (num, 64, 64)) for i in range(3)
  )
  eye = tuple(jnp.full((num, 64, 64), EYE[i]) for i in range(3))

  t_floor = jnp.where(d[1] < -_EPS, -EYE[1] / jnp.minimum(d[1], -_EPS), _FAR)
  t_wall = jnp.where(d[2] > _EPS, (WALL_Z - EYE[2]) / jnp.maximum(d[2], _EPS), _FAR)
  t_obj, o, dl, (cos, sin) = _object_hit(shape, size, yaw, eye, d)
  region = jnp.where(
    t_obj < jnp.minimum(t_floor, t_wall), 2, jnp.where(t_floor < t_wall, 0, 1)
  )
  t = jnp.minimum(t_obj, jnp.minimum(t_floor, t_wall))
  n_obj = _object_normal(
    shape, size, tuple(oi + t * di for oi, di in zip(o, dl)), cos, sin
  )
  normal = (
    jnp.where(region == 2, n_obj[0], 0.0),
    jnp.where(region == 2, n_obj[1], jnp.where(region == 0, 1.0, 0.0)),
    jnp.where(region == 2, n_obj[2], jnp.where(region == 0, 0.0, -1.0)),
  )

  # Shadow rays from floor and wall points towards the light.
  point = tuple(ei + t * di + 1e-3 * ni for ei, di, ni in zip(eye, d, normal))
  light = tuple(jnp.full((num, 64, 64), LIGHT[i]) for i in range(3))
  t_shadow = _object_hit(shape, size, yaw, point, light)[0]
  shadowed = (region != 2) & (t_shadow < _FAR)
  lambert = normal[0] * LIGHT[0] + normal[1] * LIGHT[1] + normal[2] * LIGHT[2]
  diffuse = jnp.where(shadowed, 0.0, jnp.maximum(lambert, 0.0))
  albedo = jnp.where(
    (region == 0)[..., None],
    _hsv(hues[floor_hue]),
    jnp.where((region == 1)[..., None], _hsv(hues[wall_hue]), _hsv(hues[object_hue])),
  )
  return region, albedo * (AMBIENT + (1.0 - AMBIENT) * diffuse)[..., None]


def render_with_regions(factors: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
  """Renders scenes and says what each pixel shows (pure, jit- and vmap-able).

  Args:
    factors: int32[N, 6] classes of (floor_hue, wall_hue, object_hue, scale, shape,
      orientation).

  Returns:
    (images uint8[N, 64, 64, 3] RGB, regions int32[N, 64, 64]: 0 floor, 1 wall,
    2 object).
  """
  region, rgb = _trace(factors)
  return jnp.round(jnp.clip(rgb, 0.0, 1.0) * 255.0).astype(jnp.uint8), region


def render(factors: jnp.ndarray) -> jnp.ndarray:
  """Renders scenes: int32[N, 6] factor classes -> uint8[N, 64, 64, 3] RGB."""
  return render_with_regions(factors)[0]


def load() -> procedural.ProceduralDataset:
  """The procedural scene dataset (480 000 images, rendered on demand)."""
  return procedural.ProceduralDataset(
    "shapes3d_procedural",
    FACTOR_NAMES,
    FACTOR_SIZES,
    num_channels=3,
    render=render,
    chunk_size=64,
  )

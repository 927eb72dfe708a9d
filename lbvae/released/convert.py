"""The authors' PyTorch state dict of the convolutional VAE -> our Flax parameters.

The reference implementation of arXiv 2602.09277 (§4) saves the architecture of
:mod:`lbvae.models` under these names (PyTorch layouts; each with .bias [out])::

  encoder.encoder.{0,2,4,6}.weight   Conv2d            [out, in, 4, 4]
  encoder.fc1 / fc_mu / fc_logvar    Linear            [out, in]
  decoder.fc1 / fc2                  Linear            [out, in]
  decoder.decoder.{0,2,4,6}.weight   ConvTranspose2d   [in, out, 4, 4]

Three conventions are undone (docs/released_models.md): images NCHW -> NHWC; the
(C, H, W) flatten order of the encoder's last feature map (and of ``decoder.fc2``'s
output) -> (H, W, C), permuting ``encoder.fc1``'s rows and ``decoder.fc2``'s columns
and bias; ``torch.nn.ConvTranspose2d`` convolves the dilated input with the spatially
flipped kernel, ``flax.linen.ConvTranspose`` with the kernel as stored, so the kernel is
flipped and laid out [kh, kw, in, out]. Synopsis::

  params = convert.flax_params(state)          # state: {name: np.ndarray}
  latent_dim, num_channels = convert.dims(state)
"""

from __future__ import annotations

import numpy as np

from lbvae import errors
from lbvae import models

ENCODER_CONVS = (
  "encoder.encoder.0",
  "encoder.encoder.2",
  "encoder.encoder.4",
  "encoder.encoder.6",
)
DECODER_DECONVS = (
  "decoder.decoder.0",
  "decoder.decoder.2",
  "decoder.decoder.4",
  "decoder.decoder.6",
)
LINEARS = (
  "encoder.fc1",
  "encoder.fc_mu",
  "encoder.fc_logvar",
  "decoder.fc1",
  "decoder.fc2",
)
MODULES = ENCODER_CONVS + LINEARS + DECODER_DECONVS
GRID = (4, 4)  # the encoder's last feature map, H x W


def dims(state: dict, name: str = "state dict") -> tuple[int, int]:
  """(latent_dim, num_channels) of a state dict of the authors' architecture."""
  _check_names(state, name)
  mu, conv = (
    np.shape(state[k]) for k in ("encoder.fc_mu.weight", "encoder.encoder.0.weight")
  )
  errors.require(
    len(mu) == 2 and len(conv) == 4,
    f"{name}: not the authors' conv "
    f"VAE: encoder.fc_mu.weight {mu}, encoder.encoder.0.weight {conv}",
    errors.DataError,
  )
  return int(mu[0]), int(conv[1])


def _check_names(state: dict, name: str) -> None:
  expected = {f"{m}.{p}" for m in MODULES for p in ("weight", "bias")}
  missing = sorted(expected - set(state))
  errors.require(
    not missing,
    f"{name}: not the authors' conv VAE: missing "
    f"{', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}",
    errors.DataError,
  )
  extra = sorted(k for k in state if k not in expected)
  errors.require(
    not extra,
    f"{name}: not the authors' conv VAE: unexpected parameters {', '.join(extra[:4])}",
    errors.DataError,
  )


def _conv(w: np.ndarray) -> np.ndarray:
  """Conv2d [out, in, kh, kw] -> flax Conv [kh, kw, in, out]."""
  return w.transpose(2, 3, 1, 0)


def _deconv(w: np.ndarray) -> np.ndarray:
  """ConvTranspose2d [in, out, kh, kw] -> flax ConvTranspose [kh, kw, in, out],
  spatially flipped (see the module docstring)."""
  return w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1)


def _dense(w: np.ndarray) -> np.ndarray:
  """Linear [out, in] -> flax Dense [in, out]."""
  return w.T


def _chw_rows_to_hwc(kernel: np.ndarray, channels: int) -> np.ndarray:
  """Dense kernel [C*H*W, out] with (C, H, W)-ordered rows -> (H, W, C) rows."""
  out = kernel.shape[1]
  return (
    kernel.reshape((channels,) + GRID + (out,)).transpose(1, 2, 0, 3).reshape(-1, out)
  )


def _chw_cols_to_hwc(kernel: np.ndarray, channels: int) -> np.ndarray:
  """Dense kernel [in, C*H*W] with (C, H, W)-ordered columns -> (H, W, C)."""
  inp = kernel.shape[0]
  return kernel.reshape((inp, channels) + GRID).transpose(0, 2, 3, 1).reshape(inp, -1)


def flax_params(state: dict, name: str = "state dict") -> dict:
  """Our :class:`lbvae.models.VAE` parameters from the authors' state dict.

  Args:
    state: name -> np.ndarray (e.g. from :func:`lbvae.released.torch_pth.load`),
      the names and PyTorch layouts of the module docstring.
    name: how error messages name the state dict (e.g. its file).

  Returns:
    The nested dict ``{"encoder": {...}, "decoder": {...}}`` of float32 arrays that
    ``models.VAE(latent_dim, num_channels).apply`` takes (any ``impl``).

  Raises:
    lbvae.errors.DataError: a name is missing or unexpected, or a shape is not the
      architecture's.
  """
  latent_dim, num_channels = dims(state, name)
  _check_shapes(state, latent_dim, num_channels, name)
  f32 = {k: np.asarray(v, np.float32) for k, v in state.items()}
  flat = models.ENCODER_CHANNELS[-1]
  enc = {
    f"Conv_{i}": {"kernel": _conv(f32[f"{m}.weight"]), "bias": f32[f"{m}.bias"]}
    for i, m in enumerate(ENCODER_CONVS)
  }
  enc["Dense_0"] = {
    "kernel": _chw_rows_to_hwc(_dense(f32["encoder.fc1.weight"]), flat),
    "bias": f32["encoder.fc1.bias"],
  }
  enc["mu"] = {
    "kernel": _dense(f32["encoder.fc_mu.weight"]),
    "bias": f32["encoder.fc_mu.bias"],
  }
  enc["logvar"] = {
    "kernel": _dense(f32["encoder.fc_logvar.weight"]),
    "bias": f32["encoder.fc_logvar.bias"],
  }
  dec_first = models.DECODER_CHANNELS[0]
  fc2_bias = f32["decoder.fc2.bias"]
  dec = {
    "Dense_0": {
      "kernel": _dense(f32["decoder.fc1.weight"]),
      "bias": f32["decoder.fc1.bias"],
    },
    "Dense_1": {
      "kernel": _chw_cols_to_hwc(_dense(f32["decoder.fc2.weight"]), dec_first),
      "bias": _chw_cols_to_hwc(fc2_bias[None], dec_first)[0],
    },
  }
  dec.update(
    {
      f"ConvTranspose_{i}": {
        "kernel": _deconv(f32[f"{m}.weight"]),
        "bias": f32[f"{m}.bias"],
      }
      for i, m in enumerate(DECODER_DECONVS)
    }
  )
  return _contiguous({"encoder": enc, "decoder": dec})


def torch_shapes(latent_dim: int, num_channels: int) -> dict[str, tuple]:
  """The PyTorch shape of every parameter of the authors' architecture."""
  k = models.KERNEL
  enc = (num_channels,) + models.ENCODER_CHANNELS
  dec = models.DECODER_CHANNELS[:1] + models.DECODER_CHANNELS + (num_channels,)
  flat, hidden = GRID[0] * GRID[1] * models.ENCODER_CHANNELS[-1], models.HIDDEN
  weights = {m: (enc[i + 1], enc[i]) + k for i, m in enumerate(ENCODER_CONVS)}
  weights.update({m: (dec[i], dec[i + 1]) + k for i, m in enumerate(DECODER_DECONVS)})
  weights.update(
    {
      "encoder.fc1": (hidden, flat),
      "encoder.fc_mu": (latent_dim, hidden),
      "encoder.fc_logvar": (latent_dim, hidden),
      "decoder.fc1": (hidden, latent_dim),
      "decoder.fc2": (flat, hidden),
    }
  )
  out = {}
  for m, shape in weights.items():
    out[f"{m}.weight"] = shape
    out[f"{m}.bias"] = (shape[1],) if m in DECODER_DECONVS else (shape[0],)
  return out


def max_checkpoint_bytes() -> int:
  """The most bytes a ``.pth`` of the authors' conv VAE can need: its parameters at
  the largest latent_dim (``models.MAX_LATENT_DIM``) and 3 channels, in float64 (the
  widest storage), three times over (a training checkpoint adds Adam's two moments),
  plus 1 MiB for the pickle and the small records."""
  shapes = torch_shapes(models.MAX_LATENT_DIM, 3).values()
  return 3 * 8 * sum(int(np.prod(s)) for s in shapes) + 2**20


def _check_shapes(state: dict, latent_dim: int, num_channels: int, name: str) -> None:
  bad = [
    f"{k} {tuple(np.shape(state[k]))} (expected {want})"
    for k, want in torch_shapes(latent_dim, num_channels).items()
    if tuple(np.shape(state[k])) != want
  ]
  errors.require(
    not bad,
    f"{name}: not the authors' conv VAE: shapes differ: {'; '.join(bad[:3])}",
    errors.DataError,
  )


def _contiguous(tree):
  if isinstance(tree, dict):
    return {k: _contiguous(v) for k, v in tree.items()}
  return np.ascontiguousarray(tree)

"""lbvae.released.convert: the imported models compute what PyTorch computed.

The fixture's three state dicts were written by PyTorch 2.13 with the authors' module
names, together with PyTorch's own μ and log σ² on four images and decoder logits
on two latent codes (tests/fixtures/make_torch_fixture.py).
"""

import functools

import jax
import numpy as np
import pytest

from lbvae import errors
from lbvae import models
from lbvae.released import convert
from lbvae.released import torch_pth
from tests.released import conftest

TOL = 1e-5


def _outputs(params, images_nchw, z, impl="reference", jit=True):
  model = models.VAE(latent_dim=10, num_channels=1, impl=impl)
  x = images_nchw.transpose(0, 2, 3, 1).astype(np.float32) / 255  # NCHW -> NHWC
  enc = functools.partial(model.apply, method=models.VAE.encode)
  dec = functools.partial(model.apply, method=models.VAE.decode)
  if jit:
    enc, dec = jax.jit(enc), jax.jit(dec)
  mu, logvar = enc({"params": params}, x)
  logits = dec({"params": params}, z)
  return np.asarray(mu), np.asarray(logvar), np.asarray(logits).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("stem", conftest.STEMS)
@pytest.mark.parametrize(
  "impl, jit", [("reference", True), ("subpixel", True), ("reference", False)]
)
def test_reproduces_pytorch(released_dir, torch_outputs, stem, impl, jit):
  sd = torch_pth.load(conftest.model_path(released_dir, stem))
  assert convert.dims(sd) == (10, 1)
  mu, logvar, logits = _outputs(
    convert.flax_params(sd), torch_outputs["images"], torch_outputs["z"], impl, jit
  )
  # The outputs are O(1), so a wrong layout could not hide under the tolerance.
  assert np.abs(torch_outputs[f"{stem}/logits"]).max() > 1
  np.testing.assert_allclose(mu, torch_outputs[f"{stem}/mu"], atol=TOL, rtol=0)
  np.testing.assert_allclose(logvar, torch_outputs[f"{stem}/logvar"], atol=TOL, rtol=0)
  np.testing.assert_allclose(logits, torch_outputs[f"{stem}/logits"], atol=TOL, rtol=0)


@pytest.mark.parametrize(
  "mistake", ["no flip", "no flatten permutation", "no unflatten permutation"]
)
def test_each_convention_matters(released_dir, torch_outputs, monkeypatch, mistake):
  """Leaving out any one of the three corrections changes the outputs by O(0.1+)."""
  if mistake == "no flip":
    monkeypatch.setattr(convert, "_deconv", lambda w: w.transpose(2, 3, 0, 1))
  elif mistake == "no flatten permutation":
    monkeypatch.setattr(convert, "_chw_rows_to_hwc", lambda k, c: k)
  else:
    monkeypatch.setattr(convert, "_chw_cols_to_hwc", lambda k, c: k)
  stem = conftest.STEMS[1]
  sd = torch_pth.load(conftest.model_path(released_dir, stem))
  mu, _, logits = _outputs(
    convert.flax_params(sd), torch_outputs["images"], torch_outputs["z"]
  )
  err = max(
    np.abs(mu - torch_outputs[f"{stem}/mu"]).max(),
    np.abs(logits - torch_outputs[f"{stem}/logits"]).max(),
  )
  assert err > 0.1


def test_other_architectures_are_refused(released_dir):
  sd = torch_pth.load(conftest.model_path(released_dir, conftest.STEMS[0]))
  missing = {k: v for k, v in sd.items() if k != "decoder.fc2.bias"}
  with pytest.raises(errors.DataError, match="missing decoder.fc2.bias"):
    convert.flax_params(missing, "m.pth")
  extra = dict(sd, **{"encoder.fc2.weight": np.zeros((3, 3), np.float32)})
  with pytest.raises(errors.DataError, match="unexpected parameters encoder.fc2"):
    convert.flax_params(extra, "m.pth")
  for key, shape in (
    ("encoder.fc1.weight", (128, 1024)),
    ("encoder.fc1.weight", (256, 2048)),
    ("decoder.decoder.2.bias", (64,)),
  ):
    wrong = dict(sd, **{key: np.zeros(shape, np.float32)})
    with pytest.raises(errors.DataError, match=f"shapes differ: {key} "):
      convert.flax_params(wrong, "m.pth")


def test_shapes_agree_with_our_model():
  """The PyTorch shapes, converted, are exactly our model's parameter shapes."""
  for latent_dim, channels in ((10, 1), (15, 3)):
    shapes = convert.torch_shapes(latent_dim, channels)
    fake = {k: np.zeros(v, np.float32) for k, v in shapes.items()}
    got = jax.tree.map(np.shape, convert.flax_params(fake))
    want = jax.tree.map(
      lambda a: tuple(a.shape),
      jax.eval_shape(
        lambda: models.init_params(
          jax.random.key(0), latent_dim=latent_dim, num_channels=channels
        )
      ),
    )
    assert got == want

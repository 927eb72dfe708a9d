"""compute.evaluate_stack on two tiny models: its scores are lbvae.metrics' on the
same codes, whatever the padding of the model axis, jitted or not."""

import numpy as np
import pytest

from lbvae import data
from lbvae import metrics
from lbvae import pytrees
from lbvae.evaluation import compute
from lbvae.evaluation import encode
from lbvae.evaluation import samples as samples_lib
from lbvae.metrics import heldout
from tests.evaluation import conftest

OPTIONS = compute.StackOptions(latent_dim=10, num_bins=10, batch_size=64)


@pytest.fixture(scope="module")
def inputs():
  ds = data.load("dsprites")
  s = samples_lib.draw(ds, seed=0, num_train=120, num_test=40)
  votes = compute.draw_votes(ds, seed=0, num_votes=6, batch_size=8)
  return conftest.random_params(2, seed=3), s, ds, votes


@pytest.fixture(scope="module")
def evaluated(inputs):
  params, s, ds, votes = inputs
  calls = []
  results, times = compute.evaluate_stack(
    params, s, ds, OPTIONS, votes=votes, on_progress=lambda *c: calls.append(c)
  )
  return results, times, calls


def test_scores_are_the_metrics_of_the_models_codes(inputs, evaluated):
  params, s, ds, _ = inputs
  results, times, calls = evaluated
  assert len(results) == 2
  # every model finishes each stage once, and the announcements say what runs
  done = {}
  for stage, n in calls:
    done[stage] = done.get(stage, 0) + n
  assert done[compute.ENCODING] == done[compute.SCORING] == 2
  said = [stage for stage, n in calls if n == 0]
  assert said[0] == compute.ENCODING
  assert "scoring: DCI-D, DCI-C, DCI-I (accuracy), model 2 of 2" in said
  assert "scoring: MI, MIG, SAP, I_m, FactorVAE" in said
  assert times.encode > 0 and times.metrics > 0
  sizes = tuple(int(k) for k in ds.factor_sizes)
  for m, result in enumerate(results):
    one = pytrees.take(params, np.asarray([m]))
    kw = dict(latent_dim=10, num_channels=1, batch_size=64)
    z_train = encode.encode_models(one, s.images_train, **kw)["mu"][0]
    test = encode.encode_models(
      one, s.images_test, with_nll=True, noise_seed=s.seed, **kw
    )
    want = metrics.all_metrics(
      z_train,
      s.factors_train,
      test["mu"][0],
      s.factors_test,
      factor_sizes=sizes,
      num_bins=10,
    )
    for name, value in want.items():
      if np.ndim(value) == 0:
        assert result.scores[name] == pytest.approx(float(value), rel=1e-4, abs=1e-6), (
          name
        )
    np.testing.assert_allclose(result.mi, want["mi_matrix"], rtol=1e-4, atol=1e-6)
    trees = metrics.dci(z_train, s.factors_train, test["mu"][0], s.factors_test)
    for part in ("disentanglement", "completeness", "informativeness"):
      assert result.scores[f"dci_{part}"] == pytest.approx(trees[part], abs=1e-6)
    assert result.scores["heldout_nll"] == pytest.approx(
      float(test["nll"][0].mean()), rel=1e-5
    )
    kl = heldout.kl_per_latent(test["mu"][0], test["logvar"][0])
    np.testing.assert_allclose(result.kl_per_latent, kl, rtol=1e-5)
    assert result.scores["heldout_kl"] == pytest.approx(float(kl.sum()), rel=1e-5)
    assert 0.0 <= result.scores["factor_vae"] <= 1.0
    assert result.mi_posterior is None  # no stratified sample given
    assert result.images.originals.shape == (40, 64, 64, 1)
    assert result.images.traversals.shape[:2] == (10, len(compute.TRAVERSAL_VALUES))
  # Two different models: a mix-up of the model axis would show.
  assert results[0].scores["heldout_nll"] != results[1].scores["heldout_nll"]


def _same(a, b, rtol):
  assert a.scores.keys() == b.scores.keys()
  for name in a.scores:
    assert a.scores[name] == pytest.approx(b.scores[name], rel=rtol, abs=1e-6), name
  np.testing.assert_allclose(a.mi, b.mi, rtol=rtol, atol=1e-6)


def test_padding_to_the_model_bucket_changes_nothing(inputs, evaluated, monkeypatch):
  params, s, ds, votes = inputs
  monkeypatch.setattr(compute, "MODEL_BUCKET", 1)  # 2 models, no padding
  unpadded, _ = compute.evaluate_stack(params, s, ds, OPTIONS, votes=votes)
  for a, b in zip(evaluated[0], unpadded):
    _same(a, b, rtol=1e-6)


@pytest.mark.slow
def test_jitted_and_unjitted_metrics_agree(inputs, evaluated):
  """The vmapped metrics of the stack, compiled as one call and not."""
  params, s, ds, _ = inputs
  kw = dict(latent_dim=10, num_channels=1, batch_size=64)
  z_train = encode.encode_models(params, s.images_train, **kw)["mu"]
  z_test = encode.encode_models(params, s.images_test, **kw)["mu"]
  args = (
    z_train,
    s.factors_train.astype(np.int32),
    z_test,
    s.factors_test.astype(np.int32),
    np.zeros((2, 1, 2, 10), np.float32),
    np.zeros((1,), np.int32),
  )
  static = dict(
    functions=compute.compiled_functions(),
    factor_sizes=tuple(int(k) for k in ds.factor_sizes),
    num_bins=10,
    num_train_votes=0,
  )
  jitted = compute.stack_metrics(*args, **static)
  unjitted = compute.stack_metrics.__wrapped__
  eager = unjitted(*args, **static)
  assert jitted.keys() == eager.keys()
  for name in jitted:
    np.testing.assert_allclose(
      jitted[name], eager[name], rtol=1e-4, atol=1e-6, err_msg=name
    )
  for m, result in enumerate(evaluated[0]):  # and they are the stack's scores
    assert result.scores["mig"] == pytest.approx(
      float(eager["mig"][m]), rel=1e-4, abs=1e-6
    )

"""Instances and starts of the protocol: published by default, generated on request."""

import numpy as np
import pytest

from lbvae import errors
from lbvae.linear import published
from lbvae.linear import setups
from tests.helpers import config_files

linear_config = config_files.load("linear")


def _config(**fields):
  config = linear_config.get_config()
  for key, value in fields.items():
    config[key] = value
  return config


def test_published_setup_uses_the_stream():
  config = _config(n_values=(100,), num_inits=3)
  ((n, setup),) = setups.build(config).items()
  draws = published.replay()[100]
  assert n == 100 and config.instance == "published"
  np.testing.assert_array_equal(setup.problem.gamma, draws.problem.gamma)
  np.testing.assert_array_equal(setup.fixed_point[0], draws.fixed_point[0][:3])
  np.testing.assert_array_equal(setup.contraction[1], draws.fixed_point[1][0])
  l_z = setup.gradient.l_z
  np.testing.assert_array_equal(l_z, np.tril(l_z))
  # The draws are symmetric to rounding only; Cholesky reads the lower triangle.
  np.testing.assert_allclose(
    np.tril(l_z @ np.swapaxes(l_z, 1, 2)),
    np.tril(draws.gradient[0][:3]),
    rtol=1e-12,
    atol=1e-12,
  )
  assert setup.gradient.A.shape == (3, 100, 10)


def test_published_ab_starts_are_read_from_a_file(tmp_path):
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(4, 50, 10)), rng.normal(size=(4, 10, 50))
  np.savez(tmp_path / "ab.npz", A_n50=a, B_n50=b)
  config = _config(n_values=(50,), num_inits=2)
  config.gradient.ab_starts = str(tmp_path / "ab.npz")
  setup = setups.build(config)[50]
  np.testing.assert_array_equal(setup.gradient.A, a[:2])
  np.testing.assert_array_equal(setup.gradient.B, b[:2])


def test_generated_setup_differs_and_repeats():
  config = _config(instance="generated", n_values=(20,), num_inits=2)
  one, two = setups.build(config)[20], setups.build(config)[20]
  np.testing.assert_array_equal(one.problem.gamma, two.problem.gamma)
  np.testing.assert_array_equal(one.gradient.l_z, two.gradient.l_z)
  assert one.problem.gamma.shape == (20, 5)


@pytest.mark.parametrize(
  "fields,message",
  [
    (dict(instance="mine"), "config.instance must be one of"),
    (dict(n_values=(50, 60)), "config.n_values has 60"),
    (dict(num_inits=51), "config.num_inits=51"),
  ],
)
def test_validate_names_the_bad_field(fields, message):
  with pytest.raises(errors.Error, match=message):
    setups.validate(_config(**fields))

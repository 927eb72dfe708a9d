"""Instances: generation, the factored Sigma_Y, and loading with clear errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae import errors
from lbvae.linear import problem as problem_lib


def test_generate_is_published_style():
  prob = problem_lib.generate(jax.random.key(0), n=200, s=5, noise_var=0.05)
  assert prob.gamma.shape == (200, 5) and prob.gamma.dtype == jnp.float64
  var = np.diag(np.asarray(prob.sigma_v))
  assert np.all((var >= 0.1) & (var <= 1.0))
  np.testing.assert_array_equal(np.asarray(prob.sigma_v), np.diag(var))
  assert abs(float(jnp.std(prob.gamma)) - 1.0) < 0.1
  sy = np.asarray(problem_lib.sigma_y(prob))
  assert np.linalg.eigvalsh(sy).min() == pytest.approx(0.05, rel=1e-9)


def test_times_sigma_y_equals_dense_product():
  prob = problem_lib.generate(jax.random.key(1), n=9, s=3, noise_var=0.2)
  b = jax.random.normal(jax.random.key(2), (4, 9))
  np.testing.assert_allclose(
    np.asarray(problem_lib.times_sigma_y(prob, b)),
    np.asarray(b @ problem_lib.sigma_y(prob)),
    rtol=1e-12,
  )
  h = float(problem_lib.entropy_y(prob))
  sy = np.asarray(problem_lib.sigma_y(prob))
  assert h == pytest.approx(0.5 * np.linalg.slogdet(2 * np.pi * np.e * sy)[1])


def test_load_accepts_diagonal_or_full_sigma_v(tmp_path):
  rng = np.random.default_rng(0)
  gamma = rng.normal(size=(7, 2))
  np.savez(tmp_path / "diag.npz", Gamma=gamma, Sigma_V=np.array([0.5, 0.2]))
  prob = problem_lib.load(str(tmp_path / "diag.npz"), default_noise_var=0.05)
  np.testing.assert_array_equal(prob.sigma_v, np.diag([0.5, 0.2]))
  assert float(prob.noise_var) == 0.05
  np.savez(
    tmp_path / "full.npz", Gamma=gamma, Sigma_V=np.diag([0.5, 0.2]), noise_var=0.1
  )
  prob = problem_lib.load(str(tmp_path / "full.npz"), default_noise_var=0.05)
  assert float(prob.noise_var) == 0.1 and prob.n == 7 and prob.s == 2


@pytest.mark.parametrize(
  "arrays,message",
  [
    (None, "no such file"),
    ("garbage", "not a readable .npz"),
    ({"Gamma": np.ones((4, 2))}, "missing array 'Sigma_V'"),
    ({"Gamma": np.ones(4), "Sigma_V": np.ones(1)}, "Gamma must be"),
    ({"Gamma": np.ones((4, 2)), "Sigma_V": np.ones(3)}, "Sigma_V must have shape"),
    ({"Gamma": np.ones((4, 2)), "Sigma_V": -np.ones(2)}, "must be positive"),
    (
      {"Gamma": np.ones((4, 2)), "Sigma_V": np.array([[1.0, 2.0], [2.0, 1.0]])},
      "positive definite",
    ),
    (
      {"Gamma": np.ones((4, 2)), "Sigma_V": np.ones(2), "noise_var": 0.0},
      "noise_var must be > 0",
    ),
    ({"Gamma": np.full((4, 2), np.nan), "Sigma_V": np.ones(2)}, "non-finite"),
  ],
)
def test_load_rejects_bad_files_with_one_line(tmp_path, arrays, message):
  path = tmp_path / "p.npz"
  if isinstance(arrays, dict):
    np.savez(path, **arrays)
  elif arrays == "garbage":
    path.write_text("not an npz")
  with pytest.raises(errors.Error, match=message) as err:
    problem_lib.load(str(path), default_noise_var=0.05)
  assert "\n" not in str(err.value)


def test_load_merges_files_and_takes_noise_from_sigma_y(tmp_path):
  """The authors' layout: Gamma and Sigma_Y in one file, Sigma_V in another."""
  rng = np.random.default_rng(1)
  gamma, var = rng.normal(size=(6, 2)), np.array([0.3, 0.9])
  sigma_y = gamma @ np.diag(var) @ gamma.T + 0.05 * np.eye(6)
  np.savez(tmp_path / "gy.npz", Gamma=gamma, Sigma_Y=sigma_y)
  np.save(tmp_path / "Sigma_V.npy", np.diag(var))
  paths = f"{tmp_path / 'gy.npz'},{tmp_path / 'Sigma_V.npy'}"
  prob = problem_lib.load(paths, default_noise_var=0.05)
  np.testing.assert_array_equal(prob.gamma, gamma)
  np.testing.assert_array_equal(prob.sigma_v, np.diag(var))
  assert float(prob.noise_var) == 0.05  # the configured value: they agree
  prob = problem_lib.load(paths, default_noise_var=0.2)
  np.testing.assert_allclose(float(prob.noise_var), 0.05, rtol=1e-12)
  np.savez(
    tmp_path / "bad.npz", Gamma=gamma, Sigma_Y=sigma_y + 0.01 * rng.normal(size=(6, 6))
  )
  with pytest.raises(errors.Error, match="Sigma_Y is not Gamma"):
    problem_lib.load(
      f"{tmp_path / 'bad.npz'},{tmp_path / 'Sigma_V.npy'}", default_noise_var=0.05
    )
  with pytest.raises(errors.Error, match="appears twice"):
    problem_lib.load(
      f"{tmp_path / 'gy.npz'},{tmp_path / 'gy.npz'}", default_noise_var=0.05
    )


def test_solvers_refuse_float32():
  """Without x64 the solvers would silently run in float32: they raise instead."""
  import lbvae
  from lbvae.linear import fixed_point, gradient, init as init_lib, published

  draws = published.replay(sizes=(50,), num_starts=1)[50]
  b0, w0 = draws.fixed_point[0][0], draws.fixed_point[1][0]
  with jax.enable_x64(False):
    with pytest.raises(lbvae.ConfigError, match="needs float64"):
      fixed_point.solve(
        draws.problem, b0, w0, beta=4.0, lam=0.0, tol=1e-6, max_iters=10
      )
    with pytest.raises(lbvae.ConfigError, match="needs float64"):
      fixed_point.solve_grid(
        draws.problem, b0[None], w0[None], np.array([4.0]), np.array([0.0]), 1e-6, 10
      )
    p0 = init_lib.gradient(jax.random.key(0), n=50, m=10)
    with pytest.raises(lbvae.ConfigError, match="needs float64"):
      gradient.init_grid(
        jax.tree.map(lambda x: x[None], p0),
        np.array([4.0]),
        np.array([0.0]),
        gradient.Settings(),
      )

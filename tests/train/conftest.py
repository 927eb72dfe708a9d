"""Shared fixtures for the lbvae.train tests: a tiny grid on procedural dSprites."""

import flax.linen as nn
import pytest

import lbvae.data as data
from lbvae import models
from lbvae.train import config as config_lib
from lbvae.train import members as members_lib
from lbvae.train import state as state_lib
from lbvae.train import step as step_lib

BATCH = 4
BETAS = (1.0, 8.0)
NUM_SEEDS = 2


@pytest.fixture(scope="session")
def dsprites():
  return data.load("dsprites")


@pytest.fixture(scope="session")
def source(dsprites):
  return data.batch_source(dsprites, "device")


@pytest.fixture(scope="session")
def tiny_config():
  c = config_lib.defaults()
  c.batch_size = BATCH
  c.num_seeds = 2
  c.window = 2
  return c


@pytest.fixture(scope="session")
def model(tiny_config):
  return state_lib.make_model(tiny_config, 1)


@pytest.fixture(scope="session")
def tx(tiny_config):
  return state_lib.make_optimizer(tiny_config)


@pytest.fixture(scope="session")
def train_step(model, tx):
  return step_lib.make_train_step(model, tx)


class TinyVAE(nn.Module):
  """A dense stand-in for the conv VAE (same call signature), for cheap tests of
  machinery that does not depend on the layers: eager steps, lax.map, host feeding."""

  latent_dim: int = 3
  num_channels: int = 1

  @nn.compact
  def __call__(self, x, rng):
    h = nn.relu(nn.Dense(8)(x.reshape(x.shape[0], -1)))
    mu = nn.Dense(self.latent_dim)(h)
    logvar = 0.1 * nn.Dense(self.latent_dim)(h)
    z = models.reparameterize(rng, mu, logvar)
    return nn.Dense(x[0].size)(z).reshape(x.shape), mu, logvar


@pytest.fixture(scope="session")
def tiny_model():
  return TinyVAE()


@pytest.fixture(scope="session")
def tiny_step(tiny_model, tx):
  return step_lib.make_train_step(tiny_model, tx)


@pytest.fixture(scope="module")
def members():
  return members_lib.phase1_grid(BETAS, NUM_SEEDS)  # (β, seed): (1,0) (1,1) (8,0) (8,1)


@pytest.fixture(scope="module")
def keys():
  return state_lib.seed_keys(0, NUM_SEEDS)


@pytest.fixture(scope="module")
def tiny_initial(tiny_model, tx, members, keys, tiny_config):
  return state_lib.phase1_state(
    tiny_model, tx, members, keys, window=tiny_config.window
  )

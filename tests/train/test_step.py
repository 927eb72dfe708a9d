"""One model's train step (lbvae.train.step): eager and jitted agree."""

import jax
import numpy as np

from lbvae.train import step as step_lib
from tests.helpers.grid_states import assert_same_training
from tests.train.conftest import BATCH


def test_unjitted_step_equals_jitted(tiny_step, tiny_initial, source, keys):
  train_step = tiny_step
  one = jax.tree.map(lambda a: a[0], tiny_initial)
  x = source.gather(
    source.operand, step_lib.batch_indices(keys.data[0], 0, BATCH, len(source.dataset))
  )
  rng = step_lib.noise_key(one.rng, 0)
  eager, m_eager = train_step(one, x, rng)
  jitted, m_jit = jax.jit(train_step)(one, x, rng)
  assert_same_training(
    jax.tree.map(lambda a: a[None], eager), jax.tree.map(lambda a: a[None], jitted)
  )
  np.testing.assert_allclose(m_eager["loss"], m_jit["loss"], rtol=1e-6)
  assert int(eager.step) == 1 and bool(eager.healthy)

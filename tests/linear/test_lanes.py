"""The lane scheduler: every problem gets exactly its own loop, in queue order."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lbvae.linear import lanes


class Count(NamedTuple):
  value: jax.Array
  done: jax.Array


def _init(target):
  return Count(jnp.zeros((), jnp.int32), jnp.zeros((), bool))


def _step(state, target):
  value = state.value + 1
  return Count(value, value >= target)


@pytest.mark.parametrize("num_lanes", [1, 3, 4, 100])
def test_each_problem_runs_its_own_number_of_steps(num_lanes):
  targets = jnp.array([7, 1, 30, 2, 2, 15, 1, 9, 4, 3, 11])
  run = jax.jit(
    lambda t: lanes.run(_init, _step, lambda s: s.value, t, num_lanes=num_lanes)
  )
  np.testing.assert_array_equal(np.asarray(run(targets)), np.asarray(targets))


def test_outputs_keep_queue_order_for_pytrees():
  targets = jnp.arange(1, 9)
  out = lanes.run(
    _init, _step, lambda s: {"twice": 2 * s.value, "done": s.done}, targets, num_lanes=3
  )
  np.testing.assert_array_equal(np.asarray(out["twice"]), 2 * np.arange(1, 9))
  assert bool(jnp.all(out["done"]))


def test_empty_queue_is_refused():
  with pytest.raises(ValueError):
    lanes.run(_init, _step, lambda s: s.value, jnp.zeros((0,), jnp.int32), num_lanes=2)

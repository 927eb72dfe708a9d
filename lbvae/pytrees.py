"""Small operations on pytrees, most with a leading member (grid) axis on every leaf.

A grid state, a stack of restored parameters and a batch of metrics all carry the
models of a grid on axis 0 of every leaf. These are the few operations every part of
lbvae needs on them; each works on NumPy and JAX arrays alike, inside ``jit`` or not.

Synopsis::

    sub = pytrees.take(params, [2, 0])        # members 2 and 0, in that order
    ok = pytrees.finite_rows(params)          # bool[G]: members with finite leaves
    ok = pytrees.all_finite(grads)            # bool[]: every element of every leaf
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def take(tree, rows):
  """Rows ``rows`` (int[K]) of every leaf: K members, a new leading axis of K."""
  return jax.tree.map(lambda a: a[rows], tree)


def all_finite(tree) -> jax.Array:
  """bool[]: every element of every leaf is finite (traceable)."""
  leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
  return jnp.stack(leaves).all() if leaves else jnp.asarray(True)


def finite_rows(tree) -> np.ndarray:
  """bool[G]: which members (rows of the leading axis) have only finite values.

  Args:
    tree: a pytree of concrete arrays with a common leading axis G.
  """
  leaves = jax.tree.leaves(tree)
  ok = [np.isfinite(np.asarray(x).reshape(x.shape[0], -1)).all(axis=1) for x in leaves]
  return np.logical_and.reduce(ok) if ok else np.zeros((0,), bool)

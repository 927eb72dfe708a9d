"""The linear-Gaussian beta-VAE / lambda-beta-VAE, exactly (arXiv 2602.09277, docs/theory.md).

Modules:

- ``problem``: instances (Gamma, Sigma_V, sigma^2), generated or loaded from files;
- ``published``: the authors' random stream replayed (their instances and starts);
- ``setups``: the instance and starts a config asks for (published or generated);
- ``objective``: closed-form R, K, D and the total R + beta K + lambda D;
- ``fixed_point``: the alternating stationarity updates, vectorised over the grid;
- ``contraction``: the encoder gain ||B_k||_2 per iteration;
- ``gradient``: the published AdamW loop, Cholesky-parameterised, vectorised;
- ``factored``: that loop's loss and gradient in closed form (four n x n products);
- ``init``: random starts of both solvers;
- ``lanes``: runs many while-loops of different lengths in fixed vector lanes,
  and parts of a grid on host threads;
- ``spd``: inverse, log-determinant, top eigenvalue of small SPD matrices, in jnp;
- ``scores``: cov(X, V), squared correlations, SAP, Gaussian MI, I_m, I(X;Y), ||B||_2;
- ``protocol``: the published grid, both solvers, per-init scores and summaries;
- ``resume``: finished solves and the gradient solver's state kept on disk, so
  that a stopped run continues where it left off;
- ``experiment``, ``plots``: a whole run (validate, solve, write its CSV/JSON files)
  and its figures;
- ``reference``, ``bench``: the published fixed-point loop in NumPy, and timings.

All maths runs in float64: wrap calls in ``with jax.enable_x64(True):`` (the
experiment entry points do); nothing here switches x64 on globally, and the
solvers raise :class:`lbvae.ConfigError` when called without it.

Every module above is an attribute of the package, loaded on first use::

    from lbvae import linear
    with jax.enable_x64(True):
      draws = linear.published.replay()[50]
      out = linear.fixed_point.solve(draws.problem, *(x[0] for x in draws.fixed_point),
                                     beta=4.0, lam=2.0, tol=1e-6, max_iters=50_000)
"""

from __future__ import annotations

from lbvae import lazy_submodules

MODULES = ("bench", "contraction", "experiment", "factored", "fixed_point", "gradient",
           "init", "lanes", "objective", "plots", "problem", "protocol", "published",
           "reference", "resume", "scores", "setups", "spd")

__all__ = list(MODULES)


__getattr__, __dir__ = lazy_submodules(__name__, MODULES)

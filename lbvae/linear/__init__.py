"""The linear-Gaussian beta-VAE / lambda-beta-VAE, exactly (arXiv 2602.09277, docs/theory.md).

Modules (each an attribute of the package, loaded on first use):

- ``problem``, ``published``, ``setups``: instances (Gamma, Sigma_V, sigma^2) and
  starts, generated, loaded, or replayed from the authors' random stream;
- ``objective``: closed-form R, K, D and the total R + beta K + lambda D;
- ``fixed_point``, ``contraction``: the alternating updates over the grid, and the
  encoder gain ||B_k||_2 per iteration;
- ``gradient``, ``factored``, ``init``: the published AdamW loop, its closed-form loss
  and gradient, and the random starts of both solvers;
- ``lanes``, ``spd``: while-loops in fixed vector lanes; small SPD inverses in jnp;
- ``scores``: cov(X, V), squared correlations, SAP, Gaussian MI, I_m, I(X;Y), ||B||_2;
- ``protocol``, ``resume``, ``experiment``, ``plots``: the published grid with both
  solvers, its resumable state on disk, a whole run's files, and its figures;
- ``reference``, ``bench``: the published fixed-point loop in NumPy, and timings.

All maths runs in float64 inside ``with jax.enable_x64(True):``, never switched on
globally; the solvers raise :class:`lbvae.ConfigError` without it (docs/library.md).
"""

from __future__ import annotations

from lbvae import lazy_submodules

MODULES = (
  "bench",
  "contraction",
  "experiment",
  "factored",
  "fixed_point",
  "gradient",
  "init",
  "lanes",
  "objective",
  "plots",
  "problem",
  "protocol",
  "published",
  "reference",
  "resume",
  "scores",
  "setups",
  "spd",
)

__all__ = list(MODULES)


__getattr__, __dir__ = lazy_submodules(__name__, MODULES)

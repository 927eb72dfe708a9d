"""The linear-Gaussian beta-VAE / lambda-beta-VAE, exactly (arXiv 2602.09277, SPEC §3).

Modules:

- ``problem``: instances (Gamma, Sigma_V, sigma^2), generated or loaded from .npz;
- ``objective``: closed-form R, K, D and the total R + beta K + lambda D;
- ``fixed_point``: the alternating stationarity updates, vectorised over the grid;
- ``contraction``: the encoder gain ||B_k||_2 per iteration;
- ``gradient``: AdamW on the closed form, Cholesky-parameterised, vectorised;
- ``init``: random starts of both solvers;
- ``lanes``: runs many while-loops of different lengths in fixed vector lanes;
- ``spd``: inverse, log-determinant, top eigenvalue of small SPD matrices, in jnp;
- ``metrics``: cov(X, V), squared correlations, SAP, Gaussian MI, I_m, I(X;Y), ||B||_2;
- ``protocol``: the SPEC §3 grid, both solvers, per-init scores and summaries;
- ``report``, ``plots``: CSV/JSON files and figures of a run;
- ``reference``, ``bench``: the sequential NumPy baseline and the timings.

All maths runs in float64: wrap calls in ``with jax.enable_x64(True):`` (the
experiment entry points do); nothing here switches x64 on globally.
"""

r"""The image protocol of arXiv 2602.09277 (docs/method.md §4) on your own images.

Command (an .npz / .h5 holding images uint8[N, H, W, C], optionally factors int[N, F],
factor_names, factor_sizes; or a folder of PNG / JPEG files; docs/datasets.md)::

  python -m experiments.sweep --config=configs/own_data.py --workdir=runs/mine \
      --config.dataset.path=/data/mine.npz
  python -m experiments.evaluate --workdir=runs/mine
  # a prepared TFDS dataset instead: --config.dataset.name=tfds:NAME
  #   --config.dataset.source=tfds --config.dataset.path=DATA_DIR
  #   [--config.dataset.factors=label,other_label]

Grid: as configs/paper_dsprites.py (β in {1, 4, 8, 16, 32} x 10 seeds, 150 000 steps;
then λ in {0, 2, 4, 6, 8} for 50 000 more). Images that are not 64x64 are resized once
on load. Run time: an accelerator's job for the full grid (docs/performance.md); try
``--config=configs/smoke.py`` with the same dataset fields first (about a minute).
Expected result: with factors, the paper's tables and views; without, the held-out
NLL and KL, the collapse curves, reconstructions, traversals and UDR, the factor
metrics left empty, and (β, λ) chosen by UDR.
"""

from lbvae.train import config as config_lib


def get_config():
  """The docs/method.md §4 protocol on ``dataset.path`` (see the module docstring)."""
  c = config_lib.defaults()
  c.dataset.name = "arrays"
  c.dataset.source = "file"
  c.grid_strategy = "vmap"
  c.steps_per_call = 100
  return c

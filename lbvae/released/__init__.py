"""The authors' released PyTorch models of arXiv 2602.09277, read without PyTorch.

Modules:

* :mod:`~lbvae.released.torch_pth` -- ``.pth`` (zip) files -> NumPy arrays through an
  allow-listed unpickler (a file that names any other global is refused);
* :mod:`~lbvae.released.convert` -- the authors' state dict of the conv VAE -> our
  Flax parameters (layouts, flatten order, transposed-kernel flip);
* :mod:`~lbvae.released.layout` -- the authors' folder layout and metrics files;
* :mod:`~lbvae.released.importer` -- all of it into a workdir that
  ``experiments.evaluate`` reads (``experiments.import_torch`` is the command).

docs/released_models.md says where the files are published and how to re-evaluate them.

Synopsis::

  from lbvae.released import convert, torch_pth
  params = convert.flax_params(torch_pth.load("betavae_beta_4_seed_0.pth"))
"""

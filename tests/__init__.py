"""Tests of lbvae, laid out like the package (tests/train/ tests lbvae/train/);
shared test helpers live in tests/helpers/."""

"""Tests of lbvae.metrics."""

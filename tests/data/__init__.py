"""Tests of lbvae.data."""

"""Tests of the entry points under experiments/ (no timing)."""

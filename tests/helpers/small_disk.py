"""Test helper: a small tmpfs (a full disk) or a read-only bind mount, unmounted after.

Mounting needs root (or CAP_SYS_ADMIN); where it is not permitted the test is skipped.
"""

import contextlib
import os
import subprocess

import pytest


def _mount(*args) -> None:
  try:
    result = subprocess.run(
      ["mount", *args], capture_output=True, text=True, timeout=30
    )
  except (OSError, subprocess.SubprocessError) as e:
    pytest.skip(f"cannot mount here: {e}")
  if result.returncode != 0:
    pytest.skip(f"cannot mount here: {result.stderr.strip()}")


def _unmount(path) -> None:
  subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@contextlib.contextmanager
def tmpfs(path, size: str):
  """A tmpfs of ``size`` (e.g. "30m", "4k") mounted at ``path``."""
  os.makedirs(path, exist_ok=True)
  _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
  try:
    yield str(path)
  finally:
    _unmount(path)


@contextlib.contextmanager
def read_only(source, path):
  """``source`` bind-mounted read-only at ``path``."""
  os.makedirs(path, exist_ok=True)
  _mount("--bind", str(source), str(path))
  try:
    _mount("-o", "remount,bind,ro", str(path))
    yield str(path)
  finally:
    _unmount(path)

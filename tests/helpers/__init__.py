"""Helpers the tests share (imported as ``from tests.helpers import ...``)."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
"""The repository root: the working directory and only ``sys.path`` entry that
subprocesses of the tests need."""

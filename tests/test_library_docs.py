"""docs/library.md runs as written: every ```python block, each in a fresh namespace."""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "library.md")
README = os.path.join(ROOT, "README.md")


def python_blocks(path: str) -> list[tuple[str, str]]:
  """(the section heading above it, code) of every ```python block of a Markdown file."""
  with open(path) as f:
    text = f.read()
  blocks, heading = [], "top"
  for part in re.split(r"(^```python\n.*?^```$)", text, flags=re.S | re.M):
    if part.startswith("```python"):
      blocks.append((heading, part[len("```python\n") : -len("```")]))
    else:
      titles = re.findall(r"^## (.+)$", part, flags=re.M)
      heading = titles[-1] if titles else heading
  return blocks


BLOCKS = python_blocks(DOC)


def test_the_doc_has_the_examples_it_promises():
  headings = [h for h, _ in BLOCKS]
  for wanted in (
    "Losses on a batch",
    "A vmapped grid",
    "Metrics on codes",
    "Training and evaluating a workdir",
    "The linear-Gaussian model",
    "Other objectives",
    "Choosing without labels",
    "Your own images",
  ):
    assert any(h.startswith(wanted) for h in headings), wanted


# The blocks that train: a grid through lbvae.train (about a minute) and the
# vmapped grid steps of the conv VAE (each compiles a grid step, ~20 s on 2 cores).
SLOW = ("Training and evaluating", "A vmapped grid", "Other objectives")


@pytest.mark.parametrize(
  "code",
  [
    pytest.param(
      c,
      id=re.sub(r"\W+", "_", h).strip("_").lower(),
      marks=[pytest.mark.slow] if h.startswith(SLOW) else [],
    )
    for h, c in BLOCKS
  ],
)
def test_block_runs(code):
  exec(compile(code, DOC, "exec"), {"__name__": "library_doc"})  # pylint: disable=exec-used


def test_readme_library_block_runs():
  (code,) = [c for h, c in python_blocks(README) if h == "Use as a library"]
  exec(compile(code, README, "exec"), {"__name__": "readme"})  # pylint: disable=exec-used

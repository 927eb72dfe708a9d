"""lbvae's imports form layers: no module imports, through any chain, a module that
imports it back, and no top-level part (a subpackage such as ``lbvae.train``, or a
module such as ``lbvae.memory``) imports one that depends on it. Read from the source
(every ``import`` statement, at the top of a module or inside a function), so that
nothing is imported to find out."""

import ast
import collections
import graphlib
import pathlib

import pytest

from tests.helpers import ROOT

PACKAGE = pathlib.Path(ROOT) / "lbvae"


def module_name(path: pathlib.Path) -> str:
  parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, source: str) -> set[str]:
  """The modules of lbvae (or the outside packages) that ``source`` imports; ``from
  lbvae.x import y`` names ``lbvae.x.y`` where that is a module, else ``lbvae.x``."""
  package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
  found = set()
  for node in ast.walk(ast.parse(source)):
    if isinstance(node, ast.Import):
      found.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        above = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(above + ([base] if base else []))
      found.update(
        f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
        for alias in node.names
      )
  return found


IMPORTS = {name: imported(name, path.read_text()) for name, path in MODULES.items()}


def graph(imports, part=lambda module: module) -> dict[str, set[str]]:
  """Who imports whom among lbvae's modules (``imports``: name -> what it imports),
  each module mapped to ``part(module)``; no self-edges, and nothing points at the
  package's own ``__init__`` (the lazy map of its parts, below every one)."""
  edges = collections.defaultdict(set)
  for name, targets in imports.items():
    for target in targets:
      if target in MODULES and target != "lbvae" and part(target) != part(name):
        edges[part(name)].add(part(target))
  return edges


def top_level_part(module: str) -> str:
  """``lbvae.train.config`` -> ``lbvae.train``; ``lbvae.memory`` stays itself."""
  return ".".join(module.split(".")[:2])


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
  """One import cycle in ``edges`` (its names, the first repeated last), or None."""
  try:
    graphlib.TopologicalSorter(edges).prepare()
  except graphlib.CycleError as error:
    return error.args[1]
  return None


def test_no_module_imports_a_module_that_imports_it_back():
  assert cycle(graph(IMPORTS)) is None


def test_no_part_of_lbvae_imports_a_part_that_depends_on_it():
  assert cycle(graph(IMPORTS, top_level_part)) is None


def test_lbvae_imports_neither_the_experiments_nor_the_tests():
  upward = {
    name: sorted(
      target for target in targets if target.split(".")[0] in ("experiments", "tests")
    )
    for name, targets in IMPORTS.items()
  }
  assert not {name: targets for name, targets in upward.items() if targets}


@pytest.mark.parametrize(
  "name, added, part, expected",
  [
    # the trainer's config reading the evaluation's settings (lbvae.evaluation
    # imports lbvae.train)
    (
      "lbvae.train.config",
      "from lbvae.evaluation import store",
      top_level_part,
      {"lbvae.train", "lbvae.evaluation"},
    ),
    # dci_lasso reaching back into dci, inside a function
    (
      "lbvae.metrics.dci_lasso",
      "def f():\n  from lbvae.metrics import dci",
      lambda module: module,
      {"lbvae.metrics.dci", "lbvae.metrics.dci_lasso"},
    ),
    # relative, at the top: workdir -> config -> workdir
    (
      "lbvae.train.config",
      "from . import workdir",
      lambda module: module,
      {"lbvae.train.config", "lbvae.train.workdir"},
    ),
  ],
)
def test_the_checks_see_an_added_upward_import(name, added, part, expected):
  """Each kind of import that lbvae once had, added to today's sources, is found."""
  imports = {**IMPORTS, name: IMPORTS[name] | imported(name, added)}
  assert set(cycle(graph(imports, part)) or ()) >= expected

"""The package's shape, read off its imports: layers as folders, no import circle, one owlrl importer.

Every ``import``/``from ... import`` of a kg module counts, inside functions and under
``TYPE_CHECKING`` too: a circle that only type checkers see is still a circle for a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

from kg.config import PACKAGE_DIR

#: Each layer, and the layers (or top-level modules) it may import. Top-level: kg.config (settings),
#: kg.knowledge_base (the composition root), kg.cli; kg.turtle is a library of its own.
ALLOWED = {
    "model": set(),
    "knowledge": {"model"},
    "engine": {"model", "knowledge"},
    "answer": {"model", "knowledge", "engine"},
    "turtle": set(),
    "sparql": {"model", "knowledge", "config", "knowledge_base"},
    "tools": {
        "model",
        "knowledge",
        "engine",
        "answer",
        "sparql",
        "cds",
        "turtle",
        "config",
        "knowledge_base",
    },
    "cds": {"model", "answer", "knowledge_base"},  # answer: the rating an order gets (answer/rating.py)
    "api": {"model", "knowledge", "answer", "sparql", "tools", "cds", "config", "knowledge_base"},
}
#: Longest module, in lines (vendored assets are not modules).
MAX_LINES = 400


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The kg modules ``path`` imports (a name imported from a package counts as its module if it is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "kg":
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "kg"}
    return {name for name in found if name in known} - {"kg"}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def test_no_import_circle() -> None:
    edges = graph()
    state: dict[str, int] = {}
    circles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(edges[module]):
            if state.get(imported) == 1:
                circles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = sorted(
        f"{module} imports {imported}"
        for module, imported_modules in graph().items()
        if layer(module) in ALLOWED
        for imported in imported_modules
        if layer(imported) != layer(module) and layer(imported) not in ALLOWED[layer(module)]
    )
    assert wrong == []


def test_only_one_module_imports_owlrl_and_the_core_never_imports_fastapi() -> None:
    owlrl, fastapi = set(), set()
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(n.split(".")[0] == "owlrl" for n in names):
                owlrl.add(name)
            if any(n.split(".")[0] in ("fastapi", "starlette") for n in names):
                fastapi.add(name)
    assert owlrl == {"kg.knowledge.reasoning"}
    core = {name for name in fastapi if layer(name) in ("model", "knowledge", "engine", "answer")}
    assert core == set() and "kg.knowledge_base" not in fastapi


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        name: lines
        for name, path in modules().items()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}

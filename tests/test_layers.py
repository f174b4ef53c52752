"""The import contract of the house (docs/architecture.md): one-way layers, no cycles, no private
names borrowed across modules.

Every ``import`` in ``src/valuecast`` is read with :mod:`ast`, function-level ones included (a
function-level import of a higher layer is an upward dependency all the same; the CLI's lazy
imports go downwards).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Each layer and the layers its modules may import (their own included).  models | io,
# store | analysis and jobs | outputs are siblings that do not import each other.
CORE = {"core"}
ALLOWED: dict[str, set[str]] = {
    "core": CORE,
    "models": CORE | {"models"},
    "io": CORE | {"io"},
    "store": CORE | {"io", "store"},
    "analysis": CORE | {"models", "io", "analysis"},
    "jobs": CORE | {"models", "io", "store", "analysis", "jobs"},
    "outputs": CORE | {"models", "io", "analysis", "outputs"},
    "web": CORE | {"models", "io", "store", "analysis", "jobs", "outputs", "web"},
    "cli": CORE | {"models", "io", "store", "analysis", "jobs", "outputs", "web", "cli"},
}
PACKAGES = ("models", "io", "store", "analysis", "jobs", "outputs", "web", "cli")


CORE_MODULES = ("tables", "errors", "dates", "csvsafe", "provenance", "datasets")


def layer_of(module: str) -> str:
    """``valuecast.store.workspace`` -> ``store``; the package and its core modules -> ``core``."""
    parts = module.split(".")
    if parts[1:] == ["__main__"]:  # ``python -m valuecast``: the command line's entry
        return "cli"
    if len(parts) == 1 or parts[1] in CORE_MODULES:
        return "core"
    if parts[1] in PACKAGES:
        return parts[1]
    return f"unknown:{parts[1]}"


def modules(root: Path = SRC) -> dict[str, Path]:
    out = {}
    for path in (root / "valuecast").rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(known: dict[str, Path]) -> list[tuple[str, str, str, int]]:
    """(importer, imported module, imported name or "", line) for every valuecast import."""

    def resolve(name: str) -> str:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    found = []
    for importer, path in known.items():
        package = importer if path.name == "__init__.py" else importer.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "valuecast":
                        found.append((importer, resolve(alias.name), "", node.lineno))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                if base.split(".")[0] != "valuecast":
                    continue
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    if submodule in known:
                        found.append((importer, submodule, "", node.lineno))
                    else:
                        found.append((importer, resolve(base), alias.name, node.lineno))
    return found


@pytest.fixture(scope="module")
def graph():
    known = modules()
    return known, imports(known)


def test_every_module_belongs_to_a_layer(graph):
    known, _ = graph
    unknown = sorted(name for name in known if layer_of(name).startswith("unknown"))
    assert not unknown, f"modules outside the layers of docs/architecture.md: {unknown}"


def test_imports_go_down_the_layers(graph):
    _, found = graph
    upward = sorted(
        {
            f"{importer}:{line} imports {imported} ({layer_of(importer)} -> {layer_of(imported)})"
            for importer, imported, _, line in found
            if layer_of(imported) not in ALLOWED.get(layer_of(importer), set())
        }
    )
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_no_private_name_is_imported_from_another_module(graph):
    _, found = graph
    borrowed = [
        f"{importer}:{line} imports {name} from {imported}"
        for importer, imported, name, line in found
        if name.startswith("_") and not name.startswith("__") and imported != importer
    ]
    assert not borrowed, "private names used across modules:\n" + "\n".join(borrowed)


def test_no_import_cycles(graph):
    known, found = graph
    edges = defaultdict(set)
    for importer, imported, _, _ in found:
        # a package's __init__ importing its own modules is how it exports them, not a cycle
        if imported != importer and not imported.startswith(importer + "."):
            edges[importer].add(imported)
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for module in sorted(known):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_contract_catches_an_upward_import(tmp_path):
    # a deliberately added upward import (a model reaching into the workspace) must fail
    package = tmp_path / "valuecast"
    for folder in ("models", "store"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "store" / "workspace.py").write_text("class Workspace: ...\n")
    (package / "models" / "bad.py").write_text(
        "def fit():\n    from valuecast.store.workspace import Workspace\n    return Workspace\n"
    )
    found = imports(modules(tmp_path))
    assert [
        (importer, imported)
        for importer, imported, _, _ in found
        if layer_of(imported) not in ALLOWED[layer_of(importer)]
    ] == [("valuecast.models.bad", "valuecast.store.workspace")]

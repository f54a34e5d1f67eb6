"""The product's modules import one way: no cycles, function-level imports included (issue 12).

The graph is read from the source with ``ast`` (nothing is imported): every
``import``/``from ... import`` anywhere in a module, except under
``if TYPE_CHECKING:`` (never executed), is an edge to the module it names —
``from . import x`` is an edge to the submodule ``x`` when there is one, else to
the package. Importing ``a.b`` also runs ``a/__init__``, but that implicit step
is left out: it would make every package and its children a "cycle".
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "vse_foley"
PRODUCT_PARTS = ("blender", "core", "operators", "panels", "providers")
PRODUCT_TOP = ("__init__.py", "cli.py", "compat.py", "preferences.py", "properties.py")


def product_files() -> dict[str, Path]:
    """module name (``vse_foley.providers.catalog``) -> its file."""
    files = [ROOT / name for name in PRODUCT_TOP]
    for part in PRODUCT_PARTS:
        files += sorted((ROOT / part).rglob("*.py"))
    modules: dict[str, Path] = {}
    for path in files:
        relative = path.relative_to(ROOT).with_suffix("")
        parts = [PACKAGE, *relative.parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_package(module: str, modules: dict[str, Path]) -> bool:
    return modules[module].name == "__init__.py"


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(inner) for inner in ast.walk(child))
    return skipped


def _imports(module: str, modules: dict[str, Path]) -> Iterator[str]:
    tree = ast.parse(modules[module].read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = module if _is_package(module, modules) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE):
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            elif node.module and node.module.startswith(PACKAGE):
                base = node.module
            else:
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in modules else base


def import_graph() -> dict[str, set[str]]:
    modules = product_files()
    return {module: {target for target in _imports(module, modules) if target in modules and target != module}
            for module in modules}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path (first == last), or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []


def test_the_graph_sees_the_product_and_its_function_level_imports() -> None:
    graph = import_graph()
    assert len(graph) > 60
    # a top-level import and a function-level one (create_provider imports settings inside)
    assert f"{PACKAGE}.providers.catalog" in graph[f"{PACKAGE}.providers"]
    assert f"{PACKAGE}.providers.settings" in graph[f"{PACKAGE}.providers"]
    # ``from .. import preferences`` is an edge to the module, not to the package
    assert f"{PACKAGE}.preferences" in graph[f"{PACKAGE}.operators.test_connection"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_among_the_products_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle == [], "import cycle: " + " -> ".join(cycle)

"""Outside ``providers/``, no product module names a vendor or a vendor's environment variable
(issue 12): everything vendor-specific is derived from the vendor specs.

The check reads the code with ``ast``: string literals (f-string parts included), identifiers,
attribute and keyword names, imported names. Docstrings and comments may mention a vendor as
an example; code may not.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from test_import_graph import PACKAGE, product_files

from vse_foley.providers.vendor_spec import VENDOR_SPECS


def _vendor_words() -> re.Pattern[str]:
    ids = sorted({spec.id for spec in VENDOR_SPECS} | {spec.label for spec in VENDOR_SPECS})
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(i) for i in ids) + r")(?![a-z0-9])",
                      re.IGNORECASE)


def _env_names() -> set[str]:
    return {name for spec in VENDOR_SPECS for name in spec.env_names()}


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
        # ``#: comments`` are comments; attribute docstrings (a string after an assignment) too
        if isinstance(node, ast.Module | ast.ClassDef):
            for before, after in zip(node.body, node.body[1:], strict=False):
                if (isinstance(before, ast.Assign | ast.AnnAssign) and isinstance(after, ast.Expr)
                        and isinstance(after.value, ast.Constant)):
                    found.add(id(after.value))
    return found


def code_words(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal and name in ``source``, docstrings left out."""
    tree = ast.parse(source)
    skipped = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
            yield node.lineno, node.value
        elif isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr
        elif isinstance(node, ast.keyword) and node.arg:
            yield node.lineno, node.arg
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.lineno, node.name
        elif isinstance(node, ast.arg):
            yield node.lineno, node.arg
        elif isinstance(node, ast.alias):
            yield node.lineno, node.asname or node.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module


def vendor_mentions(source: str) -> list[str]:
    words, envs = _vendor_words(), _env_names()
    found = []
    for line, text in code_words(source):
        hits = [match.group(0) for match in words.finditer(text)] + [env for env in envs if env in text]
        found += [f"line {line}: {hit!r} in {text[:60]!r}" for hit in hits]
    return found


def _outside_providers() -> dict[str, Path]:
    return {name: path for name, path in product_files().items()
            if not name.startswith(f"{PACKAGE}.providers")}


def test_the_check_finds_vendor_names_in_code_but_not_in_docstrings() -> None:
    source = '''"""Works with WaveSpeed and VIDU_API_KEY (docs may say so)."""
# kling in a comment
def f(individual):
    """Kling here is fine too."""
    return {"kling_region": individual, "x": f"Set {VIDU_API_KEY}"}
'''
    mentions = vendor_mentions(source)
    assert mentions, "a vendor in code must be found"
    assert all(mention.startswith("line 5:") for mention in mentions), mentions  # not docs, not "individual"
    assert any("'kling_region'" in mention for mention in mentions)
    assert any("'VIDU_API_KEY' in" in mention for mention in mentions)


def test_the_modules_checked_include_the_ui_and_the_cli() -> None:
    names = set(_outside_providers())
    assert {f"{PACKAGE}.cli", f"{PACKAGE}.preferences", f"{PACKAGE}.panels.readiness",
            f"{PACKAGE}.panels.preferences_ui", f"{PACKAGE}.operators.test_connection",
            f"{PACKAGE}.core.checks"} <= names
    assert not any(name.startswith(f"{PACKAGE}.providers") for name in names)


def test_no_module_outside_providers_names_a_vendor_or_its_environment_variables() -> None:
    found = {name: mentions for name, path in _outside_providers().items()
             if (mentions := vendor_mentions(path.read_text(encoding="utf-8")))}
    assert found == {}

"""The code stays lint-clean (ruff) and fully typed (mypy --strict), as the README promises,
and within the size and complexity budgets of issue #15."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import REPO


def _tool(name: str) -> list[str]:
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return [sys.executable, "-m", name]


def test_ruff_is_clean() -> None:
    done = subprocess.run([*_tool("ruff"), "check", "src", "tests", "benchmarks"],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean() -> None:
    done = subprocess.run([*_tool("mypy")], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# The budgets of issue #15, for every function, class and module of the package.
MAX_COMPLEXITY = 10  # radon's cyclomatic complexity, boolean operators counted
MAX_FUNCTION_LINES = 40
MAX_CLASS_LINES = 150
MAX_MODULE_LINES = 400


def _functions(text: str) -> Iterator[Any]:
    """radon's blocks for every function and method of the module ``text``."""
    reason = "radon is not installed (pip install -e '.[test]')"
    complexity = pytest.importorskip("radon.complexity", reason=reason)
    visitors = pytest.importorskip("radon.visitors", reason=reason)
    return _blocks(complexity.cc_visit(text), visitors.Class)


def _blocks(blocks: list[Any], class_type: type) -> Iterator[Any]:
    """The functions and methods among radon's ``blocks`` (``cc_visit`` lists a class's
    methods after it), with their closures and the methods of inner classes."""
    for block in blocks:
        if isinstance(block, class_type):
            for inner in block.inner_classes:
                yield from _blocks([*inner.methods, inner], class_type)
        else:
            yield block
            yield from _blocks(block.closures, class_type)


def budget_offenders(text: str, name: str) -> list[str]:
    """What in the module ``text`` (shown as ``name``) exceeds a budget, one line each."""
    found = [f"{name}:{block.lineno}: {block.fullname} has complexity {block.complexity} "
             f"(over {MAX_COMPLEXITY})"
             for block in _functions(text) if block.complexity > MAX_COMPLEXITY]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kind, limit = ("class", MAX_CLASS_LINES) if isinstance(node, ast.ClassDef) \
                else ("function", MAX_FUNCTION_LINES)
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            if size > limit:
                found.append(f"{name}:{node.lineno}: {kind} {node.name} has {size} lines "
                             f"(over {limit})")
    if (size := len(text.splitlines())) > MAX_MODULE_LINES:
        found.append(f"{name}: module has {size} lines (over {MAX_MODULE_LINES})")
    return found


def test_code_stays_within_its_budgets() -> None:
    offenders = [problem for path in sorted((REPO / "src").rglob("*.py"))
                 for problem in budget_offenders(path.read_text(encoding="utf-8"),
                                                 str(path.relative_to(REPO)))]
    assert not offenders, "over budget:\n" + "\n".join(offenders)


def _function(lines: int, body: str = "pass") -> str:
    return "def f(x):\n" + f"    {body}\n" * (lines - 1)


def _branches(count: int) -> str:
    return "def f(x):\n" + "".join(f"    if x == {n}:\n        return {n}\n"
                                   for n in range(count))


@pytest.mark.parametrize(("text", "expected"), [
    (_function(MAX_FUNCTION_LINES), []),
    (_function(MAX_FUNCTION_LINES + 1), ["m.py:1: function f has 41 lines (over 40)"]),
    ("class C:\n" + "    x = 1\n" * MAX_CLASS_LINES,
     ["m.py:1: class C has 151 lines (over 150)"]),
    ("x = 1\n" * (MAX_MODULE_LINES + 1), ["m.py: module has 401 lines (over 400)"]),
    (_branches(MAX_COMPLEXITY - 1), []),
    (_branches(MAX_COMPLEXITY), ["m.py:1: f has complexity 11 (over 10)"]),
    ("def f(a, b, c, d, e, f, g, h, i, j, k):\n    return a and b and c and d and e and f "
     "and g and h and i and j and k\n", ["m.py:1: f has complexity 11 (over 10)"]),
    ("class C:\n    def m(self, x):\n        def inner(y):\n" + "".join(
        f"            if y == {n}:\n                return {n}\n" for n in range(10))
     + "        return inner(x)\n", ["m.py:3: inner has complexity 11 (over 10)"]),
    ("class C:\n    class D:\n        def m(self, y):\n" + "".join(
        f"            if y == {n}:\n                return {n}\n" for n in range(10)),
     ["m.py:3: D.m has complexity 11 (over 10)"]),
])
def test_budget_check_names_each_offender(text: str, expected: list[str]) -> None:
    assert budget_offenders(text, "m.py") == expected


# docs/architecture.md, "Rules": no two modules import each other, not even lazily.
def _module_name(path: Any, package: Any) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(text: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that the module ``name`` (its source ``text``) imports,
    anywhere in it: at the top, inside functions, or under ``if TYPE_CHECKING``."""
    found: set[str] = set()
    base = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            anchor = base[:len(base) - node.level + 1] if node.level else []
            source = ".".join([*anchor, *filter(None, [node.module])])
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


def mutual_imports(modules: dict[str, tuple[str, bool]]) -> list[str]:
    """Each pair of ``modules`` (name: (source, is a package)) that import each other."""
    known = set(modules)
    imports = {name: imported_modules(text, name, is_package, known)
               for name, (text, is_package) in modules.items()}
    return [f"{first} and {second} import each other"
            for first in sorted(imports) for second in sorted(imports[first])
            if first < second and first in imports.get(second, set())]


def test_no_two_modules_import_each_other() -> None:
    package = REPO / "src" / "sfb_feeds"
    modules = {_module_name(path, package): (path.read_text(encoding="utf-8"),
                                             path.name == "__init__.py")
               for path in sorted(package.rglob("*.py"))}
    assert mutual_imports(modules) == []


@pytest.mark.parametrize(("modules", "expected"), [
    ({"p.a": ("def f():\n    from .b import x\n", False), "p.b": ("from . import a\n", False)},
     ["p.a and p.b import each other"]),
    ({"p.a": ("import p.b\n", False), "p.b": ("from .c import y\n", False),
      "p.c": ("from .a import z\n", False)}, []),
    ({"p.s": ("from .t import x\n", True), "p.s.t": ("from .. import s\n", False)},
     ["p.s and p.s.t import each other"]),
    ({"p.s.u": ("from ..v import x\n", False), "p.v": ("from .s.u import y\n", False)},
     ["p.s.u and p.v import each other"]),
])
def test_the_import_check_finds_each_pair(modules: dict[str, tuple[str, bool]],
                                          expected: list[str]) -> None:
    assert mutual_imports(modules) == expected

"""The structure rules the code keeps: no import cycles between modules (lazy imports included),
no folder directly holding more than 16 modules, the import contracts in pyproject.toml, and no module
over 400 lines nor function over 60.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "sandboxes", "tasks", "tui")
SKIPPED = ("tasks/builtin/repos", "agent/simulate/demo/repo")  # the repositories tasks run on, not our code
MAX_MODULES = 16


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """The import cycles: every strongly connected set of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_module_imports_itself_back_through_others():
    graph = grimp.build_graph(*PACKAGES)
    for module in list(graph.modules):  # a package's __init__ re-exporting its modules is not a cycle
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith(module + ".") or module.startswith(imported + "."):
                graph.remove_import(importer=module, imported=imported)
    assert strongly_connected(graph) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_folder_holds_more_than_16_modules(package):
    crowded = {}
    for folder in [ROOT / package, *(path for path in (ROOT / package).rglob("*") if path.is_dir())]:
        relative = folder.relative_to(ROOT).as_posix()
        if relative.startswith(SKIPPED) or "__pycache__" in relative:
            continue
        modules = [path for path in folder.glob("*.py") if path.name != "__init__.py"]
        if len(modules) > MAX_MODULES:
            crowded[relative] = len(modules)
    assert crowded == {}


def test_the_import_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Contracts: 4 kept, 0 broken." in done.stdout


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_over_400_lines_nor_any_function_over_60(package):
    long_modules, long_functions = {}, {}
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(SKIPPED):
            continue
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules[relative] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1  # the def line through the last line
                if length > MAX_FUNCTION_LINES:
                    long_functions[f"{relative}:{node.lineno} {node.name}"] = length
    assert (long_modules, long_functions) == ({}, {})


def imported_test_modules(path: Path) -> list[str]:
    """The test modules (`test_*`, as `tests.test_x`, `test_x` or `from tests import test_x`) a file imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [f"{module}.{alias.name}" for alias in node.names] if module in ("", "tests") else [module]
        else:
            continue
        found += [name for name in names if name.removeprefix("tests").lstrip(".").startswith("test_")]
    return found


def test_no_test_module_imports_another_test_module():
    """Shared setup lives in helper modules (tests/*_helpers.py), never in a test module."""
    imports = {path.name: imported_test_modules(path) for path in sorted((ROOT / "tests").glob("test_*.py"))}
    assert {name: found for name, found in imports.items() if found} == {}

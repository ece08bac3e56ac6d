"""The structure rules the code keeps: no import cycles between modules (lazy imports included),
no folder directly holding more than 16 modules, and the import contracts in pyproject.toml.
"""

from __future__ import annotations

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

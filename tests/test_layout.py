"""The house rules of the layout: edgepose/ never imports tools/, scripts and tools never import tests/,
and no runtime module grows past 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAX_RUNTIME_MODULE_LINES = 400


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` statement in the file names (absolute ones)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def top_level(name: str) -> str:
    return name.split(".", 1)[0]


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files("edgepose"), ids=lambda p: str(p.relative_to(REPO)))
def test_runtime_imports_no_build_or_evaluation_code(path: Path) -> None:
    assert {top_level(m) for m in imported_modules(path)} & {"tools", "tests"} == set()


@pytest.mark.parametrize("path", python_files("scripts", "tools"), ids=lambda p: str(p.relative_to(REPO)))
def test_scripts_and_tools_import_nothing_from_tests(path: Path) -> None:
    text = path.read_text()
    assert "tests" not in {top_level(m) for m in imported_modules(path)}
    assert not any(top_level(m).startswith("test_") for m in imported_modules(path))
    # No sys.path entry into the tests folder (reading tests/data files is fine).
    assert not [line for line in text.splitlines() if "sys.path" in line and "tests" in line]


def test_no_runtime_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in python_files("edgepose")
        if (n := len(p.read_text().splitlines())) > MAX_RUNTIME_MODULE_LINES
    }
    assert long == {}

"""The layout's limits (DESIGN.md): at most 6 modules at the top of ``zg_control/``, no file of
the library, the envs, the experiments or the tests over 300 lines, no function over 60 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p
    for folder in ("zg_control", "envs", "experiments", "tests")
    for p in (ROOT / folder).rglob("*.py")
    if ".venv" not in p.parts
)
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 60


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """``(name, lines)`` of every function or method in ``source`` longer than ``limit``
    lines (decorators and docstring included)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            n = node.end_lineno - first + 1
            if n > limit:
                out.append((node.name, n))
    return out


def test_top_level_holds_at_most_six_modules():
    modules = sorted(p.name for p in (ROOT / "zg_control").glob("*.py"))
    assert len(modules) <= 6, modules


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_file_and_function_lengths(path):
    source = path.read_text()
    assert source.count("\n") <= MAX_FILE_LINES, f"{path.name}: over {MAX_FILE_LINES} lines"
    assert long_functions(source) == []


def test_the_checker_finds_a_long_function():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}\n") == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions(f"def f():\n{body}\n", limit=MAX_FUNCTION_LINES + 1) == []


def test_every_package_is_listed_for_installation():
    """pyproject.toml lists the packages by hand: a folder missing there would be missing from
    a (non-editable) install."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.relative_to(ROOT).parent.parts)
        for p in (ROOT / "zg_control").rglob("__init__.py")
    }
    assert found | {"zg_control.envs"} == listed

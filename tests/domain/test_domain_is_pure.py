"""The rules stay free of the web and the database, so they run and are tested without either.

Read from source with ast rather than by importing: importing testengine.domain loads the
testengine package, whose app factory imports Flask, which would hide what domain/ itself uses.
Imports inside functions and `if TYPE_CHECKING:` blocks count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "testengine" / "domain"
FORBIDDEN = ("flask", "sqlalchemy", "werkzeug", "flask_sqlalchemy", "flask_login", "flask_wtf")
MODULES = sorted(DOMAIN.rglob("*.py"))


def _forbidden(name: str) -> bool:
    top = name.split(".")[0]
    return top in FORBIDDEN or top.startswith("flask_")


def _imported_names(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Call):
            # importlib.import_module("flask") and __import__("flask") with a literal name.
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.append(first.value)
    return names


def test_the_domain_modules_are_found() -> None:
    found = {path.stem for path in MODULES}
    assert {"__init__", "errors", "standards", "grading", "timing", "attempt_states"} <= found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(DOMAIN)))
def test_no_web_or_database_imports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = sorted({name for name in _imported_names(tree) if _forbidden(name)})
    assert not bad, f"{path.name} imports {', '.join(bad)}"


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("import flask", True),
        ("from flask import Flask", True),
        ("import flask_login.utils", True),
        ("from sqlalchemy.orm import Session", True),
        ("def f():\n    import werkzeug.exceptions", True),
        ("import importlib\nimportlib.import_module('sqlalchemy')", True),
        ("__import__('flask_wtf')", True),
        ("import numpy as np", False),
        ("from .errors import DomainError", False),
        ("import flaskless", False),
    ],
)
def test_the_check_itself(source: str, caught: bool) -> None:
    assert any(_forbidden(n) for n in _imported_names(ast.parse(source))) is caught

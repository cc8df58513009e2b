"""Where transactions end, read from the source with ast.

One commit per request, at the edge: views and services flush, and only the request edge, the
command-line tools and the storage code commit.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "testengine"

# The places that may commit, relative to the repository: the request edge and the rest of storage
# (group commit, a write that stands apart from its request), the command-line tools (each command
# is a transaction), and storage's fast lane for saves.
MAY_COMMIT = (
    "testengine/storage/",
    "testengine/cli.py",
    "testengine/cli_",
    "testengine/cli/",
    "testengine/fast_lane/",
)


def _sources(under: Path) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "migrations" not in p.relative_to(PACKAGE).parts)


def _commits(path: Path, text: str | None = None) -> list[int]:
    """Lines of `<anything>.commit()` calls (a session's, a connection's, a DBAPI connection's)."""
    tree = ast.parse(path.read_text() if text is None else text, filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]


def test_only_the_request_edge_the_cli_and_storage_commit() -> None:
    found = []
    for path in _sources(PACKAGE):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(MAY_COMMIT):
            continue
        found += [f"{relative}:{line}" for line in _commits(path)]
    assert found == [], "commit only at the request edge (testengine/storage/requests.py), in the CLI or in storage"


def test_the_request_edge_is_where_requests_commit() -> None:
    """The allowed list is not empty words: the edge and group commit do commit."""
    assert _commits(PACKAGE / "storage" / "requests.py")
    assert _commits(PACKAGE / "storage" / "sqlite.py")  # the writers' queue wraps the DBAPI commit


def test_the_scan_sees_a_commit_in_a_view() -> None:
    """A commit slipped into a blueprint would be found (the check can fail)."""
    sample = PACKAGE / "admin" / "views.py"
    text = sample.read_text()
    assert _commits(sample, text) == []
    sneaky = text + "\n\ndef _sneaky():\n    db.session.commit()\n"
    assert _commits(sample, sneaky) == [len(sneaky.splitlines())]


# Services still reading the app (settings, the request's address) rather than being given what
# they need. The list only shrinks: give the service its settings (see service_settings.py) and
# take it off; no service joins it. The domain never imports Flask (test_domain_is_pure.py).
STILL_READ_THE_APP: set[str] = set()
FLASK_PACKAGES = {"flask", "flask_login", "flask_wtf", "flask_sqlalchemy", "werkzeug"}


def _flask_imports(text: str) -> list[str]:
    """Every import of Flask or its extensions, at the top or inside a function: "LINE module"."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{node.lineno} {name}" for name in names if name.split(".")[0] in FLASK_PACKAGES]
    return found


def test_services_and_the_domain_import_no_flask() -> None:
    found = [
        f"{relative}:{hit}"
        for folder in ("services", "domain")
        for path in _sources(PACKAGE / folder)
        if (relative := path.relative_to(ROOT).as_posix()) not in STILL_READ_THE_APP
        for hit in _flask_imports(path.read_text())
    ]
    assert found == [], "services and the domain are given `now` and settings by their callers; they import no Flask"


def test_the_list_of_services_that_still_read_the_app_only_shrinks() -> None:
    """A service taken off the app keeps off the list: each one listed does still import Flask."""
    assert [name for name in sorted(STILL_READ_THE_APP) if not _flask_imports((ROOT / name).read_text())] == []


def test_the_flask_scan_sees_an_import_inside_a_function() -> None:
    text = "import datetime\n\n\ndef settings():\n    from flask import current_app\n    return current_app.config\n"
    assert _flask_imports(text) == ["5 flask"]
    assert _flask_imports("import flask_login.utils\n") == ["1 flask_login.utils"]
    assert _flask_imports("from .clock import utcnow\n") == []

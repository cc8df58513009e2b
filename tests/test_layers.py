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

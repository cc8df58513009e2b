"""The commands that need no database start without loading it: `--help`, `grade` and `bank validate`
import no SQLAlchemy, models, NumPy or form library (that is what keeps them under half a second;
the timings are in docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

HEAVY = (
    "sqlalchemy",
    "flask_sqlalchemy",
    "flask_migrate",
    "alembic",
    "numpy",
    "flask_wtf",
    "flask_limiter",
    "argon2",
    "fpdf",
    "testengine.models",
    "testengine.services",
    "testengine.extensions",
)

HARNESS = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
from testengine.cli import main
main(sys.argv[1:], prog_name="testengine")
"""


def _modules_after(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run([sys.executable, "-c", HARNESS, *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    line = next(line for line in done.stderr.splitlines() if line.startswith("MODULES "))
    return done, set(json.loads(line.removeprefix("MODULES ")))


@pytest.mark.parametrize(
    ("args", "expected", "allowed"),
    [
        (("--help",), "grade", ()),
        (("grade", "--standard", "ST0663", "--method", "knowledge_test", "--marks", "53"), "distinction", ()),
        (("grade", "--standard", "ST1379", "--overall", "observation=distinction", "professional_discussion=pass"), "merit", ()),
        # The item linter's TF-IDF runs on NumPy arrays: validate loads NumPy, and nothing else heavy.
        (("bank", "validate", str(REPO / "question_banks" / "ST0663")), "valid", ("numpy",)),
        (("bank", "--help"), "validate", ()),
    ],
)
def test_commands_without_a_database_do_not_import_the_database_layer(args, expected, allowed):
    done, modules = _modules_after(*args)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
    heavy_here = [heavy for heavy in HEAVY if heavy not in allowed]
    loaded = sorted(name for name in modules if any(name == heavy or name.startswith(heavy + ".") for heavy in heavy_here))
    assert loaded == [], f"`testengine {' '.join(args)}` imported {loaded[:8]}"


def test_a_command_that_needs_the_database_still_creates_the_app(command_env):
    """The lazy group loses nothing: `users list` creates the app and reads the database."""
    assert (
        subprocess.run(
            [sys.executable, "-m", "testengine", "init-db"], cwd=REPO, env=command_env, capture_output=True, timeout=120
        ).returncode
        == 0
    )
    create = subprocess.run(
        [
            sys.executable,
            "-m",
            "testengine",
            "create-user",
            "--role",
            "admin",
            "--email",
            "first@example.org",
            "--password-stdin",
        ],
        input="a long enough password\n",
        cwd=REPO,
        env={**command_env, "TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert create.returncode == 0, create.stderr
    done = subprocess.run(
        [sys.executable, "-c", HARNESS, "users", "list"], cwd=REPO, env=command_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "first@example.org\tadmin\n"
    assert "testengine.models" in done.stderr and "sqlalchemy" in done.stderr

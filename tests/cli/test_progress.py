"""Long commands show progress on standard error when a person watches a terminal, and only then."""

from __future__ import annotations

import io
import re

import pytest

from testengine.cli import progress as cli_progress
from tests.conftest import REPO

ST0663 = REPO / "question_banks" / "ST0663"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_without_a_terminal_bank_import_and_stats_print_only_their_results(cli):
    imported = cli("bank", "import", str(ST0663))
    assert imported.exit_code == 0, imported.output
    assert imported.stderr == ""
    assert re.fullmatch(
        r"ST0663: \d+ added, 0 new versions, 0 review records updated, 0 retired, 0 unchanged\.\n", imported.stdout
    )
    stats = cli("bank", "stats", "--standard", "ST0663")
    assert stats.exit_code == 0 and stats.stderr == ""
    assert stats.stdout.startswith("ST0663: 0 marked scripts")


def test_on_a_terminal_bank_import_and_stats_draw_a_progress_line_on_stderr(cli, monkeypatch):
    monkeypatch.setattr(cli_progress, "_is_terminal", lambda stream: True)
    imported = cli("bank", "import", str(ST0663))
    assert imported.exit_code == 0, imported.output
    count = int(imported.stdout.split(": ")[1].split()[0])
    updates = imported.stderr.split("\r")[1:]
    assert updates[0] == f"Importing ST0663: 0/{count + 1} (0%)"
    assert updates[-1] == f"Importing ST0663: {count + 1}/{count + 1} (100%)\n"
    assert 10 <= len(updates) <= 102  # a redraw per percent, not per question
    assert "Importing" not in imported.stdout
    stats = cli("bank", "stats", "--standard", "ST0663")
    assert stats.stderr == "".join(f"\rStatistics for ST0663: {n}/3 ({100 * n // 3}%)" for n in (0, 1, 3)) + "\n"


def test_the_progress_line_is_silent_for_a_pipe_and_ends_with_a_newline_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped, terminal = io.StringIO(), Terminal()
    for stream in (piped, terminal):
        with cli_progress.progress("Working", stream) as step:
            for done in range(401):
                step(done, 400)
    assert piped.getvalue() == ""
    shown = terminal.getvalue()
    assert shown.count("\r") == 101 and shown.endswith("\rWorking: 400/400 (100%)\n")

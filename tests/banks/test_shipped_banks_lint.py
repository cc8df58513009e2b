"""The shipped banks lint clean at error level, and their revision shows in the bank's history."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Question, QuestionVersion
from testengine.services.banks import import_bank

REPO = Path(__file__).resolve().parents[2]
BANKS = REPO / "question_banks"
# The revision that brought the shipped banks to lint clean (the last state before it).
BEFORE_REVISION = "f7f1b98"
# That revision itself; example answers were written into guides after it.
LINT_REVISION = "c1616b7"


@pytest.mark.parametrize("standard", ["ST0663", "ST1380"])
def test_shipped_bank_lints_clean_at_error_level(app, standard: str) -> None:
    result = app.test_cli_runner().invoke(args=["bank", "lint", "--standard", standard, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["standard"] == standard
    assert data["key_longest_share"] <= 0.30
    assert data["undeclared_near_duplicates"] == []
    assert [f for f in data["findings"] if f["severity"] == "error"] == []
    assert data["mcq_count"] > 0


def test_the_named_pair_is_declared_enemies(app) -> None:
    text = (BANKS / "ST0663" / "questions" / "K14.yaml").read_text(encoding="utf-8")
    block = text.split("- id: ST0663-K14-MCQ-008", 1)[1].split("- id:", 1)[0]
    assert "enemies: [ST0663-K16-MCQ-001]" in block


def _files_at(commit: str, standard: str, out: Path) -> Path:
    """The standard's folder as it was at `commit` (from git), written under `out`."""
    folder = out / standard
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", commit, f"question_banks/{standard}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listing:
        target = folder / Path(name).relative_to(f"question_banks/{standard}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(subprocess.run(["git", "show", f"{commit}:{name}"], cwd=REPO, capture_output=True, check=True).stdout)
    return folder


def test_revised_questions_become_new_versions_on_import(app, clock, tmp_path: Path) -> None:
    old = _files_at(BEFORE_REVISION, "ST0663", tmp_path)
    import_bank(old, now=clock.now())
    db.session.commit()
    summary = import_bank(_files_at(LINT_REVISION, "ST0663", tmp_path / "revised"), now=clock.now())
    db.session.commit()
    revised = set(summary.new_versions)
    # 18 MCQs re-optioned, 29 guides completed, one enemy declared.
    assert len(revised) == 48
    assert {"ST0663-K17-MCQ-006", "ST0663-K10-SA-001", "ST0663-K14-MCQ-008"} <= revised
    assert not summary.retired and not summary.added
    # Today's files: guides given example answers since are new versions of short answers, and
    # what else came in is the presentation's assessor questions, not a change to the knowledge test.
    summary = import_bank(BANKS / "ST0663", now=clock.now())
    db.session.commit()
    assert not summary.retired
    assert summary.added and all(added.startswith("ST0663-PRES-") for added in summary.added)
    assert all("-SA-" in question for question in summary.new_versions)
    assert {"ST0663-K17-SA-004", "ST0663-K10-SA-012", "ST0663-K3-SA-010"} <= set(summary.new_versions)
    row = db.session.scalar(select(Question).where(Question.external_id == "ST0663-K17-MCQ-006"))
    assert row.current_version == 2
    texts = [
        [o["text"] for o in v.content["options"]]
        for v in db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.question_id == row.id).order_by(QuestionVersion.version)
        )
    ]
    assert "Financial or material abuse" in texts[0] and "Financial abuse" in texts[1]

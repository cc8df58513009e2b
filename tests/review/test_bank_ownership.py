"""One owner for bank content: an import never undoes a revision approved in review, and never
clashes with one that waits for its second reviewer."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from testengine.banks import BankValidationError
from testengine.extensions import db
from testengine.services import review
from testengine.services.banks import export_bank, import_bank
from tests.review.conftest import question_of, version_of

REPO = Path(__file__).resolve().parents[2]
BANK = REPO / "question_banks" / "ST0663"
MCQ = "ST0663-K10-MCQ-001"


def _propose(st0663, author, clock, text: str):
    question = question_of(st0663, MCQ)
    question.next_due = clock.now().date() - dt.timedelta(days=1)
    db.session.commit()
    current = version_of(st0663, MCQ)
    options = [
        {k: v for k, v in option.items() if v is not None and (k != "correct" or v)} for option in current.content["options"]
    ]
    wrong = next(i for i, o in enumerate(options) if not o.get("correct"))
    options[wrong]["text"] = text
    proposed = review.propose_revision(
        question,
        stem=current.stem,
        content_fields={"options": options},
        comments="A clearer distractor.",
        actor=author,
        now=clock.now(),
    )
    db.session.commit()
    return question, proposed


def _edited_copy(tmp_path: Path) -> Path:
    """The shipped bank with MCQ's stem changed in its file."""
    folder = tmp_path / "ST0663"
    shutil.copytree(BANK, folder)
    path = folder / "questions" / "K10.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"- id: {MCQ}")
    stem_at = text.index("stem: >-\n", start) + len("stem: >-\n")
    path.write_text(text[:stem_at] + "      Edited in the file. " + text[stem_at:].lstrip(), encoding="utf-8")
    return folder


def test_a_stale_file_cannot_undo_an_approved_revision(st0663, reviewers, clock, tmp_path):
    author, second = reviewers
    _question, proposed = _propose(st0663, author, clock, "Phone the police at once, before anything else")
    review.approve_revision(proposed, actor=second, now=clock.now())
    db.session.commit()
    assert question_of(st0663, MCQ).current_version == 2
    with pytest.raises(BankValidationError) as raised:
        import_bank(BANK, now=clock.now())
    db.session.rollback()
    (problem,) = raised.value.problems
    assert problem.file.endswith("K10.yaml") and problem.line > 1
    assert MCQ in problem.message
    assert "the file holds version 1, older than version 2" in problem.message
    assert question_of(st0663, MCQ).current_version == 2
    # Exported, the files carry the revision, and import then changes nothing.
    export_bank("ST0663", tmp_path / "out")
    assert not import_bank(tmp_path / "out", now=clock.now()).new_versions


def test_importing_while_a_revision_waits_gives_a_clear_message(st0663, reviewers, clock, tmp_path):
    author, _second = reviewers
    _question, proposed = _propose(st0663, author, clock, "Phone the police at once, before anything else")
    assert proposed.version == 2
    with pytest.raises(BankValidationError) as raised:
        import_bank(_edited_copy(tmp_path), now=clock.now())
    db.session.rollback()
    (problem,) = raised.value.problems
    assert f"{MCQ}: revision version 2 is waiting for a second reviewer" in problem.message
    # The unchanged shipped files import fine: the waiting revision is not touched.
    assert not import_bank(BANK, now=clock.now()).new_versions


def test_a_rejected_revision_keeps_its_number(st0663, reviewers, clock, tmp_path):
    author, second = reviewers
    _question, proposed = _propose(st0663, author, clock, "Phone the police at once, before anything else")
    review.reject_revision(proposed, reason="Not clearer.", actor=second, now=clock.now())
    db.session.commit()
    summary = import_bank(_edited_copy(tmp_path), now=clock.now())
    db.session.commit()
    assert summary.new_versions == [MCQ]
    assert question_of(st0663, MCQ).current_version == 3  # version 2 is the rejected revision


def test_cli_import_names_the_question_and_both_versions(app, st0663, reviewers, clock):
    author, second = reviewers
    _question, proposed = _propose(st0663, author, clock, "Phone the police at once, before anything else")
    review.approve_revision(proposed, actor=second, now=clock.now())
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["bank", "import", str(BANK)])
    assert result.exit_code == 2
    assert f"{MCQ}: the file holds version 1, older than version 2" in result.output
    assert "Nothing imported" in result.output

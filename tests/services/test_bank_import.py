"""Importing banks: all or nothing, versioned, retire-not-delete, export round trip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from testengine.banks import BankValidationError
from testengine.extensions import db
from testengine.models import AuditEntry, BankImport, Question, QuestionVersion
from testengine.services.banks import export_bank, import_bank

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "tests" / "banks" / "valid_minimal"


def _copy(tmp_path: Path, source: Path = MINIMAL) -> Path:
    target = tmp_path / "bank"
    shutil.copytree(source, target)
    return target


def _counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count(Question.id))) or 0,
        db.session.scalar(select(func.count(QuestionVersion.id))) or 0,
        db.session.scalar(select(func.count(BankImport.id))) or 0,
    )


def test_reimporting_unchanged_files_changes_nothing(app, clock, tmp_path):
    folder = _copy(tmp_path)
    first = import_bank(folder, now=clock.now())
    db.session.commit()
    assert first.added and first.changed
    before = _counts()
    audit_before = db.session.scalar(select(func.count(AuditEntry.id)))
    second = import_bank(folder, now=clock.now())
    db.session.commit()
    assert not second.changed
    assert _counts() == before
    assert db.session.scalar(select(func.count(AuditEntry.id))) == audit_before


def test_a_changed_question_becomes_a_new_version_and_old_attempts_keep_theirs(app, clock, tmp_path):
    folder = _copy(tmp_path)
    import_bank(folder, now=clock.now())
    db.session.commit()
    question = db.session.scalars(select(Question).order_by(Question.external_id)).first()
    v1 = db.session.scalar(select(QuestionVersion).where(QuestionVersion.question_id == question.id))
    # Change that question's stem in its file.
    for path in (folder / "questions").glob("*.yaml"):
        text = path.read_text()
        if question.external_id in text:
            marker = f"id: {question.external_id}"
            head, tail = text.split(marker, 1)
            stem_start = tail.index("stem:")
            line_end = tail.index("\n", stem_start)
            tail = (
                tail[:stem_start] + "stem: A rewritten stem that a reviewer approved after the annual review." + tail[line_end:]
            )
            path.write_text(head + marker + tail)
            break
    summary = import_bank(folder, now=clock.now())
    db.session.commit()
    assert summary.new_versions == [question.external_id]
    versions = db.session.scalars(
        select(QuestionVersion).where(QuestionVersion.question_id == question.id).order_by(QuestionVersion.version)
    ).all()
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].stem == v1.stem and versions[1].stem.startswith("A rewritten stem")
    db.session.refresh(question)
    assert question.current_version == 2


def test_an_attempt_drawn_on_version_1_still_shows_version_1(app, clock, start_sitter, st0663, tmp_path):
    sitter = start_sitter()
    first = sitter.question(1).get_json()
    from testengine.models import AttemptQuestion

    aq = db.session.scalar(
        select(AttemptQuestion).where(AttemptQuestion.attempt_id == sitter.attempt_id, AttemptQuestion.position == 1)
    )
    question = aq.version.question
    # A new version of that very question arrives (as an import would make it).
    db.session.add(
        QuestionVersion(
            question_id=question.id,
            version=2,
            type=aq.version.type,
            ksb=aq.version.ksb,
            marks=aq.version.marks,
            stem="Version two of this question.",
            content=aq.version.content,
            enemies=[],
            fingerprint="x" * 64,
            approved=True,
            created_at=clock.now(),
        )
    )
    question.current_version = 2
    db.session.commit()
    assert sitter.question(1).get_json()["stem"] == first["stem"] != "Version two of this question."


def test_a_question_removed_from_the_files_is_retired_not_deleted(app, clock, tmp_path):
    folder = _copy(tmp_path)
    import_bank(folder, now=clock.now())
    db.session.commit()
    files = sorted((folder / "questions").glob("*.yaml"))
    text = files[0].read_text()
    ids = [line.split("id:", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("- id:")]
    # Remove the last question of the first file.
    last = text.rindex("  - id:")
    files[0].write_text(text[:last])
    summary = import_bank(folder, now=clock.now())
    db.session.commit()
    assert summary.retired == [ids[-1]]
    row = db.session.scalar(select(Question).where(Question.external_id == ids[-1]))
    assert row is not None and row.status == "retired"


def test_a_broken_bank_imports_nothing(app, clock, tmp_path):
    folder = _copy(tmp_path)
    path = sorted((folder / "questions").glob("*.yaml"))[-1]
    path.write_text(path.read_text().replace("correct: true", "correct: false", 1))
    with pytest.raises(BankValidationError) as error:
        import_bank(folder, now=clock.now())
    db.session.rollback()
    assert f"{path.name}:" in str(error.value)
    assert _counts() == (0, 0, 0)


def test_export_then_reimport_is_a_no_op(app, clock, tmp_path):
    folder = _copy(tmp_path)
    import_bank(folder, now=clock.now())
    db.session.commit()
    code = db.session.scalar(select(Question.standard_id)) and "MINI"
    from testengine.models import Standard

    code = db.session.scalar(select(Standard.code))
    out = tmp_path / "exported"
    assert export_bank(code, out) == db.session.scalar(select(func.count(Question.id)))
    before = _counts()
    summary = import_bank(out, now=clock.now())
    db.session.commit()
    assert not summary.changed, summary.as_dict()
    assert _counts() == before


def test_cli_validate_and_import_report_file_and_line_and_exit_2(app, tmp_path):
    runner = app.test_cli_runner()
    folder = _copy(tmp_path)
    path = sorted((folder / "questions").glob("*.yaml"))[0]
    path.write_text(path.read_text().replace("status: approved", "status: maybe", 1))
    result = runner.invoke(args=["bank", "validate", str(folder)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "status" in result.output
    result = runner.invoke(args=["bank", "import", str(folder)])
    assert result.exit_code == 2 and "Nothing imported" in result.output
    assert _counts() == (0, 0, 0)
    assert runner.invoke(args=["bank", "validate", str(REPO / "question_banks" / "ST0663")]).exit_code == 0


def test_st0663_report_meets_the_bank_targets(app, st0663):
    import json

    result = app.test_cli_runner().invoke(args=["bank", "report", "--standard", "ST0663", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["approved"]["mcq"] >= 60 and report["approved"]["short_answer"] >= 110
    for ksb in ["K3", "K9", "K10", "K11", "K14", "K15", "K16", "K17", "K19", "S8"]:
        assert report["ksb"][ksb] > 0, ksb
    assert report["papers_without_repeat"] >= 3
    assert set(report) >= {"standard", "approved", "ksb", "papers_without_repeat", "due_for_review"}

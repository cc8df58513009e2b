"""Bank use cases: import (all or nothing, versioned), export, report, and what may be drawn."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..banks import (
    BankQuestion,
    BankValidationError,
    LoadedStandard,
    Problem,
    load_standard,
    parse_spec,
    write_standard,
)
from ..banks.loader import DEFAULT_MAX_FILE_BYTES
from ..domain.errors import DomainError
from ..domain.papers import Item
from ..domain.standards import StandardSpec
from ..extensions import db
from ..models import BankImport, Question, QuestionStatus, QuestionVersion, Standard, User
from . import audit


class UnknownStandard(DomainError):
    code = "unknown_standard"


@dataclass
class ImportSummary:
    standard: str
    added: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    metadata_updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0
    spec_changed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.new_versions or self.metadata_updated or self.retired or self.spec_changed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "standard": self.standard,
            "added": len(self.added),
            "new_versions": len(self.new_versions),
            "metadata_updated": len(self.metadata_updated),
            "retired": len(self.retired),
            "unchanged": self.unchanged,
            "spec_changed": self.spec_changed,
        }


def get_standard(code: str) -> Standard:
    standard: Standard | None = db.session.scalar(select(Standard).where(Standard.code == code))
    if standard is None:
        raise UnknownStandard(f"No standard {code!r} has been imported. Run: testengine bank import question_banks/{code}")
    return standard


_spec_cache: dict[str, StandardSpec] = {}


def spec_of(standard: Standard) -> StandardSpec:
    """The typed spec; parsed once per distinct spec content (content-addressed, so safe to keep)."""
    key = hashlib.sha256(json.dumps(standard.spec, sort_keys=True, default=str).encode()).hexdigest()
    if key not in _spec_cache:
        _spec_cache[key] = parse_spec(standard.spec, f"{standard.code}/spec.yaml")
    return _spec_cache[key]


def _metadata(question: BankQuestion) -> dict[str, Any]:
    return {
        "status": question.status,
        "author": question.author,
        "last_reviewed": question.last_reviewed,
        "reviewer": question.reviewer,
        "next_due": question.next_due,
    }


def _new_version(row: Question, source: BankQuestion, number: int, now: dt.datetime) -> QuestionVersion:
    version = QuestionVersion(
        question=row,
        version=number,
        type=source.type,
        ksb=list(source.ksb),
        marks=source.marks,
        stem=source.stem,
        content=source.content,
        enemies=list(source.enemies),
        fingerprint=source.fingerprint(),
        approved=True,
        created_at=now,
    )
    db.session.add(version)
    return version


def _ownership_problems(source: BankQuestion, current: QuestionVersion | None, versions: list[QuestionVersion]) -> list[Problem]:
    """Why a changed question in the files may not be imported over what review has done.

    The files and the review pages both change questions; one must not silently undo the other.
    A file that still holds a version older than one approved in review would revert the
    reviewer's revision, and a change while a revision waits for its second reviewer would make
    two candidate next versions: both are refused, naming the question and the versions.
    """
    fingerprint = source.fingerprint()
    if current is None or current.fingerprint == fingerprint:
        return []
    file, _, line = source.source.rpartition(":")
    where = (file, int(line)) if line.isdigit() else (source.source, 1)
    pending = [v for v in versions if not v.approved and v.rejected_by_id is None]
    if pending:
        return [
            Problem(
                *where,
                f"{source.id}: revision version {pending[0].version} is waiting for a second reviewer; "
                "approve or reject it in review before importing a change to this question",
            )
        ]
    older = next((v for v in versions if v.version < current.version and v.fingerprint == fingerprint), None)
    reviewed_since = [
        v for v in versions if older is not None and v.version > older.version and v.proposed_by_id is not None and v.approved
    ]
    if older is not None and reviewed_since:
        newest = reviewed_since[-1]
        on = f" on {newest.decided_at:%Y-%m-%d}" if newest.decided_at else ""
        return [
            Problem(
                *where,
                f"{source.id}: the file holds version {older.version}, older than version {current.version} "
                f"(revised in review and approved{on}); export the bank (testengine bank export) to bring "
                "the files up to date, then edit from there",
            )
        ]
    return []


def import_bank(
    folder: Path,
    *,
    now: dt.datetime,
    actor: User | None = None,
    loaded: LoadedStandard | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> ImportSummary:
    """Import a standard's folder. Raises BankValidationError (nothing written) if any file is bad.

    Unchanged files change nothing; a changed question becomes a new version (earlier attempts keep
    theirs); a question missing from the files is retired, never deleted. The caller commits.
    `progress(done, total)` hears of each question written (the command shows it on a terminal).
    """
    loaded = loaded or load_standard(folder, today=now.date(), max_file_bytes=max_file_bytes)
    code = loaded.spec.code
    summary = ImportSummary(standard=code)
    standard = db.session.scalar(select(Standard).where(Standard.code == code))
    if standard is None:
        standard = Standard(code=code, title=loaded.spec.title, spec=loaded.spec_raw, imported_at=now)
        db.session.add(standard)
        summary.spec_changed = True
    elif standard.spec != loaded.spec_raw:
        standard.spec = loaded.spec_raw
        standard.title = loaded.spec.title
        summary.spec_changed = True
    db.session.flush()

    existing = {row.external_id: row for row in db.session.scalars(select(Question).where(Question.standard_id == standard.id))}
    all_versions: dict[int, list[QuestionVersion]] = {}
    for version in db.session.scalars(
        select(QuestionVersion).join(Question).where(Question.standard_id == standard.id).order_by(QuestionVersion.version)
    ):
        all_versions.setdefault(version.question_id, []).append(version)
    current_versions = {
        row.id: version
        for row in existing.values()
        for version in all_versions.get(row.id, [])
        if version.version == row.current_version
    }
    conflicts = [
        problem
        for source in loaded.questions
        if (row := existing.get(source.id)) is not None
        for problem in _ownership_problems(source, current_versions.get(row.id), all_versions.get(row.id, []))
    ]
    if conflicts:
        raise BankValidationError(conflicts)
    seen: set[str] = set()
    total = len(loaded.questions) + 1  # the last step: writing the rows out
    for done, source in enumerate(loaded.questions):
        if progress is not None:
            progress(done, total)
        seen.add(source.id)
        row = existing.get(source.id)
        if row is None:
            row = Question(standard=standard, external_id=source.id, created_at=now, current_version=1, **_metadata(source))
            db.session.add(row)
            _new_version(row, source, 1, now)
            summary.added.append(source.id)
            continue
        changed = False
        current = current_versions.get(row.id)
        if current is None or current.fingerprint != source.fingerprint():
            # After every version so far, rejected revisions included (their numbers are taken).
            row.current_version = max([v.version for v in all_versions.get(row.id, [])] + [0]) + 1
            _new_version(row, source, row.current_version, now)
            summary.new_versions.append(source.id)
            changed = True
        for key, value in _metadata(source).items():
            if getattr(row, key) != value:
                setattr(row, key, value)
                if not changed and source.id not in summary.metadata_updated:
                    summary.metadata_updated.append(source.id)
        if not changed and source.id not in summary.metadata_updated:
            summary.unchanged += 1
    for external_id, row in existing.items():
        if external_id not in seen and row.status != QuestionStatus.RETIRED.value:
            row.status = QuestionStatus.RETIRED.value
            summary.retired.append(external_id)

    if progress is not None:
        progress(total - 1, total)
    db.session.flush()
    if progress is not None:
        progress(total, total)
    if summary.changed:
        standard.imported_at = now
        db.session.add(BankImport(standard_id=standard.id, at=now, source=str(folder), summary=summary.as_dict()))
        db.session.flush()
        audit.record(actor, "bank.import", standard, after=summary.as_dict())
    return summary


def as_bank_question(question: Question, version: QuestionVersion) -> BankQuestion:
    """A stored version in bank-file form: what an export writes, and what the file rules check an edit against."""
    return BankQuestion(
        id=question.external_id,
        type=version.type,
        ksb=tuple(version.ksb),
        marks=version.marks,
        status=question.status,
        author=question.author,
        last_reviewed=question.last_reviewed,
        reviewer=question.reviewer,
        next_due=question.next_due,
        enemies=tuple(version.enemies or ()),
        stem=version.stem,
        content=version.content,
        source="database",
    )


def current_bank_questions(standard: Standard) -> list[BankQuestion]:
    """The bank as it stands now, in file form (for export)."""
    rows = db.session.execute(
        select(Question, QuestionVersion)
        .join(
            QuestionVersion, (QuestionVersion.question_id == Question.id) & (QuestionVersion.version == Question.current_version)
        )
        .where(Question.standard_id == standard.id)
        .order_by(Question.external_id)
    ).all()
    return [as_bank_question(question, version) for question, version in rows]


def export_bank(code: str, folder: Path) -> int:
    standard = get_standard(code)
    questions = current_bank_questions(standard)
    write_standard(folder, standard.spec, questions)
    return len(questions)


def eligible_rows(standard: Standard, today: dt.date, *columns: Any) -> list[Any]:
    """Approved questions, in review date, at their current approved version: the only ones a paper may use.

    Gives (Question, QuestionVersion) pairs in external id order, or only the given columns (or
    aggregates) of those rows, unordered: far lighter than loading the content of a whole bank.
    """
    statement = (
        select(*(columns or (Question, QuestionVersion)))
        .select_from(Question)
        .join(
            QuestionVersion, (QuestionVersion.question_id == Question.id) & (QuestionVersion.version == Question.current_version)
        )
        .where(
            Question.standard_id == standard.id,
            Question.status == QuestionStatus.APPROVED.value,
            Question.next_due >= today,
            QuestionVersion.approved.is_(True),
        )
    )
    if not columns:
        statement = statement.order_by(Question.external_id)
    return [tuple(row) for row in db.session.execute(statement)]


def to_item(question: Question, version: QuestionVersion) -> Item:
    options = version.content.get("options") or []
    return Item(
        id=question.external_id,
        version=version.version,
        type=version.type,
        ksb=tuple(version.ksb),
        marks=version.marks,
        option_count=len(options),
        enemies=frozenset(version.enemies or ()),
    )

"""What the marker's pages show, read in one place: answers and marks, never who wrote them.

The one fact about a candidate a marker page may carry is the candidate number. These functions
select that column and nothing else from the apprentice's record (no name, ULN or account), so
the guarantee can be checked here rather than in every template.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..domain.attempt_states import AttemptState
from ..domain.marking import normalise_answer
from ..domain.marking_states import MarkingState, SampleStatus
from ..extensions import db
from ..models import (
    Answer,
    Apprentice,
    Attempt,
    AttemptQuestion,
    Mark,
    MarkerClearance,
    MarkingClaim,
    Question,
    QuestionVersion,
    StandardisationItem,
    User,
)
from . import marking
from . import marking_progress as progress
from . import marking_quality as quality
from .standing_marks import ResponseMarks, marks_of

STAGE_TEXT = {
    progress.FIRST: "First marking",
    progress.SAMPLE: "First marking done: waiting for the second-marking sample of its sitting",
    progress.SECOND: "Second marking",
    progress.MODERATION: "Waiting for a moderator",
    progress.COMPLETE: "Marking complete",
}
GATE_TEXT = {
    quality.READY: "Ready to mark",
    quality.STANDARDISE: "Standardise first",
    quality.FAILED: "Needs a moderator to clear you",
    quality.NOT_SET_UP: "Standardisation not set up",
}


@dataclass(frozen=True)
class QuestionInfo:
    question_id: int
    ref: str
    type: str
    ksb: list[str]
    marks: int
    stem: str
    guide: dict[str, Any] | None

    @property
    def excerpt(self) -> str:
        return self.stem if len(self.stem) <= 90 else self.stem[:87].rstrip() + "..."


def _info(ref: str, version: QuestionVersion) -> QuestionInfo:
    return QuestionInfo(
        version.question_id,
        ref,
        version.type,
        list(version.ksb),
        version.marks,
        version.stem,
        (version.content or {}).get("guide"),
    )


def current_question(question_id: int) -> QuestionInfo | None:
    """A question as it now reads (for standardisation), or None."""
    row = db.session.execute(
        select(Question.external_id, QuestionVersion)
        .join(
            QuestionVersion, (QuestionVersion.question_id == Question.id) & (QuestionVersion.version == Question.current_version)
        )
        .where(Question.id == question_id)
    ).first()
    return _info(row[0], row[1]) if row else None


def candidate_number(attempt_id: int) -> str:
    return (
        db.session.scalar(
            select(Apprentice.candidate_number)
            .join(Attempt, Attempt.apprentice_id == Apprentice.id)
            .where(Attempt.id == attempt_id)
        )
        or "-"
    )


def submitted_script(attempt_id: int) -> Attempt | None:
    """A script a marker may look at: submitted (an attempt still being sat does not exist for markers)."""
    attempt = db.session.get(Attempt, attempt_id)
    return attempt if attempt is not None and attempt.state == AttemptState.SUBMITTED else None


def response_id(attempt_id: int, position: int) -> int | None:
    return db.session.scalar(
        select(AttemptQuestion.id)
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .where(
            AttemptQuestion.attempt_id == attempt_id,
            AttemptQuestion.position == position,
            Attempt.state == AttemptState.SUBMITTED.value,
        )
    )


@dataclass(frozen=True)
class ResponsePage:
    aq_id: int
    attempt_id: int
    position: int
    candidate_number: str
    question: QuestionInfo
    answer: str
    marks: ResponseMarks


def response_page(aq_id: int) -> ResponsePage:
    aq, version, ref = db.session.execute(
        select(AttemptQuestion, QuestionVersion, Question.external_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(AttemptQuestion.id == aq_id)
    ).one()
    answer = db.session.scalar(select(Answer.response).where(Answer.attempt_question_id == aq_id)) or ""
    return ResponsePage(
        aq.id,
        aq.attempt_id,
        aq.position,
        candidate_number(aq.attempt_id),
        _info(ref, version),
        answer,
        marks_of([aq.attempt_id])[aq.id],
    )


def position_of(aq_id: int) -> tuple[int, int]:
    row = db.session.execute(
        select(AttemptQuestion.attempt_id, AttemptQuestion.position).where(AttemptQuestion.id == aq_id)
    ).one()
    return row[0], row[1]


# --- the home page --------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionRow:
    question: QuestionInfo
    waiting: int
    being_marked: int
    gate: str

    @property
    def gate_text(self) -> str:
        return GATE_TEXT[self.gate]


@dataclass(frozen=True)
class Held:
    attempt_id: int
    position: int
    role: str
    ref: str


@dataclass(frozen=True)
class RecentMark:
    attempt_id: int
    position: int
    ref: str
    candidate_number: str
    role: str
    mark: int
    at: dt.datetime
    changed: bool


def _refs(question_ids: set[int]) -> dict[int, QuestionInfo]:
    if not question_ids:
        return {}
    rows = db.session.execute(
        select(Question.external_id, QuestionVersion)
        .join(
            QuestionVersion, (QuestionVersion.question_id == Question.id) & (QuestionVersion.version == Question.current_version)
        )
        .where(Question.id.in_(question_ids))
    ).all()
    return {version.question_id: _info(ref, version) for ref, version in rows}


def home(marker: Any, now: dt.datetime) -> dict[str, Any]:
    """The marker's queue: by question (with their standardisation gate), by script, second marking, moderation."""
    first = marking.pending("first", now)
    by_question: dict[int, list[marking.Pending]] = {}
    for p in first:
        by_question.setdefault(p.question_id, []).append(p)
    gates = quality.gates_for(marker, set(by_question))
    infos = _refs(set(by_question))
    questions = sorted(
        (
            QuestionRow(
                infos[q],
                sum(p.held_by in (None, marker.id) for p in rows),
                sum(p.held_by not in (None, marker.id) for p in rows),
                gates[q],
            )
            for q, rows in by_question.items()
        ),
        key=lambda row: row.question.ref,
    )
    mine = marking.available(marker, "first", now)
    held_rows = db.session.execute(
        select(AttemptQuestion.attempt_id, AttemptQuestion.position, MarkingClaim.role, Question.external_id)
        .join(AttemptQuestion, AttemptQuestion.id == MarkingClaim.attempt_question_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(MarkingClaim.marker_id == marker.id, MarkingClaim.expires_at > now)
        .order_by(MarkingClaim.claimed_at)
    ).all()
    return {
        "questions": questions,
        "scripts": len({p.attempt_id for p in mine}),
        "second": len(marking.available(marker, "second", now)),
        "moderation": len(marking.available(marker, "moderator", now)) if marker.is_moderator else 0,
        "cover": marking.moderation_cover(marker, now),
        "held": [Held(*row) for row in held_rows],
        "recent": recent_marks(marker),
    }


def recent_marks(marker: Any, limit: int = 20) -> list[RecentMark]:
    rows = db.session.execute(
        select(Mark, AttemptQuestion.position, Question.external_id, Apprentice.candidate_number)
        .join(AttemptQuestion, AttemptQuestion.id == Mark.attempt_question_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .join(Attempt, Attempt.id == Mark.attempt_id)
        .join(Apprentice, Apprentice.id == Attempt.apprentice_id)
        .where(Mark.marker_id == marker.id)
        .order_by(Mark.created_at.desc(), Mark.id.desc())
        .limit(limit)
    ).all()
    return [
        RecentMark(m.attempt_id, position, ref, number, m.role, m.mark, m.created_at, m.reason is not None)
        for m, position, ref, number in rows
    ]


# --- a script -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptRow:
    position: int
    ref: str
    type: str
    status: str
    mark: int | None  # shown only for automatic marks and the viewer's own
    openable: bool  # the viewer holds it or marked it


@dataclass(frozen=True)
class ScriptPage:
    attempt_id: int
    candidate_number: str
    rows: list[ScriptRow]
    available_marks: int
    automatic: int
    yours: int
    waiting: int
    stage: str
    reason: str | None
    provisional_total: int | None  # automatic plus first marks, when every first mark is the viewer's
    final_total: int | None

    @property
    def stage_text(self) -> str:
        return STAGE_TEXT[self.stage]


def script_page(attempt: Attempt, marker: Any, now: dt.datetime) -> ScriptPage:
    """One script as its first marker sees it. Marks other markers gave are not shown (marking stays blind)."""
    rows = db.session.execute(
        select(AttemptQuestion.id, AttemptQuestion.position, AttemptQuestion.marks, QuestionVersion.type, Question.external_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(AttemptQuestion.attempt_id == attempt.id)
        .order_by(AttemptQuestion.position)
    ).all()
    marks = marks_of([attempt.id])
    claims = dict(
        db.session.execute(
            select(MarkingClaim.attempt_question_id, MarkingClaim.marker_id)
            .join(AttemptQuestion, AttemptQuestion.id == MarkingClaim.attempt_question_id)
            .where(AttemptQuestion.attempt_id == attempt.id, MarkingClaim.role == "first", MarkingClaim.expires_at > now)
        ).all()
    )
    out, automatic, yours, waiting, others = [], 0, 0, 0, 0
    for aq_id, position, _available, kind, ref in rows:
        response = marks[aq_id]
        auto, first = response.latest("auto"), response.latest("first")
        if auto is not None:
            automatic += auto.mark
            status = "Marked automatically" if kind == "mcq" else "Blank: marked automatically"
            out.append(ScriptRow(position, ref, kind, status, auto.mark, False))
        elif first is not None and first.marker_id == marker.id:
            yours += first.mark
            out.append(ScriptRow(position, ref, kind, "Your mark", first.mark, True))
        elif first is not None:
            others += 1
            out.append(ScriptRow(position, ref, kind, "Marked by another marker", None, False))
        else:
            waiting += 1
            holder = claims.get(aq_id)
            status = "You are marking this" if holder == marker.id else "Being marked" if holder else "Waiting for a marker"
            out.append(ScriptRow(position, ref, kind, status, None, holder == marker.id))
    decision = progress.decision_of(attempt.id)
    current = progress.stage(attempt, marks, decision)
    return ScriptPage(
        attempt.id,
        candidate_number(attempt.id),
        out,
        sum(r[2] for r in rows),
        automatic,
        yours,
        waiting,
        current,
        decision.reason if decision is not None and decision.status == SampleStatus.SELECTED else None,
        automatic + yours if others == 0 else None,
        attempt.total_marks if attempt.marking_state == MarkingState.COMPLETE else None,
    )


# --- moderators -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StandardisationRow:
    question: QuestionInfo
    items: int
    answered: int


def standardisation_overview() -> list[StandardisationRow]:
    """Short-answer questions that have submitted answers or standardisation answers, with their counts."""
    answered = dict(
        db.session.execute(
            select(QuestionVersion.question_id, func.count(Answer.id))
            .join(AttemptQuestion, AttemptQuestion.question_version_id == QuestionVersion.id)
            .join(Answer, Answer.attempt_question_id == AttemptQuestion.id)
            .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
            .where(
                QuestionVersion.type == "short_answer",
                Attempt.state == AttemptState.SUBMITTED.value,
                func.length(func.trim(Answer.response)) > 0,
            )
            .group_by(QuestionVersion.question_id)
        ).all()
    )
    items = dict(
        db.session.execute(
            select(StandardisationItem.question_id, func.count(StandardisationItem.id)).group_by(StandardisationItem.question_id)
        ).all()
    )
    infos = _refs(set(answered) | set(items))
    return sorted(
        (StandardisationRow(infos[q], items.get(q, 0), answered.get(q, 0)) for q in infos), key=lambda row: row.question.ref
    )


@dataclass(frozen=True)
class RealAnswer:
    attempt_id: int
    position: int
    text: str
    count: int


def real_answers(question_id: int, limit: int = 40) -> list[RealAnswer]:
    """Distinct submitted answers to a question (as text only), commonest first, to pick standardisation answers from."""
    rows = db.session.execute(
        select(AttemptQuestion.attempt_id, AttemptQuestion.position, Answer.response)
        .join(Answer, Answer.attempt_question_id == AttemptQuestion.id)
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .where(QuestionVersion.question_id == question_id, Attempt.state == AttemptState.SUBMITTED.value)
        .order_by(AttemptQuestion.id)
    ).all()
    seen: dict[str, list[Any]] = {}
    for attempt_id, position, text in rows:
        key = normalise_answer(text or "")
        if key:
            seen.setdefault(key, [attempt_id, position, text, 0])[3] += 1
    ordered = sorted(seen.values(), key=lambda r: -r[3])[:limit]
    return [RealAnswer(*row) for row in ordered]


@dataclass(frozen=True)
class ClearanceRow:
    marker_id: int
    marker_name: str
    question: QuestionInfo
    agreement: float | None
    decided_at: dt.datetime


def failed_standardisation() -> list[ClearanceRow]:
    """Markers below the threshold on a question, waiting for a moderator (markers' names, never candidates')."""
    rows = db.session.execute(
        select(MarkerClearance, User.display_name)
        .join(User, User.id == MarkerClearance.marker_id)
        .where(MarkerClearance.status == "failed")
        .order_by(MarkerClearance.decided_at)
    ).all()
    infos = _refs({c.question_id for c, _name in rows})
    return [ClearanceRow(c.marker_id, name, infos[c.question_id], c.agreement, c.decided_at) for c, name in rows]

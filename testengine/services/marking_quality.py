"""Quality of marking: standardisation before live marking, and marker statistics.

Before a marker marks a question live they mark its standardisation answers (real answers a
moderator has marked); below the agreement threshold they stay off that question until a
moderator clears them (ST1380: standardisation and moderation of assessment decisions).
Moderators set the reference marks, so they need no clearance. Flushes, never commits.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..domain import marking as rules
from ..domain.attempt_states import AttemptState
from ..extensions import db
from ..models import (
    Answer,
    Attempt,
    AttemptQuestion,
    Mark,
    MarkerClearance,
    QuestionVersion,
    StandardisationItem,
    StandardisationMark,
    User,
)
from . import audit
from .marking_progress import MarkingError, check_mark, question_of

STANDARDISATION_THRESHOLD = 0.8  # exact agreement needed to mark a question live

# A marker's gate for one question.
READY, STANDARDISE, FAILED, NOT_SET_UP = "ready", "standardise", "failed", "not_set_up"
GATE_MESSAGES = {
    STANDARDISE: "Mark this question's standardisation answers before you mark it live.",
    FAILED: "Your standardisation on this question was below the agreement needed. "
    "A moderator must clear you before you mark it live.",
    NOT_SET_UP: "No standardisation answers are set up for this question yet. "
    "A moderator must set standardisation up before it can be marked.",
}


# --- standardisation ------------------------------------------------------------------------


def gates_for(marker: User, question_ids: Iterable[int]) -> dict[int, str]:
    """For each question, whether this marker may mark it live (moderators set the standard, so may)."""
    ids = set(question_ids)
    if marker.is_moderator or not ids:
        return {q: READY for q in ids}
    clearances = dict(
        db.session.execute(
            select(MarkerClearance.question_id, MarkerClearance.status).where(
                MarkerClearance.marker_id == marker.id, MarkerClearance.question_id.in_(ids)
            )
        ).all()
    )
    items = dict(
        db.session.execute(
            select(StandardisationItem.question_id, func.count(StandardisationItem.id))
            .where(StandardisationItem.question_id.in_(ids))
            .group_by(StandardisationItem.question_id)
        ).all()
    )
    gates = {}
    for q in ids:
        status = clearances.get(q)
        if status in ("passed", "cleared"):
            gates[q] = READY
        elif status == "failed":
            gates[q] = FAILED
        else:
            gates[q] = STANDARDISE if items.get(q) else NOT_SET_UP
    return gates


def require_gate(marker: User, question_id: int) -> None:
    gate = gates_for(marker, [question_id])[question_id]
    if gate != READY:
        raise MarkingError(GATE_MESSAGES[gate], code=f"gate_{gate}")


def standardisation_items(question_id: int) -> list[StandardisationItem]:
    return list(
        db.session.scalars(
            select(StandardisationItem).where(StandardisationItem.question_id == question_id).order_by(StandardisationItem.id)
        )
    )


def clearance_of(marker_id: int, question_id: int) -> MarkerClearance | None:
    return db.session.scalar(
        select(MarkerClearance).where(MarkerClearance.marker_id == marker_id, MarkerClearance.question_id == question_id)
    )


def submit_standardisation(marker: User, question_id: int, given: dict[int, int], *, now: dt.datetime) -> MarkerClearance:
    """Record a marker's marks on a question's standardisation set and whether they agree enough to mark it live."""
    if clearance_of(marker.id, question_id) is not None:
        raise MarkingError("You have already standardised on this question.", code="already_standardised")
    items = standardisation_items(question_id)
    if not items:
        raise MarkingError(GATE_MESSAGES[NOT_SET_UP], code="gate_not_set_up")
    if any(item.id not in given for item in items):
        raise MarkingError("Mark every standardisation answer.", code="incomplete")
    for item in items:
        check_mark(given[item.id], None)
    outcome = rules.standardisation_outcome(
        {i.id: given[i.id] for i in items}, {i.id: i.reference_mark for i in items}, STANDARDISATION_THRESHOLD
    )
    clearance = MarkerClearance(
        marker_id=marker.id,
        question_id=question_id,
        status="passed" if outcome.passed else "failed",
        agreement=outcome.agreement,
        decided_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add_all(
                StandardisationMark(item_id=i.id, marker_id=marker.id, mark=given[i.id], created_at=now) for i in items
            )
            db.session.add(clearance)
    except IntegrityError:
        raise MarkingError("You have already standardised on this question.", code="already_standardised") from None
    audit.record(
        marker,
        "standardisation.result",
        clearance,
        after={
            "question": question_id,
            "agreement": outcome.agreement,
            "compared": outcome.compared,
            "threshold": STANDARDISATION_THRESHOLD,
            "status": clearance.status,
            "marks": {str(i.id): given[i.id] for i in items},
        },
    )
    return clearance


def my_standardisation(marker: User, question_id: int) -> list[tuple[StandardisationItem, int | None]]:
    """The question's standardisation answers with this marker's marks (None where not marked)."""
    mine = dict(
        db.session.execute(
            select(StandardisationMark.item_id, StandardisationMark.mark)
            .join(StandardisationItem, StandardisationItem.id == StandardisationMark.item_id)
            .where(StandardisationMark.marker_id == marker.id, StandardisationItem.question_id == question_id)
        ).all()
    )
    return [(item, mine.get(item.id)) for item in standardisation_items(question_id)]


def _require_moderator(user: User) -> None:
    if not user.is_moderator:
        raise MarkingError("Only a moderator can do this.", code="not_moderator")


def add_standardisation_item(
    question_id: int, *, response: str, reference_mark: int, rationale: str | None, moderator: User, now: dt.datetime
) -> StandardisationItem:
    """A moderator adds a marked answer to a question's standardisation set."""
    _require_moderator(moderator)
    check_mark(reference_mark, rationale)
    text = (response or "").strip()
    if not text:
        raise MarkingError("A standardisation answer needs some text.", code="empty")
    version = db.session.scalar(
        select(QuestionVersion)
        .where(QuestionVersion.question_id == question_id)
        .order_by(QuestionVersion.version.desc())
        .limit(1)
    )
    if version is None or version.type != "short_answer":
        raise MarkingError("Standardisation is for short-answer questions.", code="not_short_answer")
    item = StandardisationItem(
        question_id=question_id,
        response=text,
        reference_mark=reference_mark,
        rationale=(rationale or "").strip() or None,
        moderator_id=moderator.id,
        created_at=now,
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        moderator,
        "standardisation.item.add",
        item,
        after={"question": question_id, "reference_mark": reference_mark, "response": text, "rationale": item.rationale},
    )
    return item


def add_item_from_response(
    aq_id: int, *, reference_mark: int, rationale: str | None, moderator: User, now: dt.datetime
) -> StandardisationItem:
    """A moderator turns a real submitted answer into a standardisation answer (only its text is copied)."""
    aq, question_id = question_of(aq_id)
    text = db.session.scalar(select(Answer.response).where(Answer.attempt_question_id == aq.id))
    state = db.session.scalar(select(Attempt.state).where(Attempt.id == aq.attempt_id))
    if state != AttemptState.SUBMITTED or not (text or "").strip():
        raise MarkingError("Only a submitted, non-blank answer can be used.", code="not_usable")
    return add_standardisation_item(
        question_id, response=text or "", reference_mark=reference_mark, rationale=rationale, moderator=moderator, now=now
    )


def clear_marker(marker_id: int, question_id: int, *, moderator: User, reason: str, now: dt.datetime) -> MarkerClearance:
    """A moderator lets a marker who fell below the threshold mark the question live, with the reason."""
    _require_moderator(moderator)
    clearance = clearance_of(marker_id, question_id)
    if clearance is None or clearance.status != "failed":
        raise MarkingError("There is no failed standardisation to clear.", code="not_failed")
    if clearance.marker_id == moderator.id:
        raise MarkingError("Another moderator must clear you.", code="same_marker")
    reason = (reason or "").strip()[:500]
    if not reason:
        raise MarkingError("Give the reason for clearing this marker.", code="reason_required")
    before = {"status": clearance.status, "agreement": clearance.agreement}
    clearance.status, clearance.cleared_by_id, clearance.decided_at = "cleared", moderator.id, now
    db.session.flush()
    audit.record(
        moderator,
        "standardisation.clear",
        clearance,
        before=before,
        reason=reason,
        after={"status": "cleared", "marker_id": clearance.marker_id, "question": clearance.question_id},
    )
    return clearance


# --- statistics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MarkerStatistics:
    marker_id: int
    name: str
    summary: rules.MarkerSummary


def marker_statistics() -> list[MarkerStatistics]:
    """Per marker: volume, time per answer, agreement and kappa against second markers and moderators, leniency.

    One marking event per marker per response and role: the latest mark (a corrected mark counts
    once), with the time spent on all its rows.
    """
    rows = db.session.execute(
        select(Mark.attempt_question_id, Mark.marker_id, Mark.role, Mark.mark, Mark.seconds_spent, QuestionVersion.question_id)
        .join(AttemptQuestion, AttemptQuestion.id == Mark.attempt_question_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .where(Mark.role.in_(("first", "second", "moderator")), Mark.marker_id.is_not(None))
        .order_by(Mark.created_at, Mark.id)
    ).all()
    latest: dict[tuple[int, int, str], tuple[int, int]] = {}
    seconds: dict[tuple[int, int, str], float] = defaultdict(float)
    timed: set[tuple[int, int, str]] = set()
    moderated: dict[int, int] = {}
    for aq_id, marker_id, role, mark, spent, question_id in rows:
        if role == "moderator":
            moderated[aq_id] = mark
            continue
        assert marker_id is not None  # the query leaves out marks without a marker
        key = (aq_id, marker_id, role)
        latest[key] = (mark, question_id)
        if spent is not None:
            seconds[key] += spent
            timed.add(key)
    keys = sorted(latest)
    summaries = rules.marker_summary(
        [k[1] for k in keys],
        [k[0] for k in keys],
        [latest[k][1] for k in keys],
        [latest[k][0] for k in keys],
        [seconds[k] if k in timed else math.nan for k in keys],
        moderated,
    )
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_([s.marker for s in summaries]))).all())
    return [MarkerStatistics(s.marker, names.get(s.marker, f"Marker {s.marker}"), s) for s in summaries]

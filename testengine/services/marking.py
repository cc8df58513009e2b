"""Marking short answers: the queue, claims, and saving or changing marks.

Markers never see who wrote an answer: the queue is of responses, in an order shuffled per
marker. A marker holds a response through a MarkingClaim (unique per response and role) that
expires if abandoned, so two markers never mark one response at once; saving needs the claim.
Marks are append-only: a change is a new row with its reason, and every row is audited. What
happens to the script next (second marking, moderation, its final total) is marking_progress.
Flushes, never commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Exists, Select, exists, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from ..domain.attempt_states import AttemptState
from ..domain.marking import group_identical, normalise_answer
from ..domain.marking_states import MarkingState, SampleStatus
from ..extensions import db
from ..models import (
    Answer,
    Attempt,
    AttemptQuestion,
    Mark,
    MarkingClaim,
    QuestionVersion,
    SecondMarkingDecision,
    User,
)
from . import audit
from .marking_progress import (
    MarkingError,
    check_mark,
    decision_of,  # noqa: F401  (re-exported: callers ask this service where a script is)
    lock_scripts,
    progress,
    question_of,
    stage,  # noqa: F401
)
from .marking_quality import READY, gates_for, require_gate
from .standing_marks import ResponseMarks, marks_of

# --- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """A response waiting for a marker in one role."""

    aq_id: int
    attempt_id: int
    question_id: int
    position: int
    held_by: int | None  # the marker holding a live claim on it, if any


@dataclass(frozen=True)
class MarkingSettings:
    """What marking needs from the app's settings, given by the caller (a view, a command, a test)."""

    claim_minutes: int  # TESTENGINE_CLAIM_MINUTES: how long an untouched claim holds a response
    secret: bytes  # the app's secret key: keys each marker's shuffled order


def order_key(marker_id: int, kind: str, item_id: int, secret: bytes) -> str:
    """A marker's own shuffled order: stable for that marker, different between markers.

    Keyed with the app's secret so nobody can work out the order (and so who marks what).
    """
    return hmac.new(secret, f"{kind}:{marker_id}:{item_id}".encode(), hashlib.sha256).hexdigest()


def _live_claims(role: str, now: dt.datetime) -> dict[int, int]:
    rows = db.session.execute(
        select(MarkingClaim.attempt_question_id, MarkingClaim.marker_id).where(
            MarkingClaim.role == role, MarkingClaim.expires_at > now
        )
    )
    return {aq_id: marker_id for aq_id, marker_id in rows}


def _responses_query() -> Select[int, int, int, int]:
    return (
        select(AttemptQuestion.id, AttemptQuestion.attempt_id, QuestionVersion.question_id, AttemptQuestion.position)
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .where(Attempt.state == AttemptState.SUBMITTED.value, Attempt.marking_state == MarkingState.MARKING.value)
    )


def _has_mark(*roles: str) -> Exists:
    return exists().where(Mark.attempt_question_id == AttemptQuestion.id, Mark.role.in_(roles))


def pending(role: str, now: dt.datetime, *, question_id: int | None = None, attempt_id: int | None = None) -> list[Pending]:
    """Responses waiting for a mark in `role` (first, second or moderator), whoever may give it."""
    query = _responses_query()
    if question_id is not None:
        query = query.where(QuestionVersion.question_id == question_id)
    if attempt_id is not None:
        query = query.where(AttemptQuestion.attempt_id == attempt_id)
    if role == "first":
        query = query.where(~_has_mark("auto", "first", "remark"))
    elif role == "second":
        query = query.join(SecondMarkingDecision, SecondMarkingDecision.attempt_id == Attempt.id).where(
            SecondMarkingDecision.status == SampleStatus.SELECTED.value,
            _has_mark("first"),
            ~_has_mark("second", "moderator", "remark"),
        )
    elif role == "moderator":
        query = query.where(_has_mark("first"), _has_mark("second"), ~_has_mark("moderator", "remark"))
    else:
        raise MarkingError(f"Unknown marking role {role!r}.", code="invalid_role")
    rows = db.session.execute(query).all()
    if role == "moderator":
        marks = marks_of({row[1] for row in rows})
        rows = [row for row in rows if marks[row[0]].needs_moderation]
    claims = _live_claims(role, now)
    return [Pending(aq_id, attempt, question, position, claims.get(aq_id)) for aq_id, attempt, question, position in rows]


def _markers_of(aq_ids: list[int], roles: tuple[str, ...]) -> dict[int, set[int | None]]:
    out: dict[int, set[int | None]] = defaultdict(set)
    if aq_ids:
        for aq_id, marker_id in db.session.execute(
            select(Mark.attempt_question_id, Mark.marker_id).where(Mark.attempt_question_id.in_(aq_ids), Mark.role.in_(roles))
        ):
            out[aq_id].add(marker_id)
    return out


def available(
    marker: User, role: str, now: dt.datetime, *, question_id: int | None = None, attempt_id: int | None = None
) -> list[Pending]:
    """What this marker may take in `role`: not held by another, cleared for, and not their own mark to check."""
    if role == "moderator" and not marker.is_moderator:
        return []
    rows = [p for p in pending(role, now, question_id=question_id, attempt_id=attempt_id) if p.held_by in (None, marker.id)]
    if role in ("second", "moderator"):
        own = _markers_of([p.aq_id for p in rows], ("first", "second") if role == "moderator" else ("first",))
        rows = [p for p in rows if marker.id not in own.get(p.aq_id, set())]
    if role in ("first", "second"):
        gates = gates_for(marker, {p.question_id for p in rows})
        rows = [p for p in rows if gates[p.question_id] == READY]
    return rows


@dataclass(frozen=True)
class ModerationCover:
    """Who can resolve the disagreements waiting now. A moderator never decides an answer they marked,
    so a disagreement between the only moderator and another marker waits for a second moderator."""

    waiting_for_others: int  # disagreements this marker marked, which another moderator can take
    without_moderator: int  # disagreements that every moderator marked: nobody can take them
    other_moderators: tuple[str, ...]  # names of the moderators who could take this marker's


def moderation_cover(marker: User, now: dt.datetime) -> ModerationCover:
    rows = pending("moderator", now)
    moderators = {
        user.id: user.display_name
        for user in db.session.scalars(select(User).where(User.is_moderator.is_(True), User.active.is_(True)))
        if user.has_role("marker")
    }
    markers = _markers_of([p.aq_id for p in rows], ("first", "second"))
    mine = without = 0
    others: set[int] = set()
    for p in rows:
        involved = markers.get(p.aq_id, set())
        eligible = set(moderators) - involved
        if not eligible:
            without += 1
        elif marker.id in involved:
            mine += 1
            others |= eligible
    return ModerationCover(mine, without, tuple(sorted(moderators[i] for i in others)))


# --- claims ---------------------------------------------------------------------------------


def claim(aq_id: int, role: str, marker: User, now: dt.datetime, *, settings: MarkingSettings) -> bool:
    """Hold a response for `role`; False if another marker holds it and their claim has not expired."""
    expires = now + dt.timedelta(minutes=settings.claim_minutes)
    row = db.session.scalar(select(MarkingClaim).where(MarkingClaim.attempt_question_id == aq_id, MarkingClaim.role == role))
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    MarkingClaim(attempt_question_id=aq_id, role=role, marker_id=marker.id, claimed_at=now, expires_at=expires)
                )
        except IntegrityError:  # another marker claimed it a moment ago
            return False
        return True
    if row.marker_id == marker.id:
        row.expires_at = expires
        db.session.flush()
        return True
    if row.expires_at > now:
        return False
    previous = {"marker_id": row.marker_id, "claimed_at": row.claimed_at.isoformat(), "expires_at": row.expires_at.isoformat()}
    taken = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(MarkingClaim)
            .where(MarkingClaim.id == row.id, MarkingClaim.marker_id == row.marker_id, MarkingClaim.expires_at <= now)
            .values(marker_id=marker.id, claimed_at=now, expires_at=expires)
            .execution_options(synchronize_session=False)
        ),
    )
    if taken.rowcount != 1:
        return False
    db.session.refresh(row)
    audit.record(marker, "marking.claim.take_over", row, before=previous, after={"marker_id": marker.id, "role": role})
    return True


def claim_next(
    marker: User,
    role: str,
    now: dt.datetime,
    *,
    settings: MarkingSettings,
    question_id: int | None = None,
    attempt_id: int | None = None,
) -> int | None:
    """Claim the next response for this marker (one already held first), in their shuffled order.

    Within one script the order is the paper's. A response another marker claimed a moment ago
    (a race) is skipped, so two markers asking at once get different responses.
    """
    rows = available(marker, role, now, question_id=question_id, attempt_id=attempt_id)
    held = [p for p in rows if p.held_by == marker.id]
    if attempt_id is not None:
        rows.sort(key=lambda p: p.position)
        held.sort(key=lambda p: p.position)
    else:
        rows.sort(key=lambda p: order_key(marker.id, role, p.aq_id, settings.secret))
        held.sort(key=lambda p: order_key(marker.id, role, p.aq_id, settings.secret))
    for candidate in held + [p for p in rows if p.held_by is None]:
        if claim(candidate.aq_id, role, marker, now, settings=settings):
            return candidate.aq_id
    return None


def next_script(marker: User, now: dt.datetime, *, settings: MarkingSettings) -> int | None:
    """The script this marker should mark next: one they are part-way through, else the next in their order."""
    rows = available(marker, "first", now)
    started = {p.attempt_id for p in rows if p.held_by == marker.id}
    scripts = sorted(
        {p.attempt_id for p in rows}, key=lambda a: (a not in started, order_key(marker.id, "script", a, settings.secret))
    )
    return scripts[0] if scripts else None


def release(aq_id: int, role: str, marker: User) -> None:
    """Give a response back to the queue unmarked."""
    row = db.session.scalar(select(MarkingClaim).where(MarkingClaim.attempt_question_id == aq_id, MarkingClaim.role == role))
    if row is not None and row.marker_id == marker.id:
        db.session.delete(row)
        db.session.flush()


def held_claim(aq_id: int, role: str, marker: User) -> MarkingClaim | None:
    """The marker's claim on a response, if it is still theirs (an expired claim nobody took over still is)."""
    row = db.session.scalar(select(MarkingClaim).where(MarkingClaim.attempt_question_id == aq_id, MarkingClaim.role == role))
    return row if row is not None and row.marker_id == marker.id else None


# --- saving marks ---------------------------------------------------------------------------


def _check_role(attempt: Attempt, response: ResponseMarks, role: str, marker: User, question_id: int) -> None:
    """Refuse a mark the rules do not allow; the claim alone is not enough."""
    if attempt.state != AttemptState.SUBMITTED or attempt.marking_state != MarkingState.MARKING:
        raise MarkingError("This script is not open for marking.", code="not_open")
    if role == "first":
        if not response.needs_marker:
            raise MarkingError("This answer has already been marked.", code="already_marked")
    elif role == "second":
        decision = db.session.scalar(select(SecondMarkingDecision).where(SecondMarkingDecision.attempt_id == attempt.id))
        if decision is None or decision.status != SampleStatus.SELECTED or response.latest("first") is None:
            raise MarkingError("This answer is not waiting for a second mark.", code="not_selected")
        if response.latest("second") is not None:
            raise MarkingError("This answer has already been second-marked.", code="already_marked")
        if marker.id in response.markers("first"):
            raise MarkingError("A second mark must come from a different marker.", code="same_marker")
    elif role == "moderator":
        if not marker.is_moderator:
            raise MarkingError("Only a moderator can resolve a disagreement.", code="not_moderator")
        if not response.needs_moderation:
            raise MarkingError("This answer does not need a moderator.", code="not_disputed")
        if marker.id in response.markers("first", "second"):
            raise MarkingError("You marked this answer; another moderator must decide it.", code="same_marker")
    else:
        raise MarkingError(f"Unknown marking role {role!r}.", code="invalid_role")
    if role in ("first", "second"):
        require_gate(marker, question_id)


def save_mark(
    aq_id: int, role: str, marker: User, *, mark: int, comment: str | None, now: dt.datetime, settings: MarkingSettings
) -> Mark:
    """Record a marker's mark on a response they hold; then move the script on if it can."""
    return save_marks([aq_id], role, marker, mark=mark, comment=comment, now=now, settings=settings)[0]


def save_marks(
    aq_ids: list[int], role: str, marker: User, *, mark: int, comment: str | None, now: dt.datetime, settings: MarkingSettings
) -> list[Mark]:
    """One decision applied to several held responses (a group of identical answers): one Mark row each, each audited."""
    check_mark(mark, comment)
    if not aq_ids:
        raise MarkingError("There is nothing to mark.", code="nothing_held")
    questions = {aq_id: question_of(aq_id) for aq_id in aq_ids}
    scripts = lock_scripts(aq.attempt_id for aq, _q in questions.values())
    claims = {aq_id: held_claim(aq_id, role, marker) for aq_id in aq_ids}
    lost = [aq_id for aq_id, held in claims.items() if held is None]
    if lost:
        raise MarkingError(
            "You no longer hold this answer (your claim expired and another marker took it, "
            "or it was given back). Nothing was saved.",
            code="not_claimed",
        )
    marks = marks_of(scripts)
    started = min(held.claimed_at for held in claims.values() if held is not None)
    seconds = min(max(0, int((now - started).total_seconds())), settings.claim_minutes * 60) // len(aq_ids)
    saved = []
    for aq_id in aq_ids:
        aq, question_id = questions[aq_id]
        response = marks[aq_id]
        _check_role(scripts[aq.attempt_id], response, role, marker, question_id)
        before = None
        if role == "moderator":
            first, second = response.latest("first"), response.latest("second")
            before = {"first": first.mark if first else None, "second": second.mark if second else None}
        row = Mark(
            attempt_question_id=aq_id,
            attempt_id=aq.attempt_id,
            marker_id=marker.id,
            role=role,
            mark=mark,
            comment=comment or None,
            seconds_spent=seconds,
            created_at=now,
        )
        db.session.add(row)
        db.session.delete(claims[aq_id])
        db.session.flush()
        response.by_role[role].append(row)
        audit.record(
            marker,
            f"mark.{role}",
            row,
            before=before,
            reason=(comment or "")[:500] or None,
            after={"response": aq_id, "script": aq.attempt_id, "role": role, "mark": mark, "comment": comment or None},
        )
        saved.append(row)
    for attempt_id in sorted(scripts):
        progress(scripts[attempt_id], now=now, actor=marker)
    return saved


def change_mark(aq_id: int, marker: User, *, mark: int, comment: str | None, reason: str, now: dt.datetime) -> Mark:
    """A marker corrects their own first or second mark: a new row with the reason; the old one stays."""
    check_mark(mark, comment)
    reason = (reason or "").strip()[:500]
    if not reason:
        raise MarkingError("Give the reason for changing your mark.", code="reason_required")
    aq, _question_id = question_of(aq_id)
    attempt = lock_scripts([aq.attempt_id])[aq.attempt_id]
    response = marks_of([attempt.id])[aq_id]
    mine = [m for role in ("first", "second") for m in response.by_role.get(role, []) if m.marker_id == marker.id]
    if not mine:
        raise MarkingError("You have not marked this answer.", code="not_yours")
    if attempt.marking_state != MarkingState.MARKING:
        raise MarkingError(
            "This script's marking is complete; its marks now change only through a re-mark of the result.", code="complete"
        )
    if response.latest("moderator") is not None:
        raise MarkingError("A moderator has decided this answer; their mark stands.", code="moderated")
    old = max(mine, key=lambda m: (m.created_at, m.id))
    if old.mark == mark and (old.comment or "") == (comment or ""):
        raise MarkingError("That is the mark and comment already recorded.", code="unchanged")
    row = Mark(
        attempt_question_id=aq_id,
        attempt_id=attempt.id,
        marker_id=marker.id,
        role=old.role,
        mark=mark,
        comment=comment or None,
        seconds_spent=None,
        created_at=now,
        reason=reason,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        marker,
        "mark.change",
        row,
        reason=reason,
        before={"mark_id": old.id, "role": old.role, "mark": old.mark, "comment": old.comment},
        after={"response": aq_id, "script": attempt.id, "role": row.role, "mark": mark, "comment": comment or None},
    )
    progress(attempt, now=now, actor=marker)
    return row


# --- identical answers, marked once ---------------------------------------------------------


@dataclass(frozen=True)
class AnswerGroup:
    """Answers to one question that are identical after normalising case, spacing and punctuation."""

    representative: int  # the smallest response id: names the group in a URL
    aq_ids: tuple[int, ...]
    variants: tuple[str, ...]  # the distinct texts as written, most common first


def _texts(aq_ids: list[int]) -> dict[int, str]:
    if not aq_ids:
        return {}
    rows = db.session.execute(select(Answer.attempt_question_id, Answer.response).where(Answer.attempt_question_id.in_(aq_ids)))
    return {aq_id: text or "" for aq_id, text in rows}


def _group(texts: dict[int, str], ids: list[int]) -> AnswerGroup:
    counts: dict[str, int] = defaultdict(int)
    for aq_id in ids:
        counts[texts[aq_id]] += 1
    variants = tuple(sorted(counts, key=lambda t: (-counts[t], t)))
    return AnswerGroup(representative=ids[0], aq_ids=tuple(ids), variants=variants)


def answer_groups(marker: User, question_id: int, now: dt.datetime) -> list[AnswerGroup]:
    """Groups of two or more identical answers this marker may first-mark (domain.marking.group_identical)."""
    texts = _texts([p.aq_id for p in available(marker, "first", now, question_id=question_id)])
    return [_group(texts, ids) for ids in group_identical(texts) if len(ids) > 1]


def _same_answer(marker: User, question_id: int, representative: int, now: dt.datetime, *, held_only: bool) -> list[int]:
    rows = available(marker, "first", now, question_id=question_id)
    if held_only:
        rows = [p for p in rows if p.held_by == marker.id]
    texts = _texts([p.aq_id for p in rows] + [representative])
    key = normalise_answer(texts.get(representative, ""))
    return sorted(aq_id for aq_id in texts if key and aq_id in {p.aq_id for p in rows} and normalise_answer(texts[aq_id]) == key)


def claim_group(marker: User, question_id: int, representative: int, now: dt.datetime, *, settings: MarkingSettings) -> list[int]:
    """Claim every available answer identical to the representative's; answers another marker holds are left out."""
    require_gate(marker, question_id)
    return [
        aq_id
        for aq_id in _same_answer(marker, question_id, representative, now, held_only=False)
        if claim(aq_id, "first", marker, now, settings=settings)
    ]


def held_group(marker: User, question_id: int, representative: int, now: dt.datetime) -> AnswerGroup | None:
    """The answers of a group this marker holds, or None if they hold none of it."""
    ids = _same_answer(marker, question_id, representative, now, held_only=True)
    return _group(_texts(ids), ids) if ids else None

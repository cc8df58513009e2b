"""Which marks stand, and moving a script through marking to its final total.

A script is first-marked; then second marking is decided: at once for a script near a grade
boundary, otherwise by a seeded sample of its sitting (domain.marking.second_marking_sample) once
the whole sitting has been first-marked. Disagreements wait for a moderator. When every response
has a mark that stands, the total is final and the provisional knowledge-test result is recorded
(services.results.record_knowledge_test). Which marks stand is read in services.standing_marks. Flushes, never commits.

Every path that saves a mark locks the script's sitting row and then the script row (always in
that order), so the last marks of a sitting are counted exactly once and the sample drawn once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from sqlalchemy import func, select

from ..domain import marking as rules
from ..domain.attempt_states import AttemptState
from ..domain.errors import DomainError
from ..domain.mark_standing import MarkRole
from ..domain.marking_states import (
    MarkingStage,
    MarkingState,
    SampleStatus,
    next_marking_state,
    next_sample_status,
)
from ..domain.sitting_states import SittingState
from ..extensions import db
from ..models import (
    Attempt,
    AttemptQuestion,
    QuestionVersion,
    SecondMarkingDecision,
    Sitting,
    Standard,
    User,
)
from ..models.attempts import OPEN_STATES
from . import audit
from .banks import spec_of
from .results import record_knowledge_test
from .standing_marks import ResponseMarks, first_total, marks_of

MARKS = rules.MARK_CATEGORIES
SECOND_MARKING_FRACTION = 0.10  # of the scripts not near a boundary, per sitting
BOUNDARY_MARGIN = 2  # every script within this many marks of a grade boundary is second-marked
MAX_COMMENT = 2000

# Where a script is in marking (domain.marking_states.MarkingStage), by the names callers know.
FIRST, SAMPLE, SECOND, MODERATION, COMPLETE = (
    MarkingStage.FIRST,
    MarkingStage.SAMPLE,
    MarkingStage.SECOND,
    MarkingStage.MODERATION,
    MarkingStage.COMPLETE,
)


class MarkingError(DomainError):
    code = "marking_refused"


def boundary_minimums(standard: Standard) -> list[int]:
    """The minimum mark of every grade above the lowest (ST0663: 46 and 53)."""
    test = spec_of(standard).knowledge_test
    return [b.min for b in test.boundaries[1:]] if test is not None else []


# --- locking and checking ---------------------------------------------------------------


def lock_scripts(attempt_ids: Iterable[int]) -> dict[int, Attempt]:
    """Row-lock the scripts' sittings, then the scripts, in id order (no deadlocks), and reload them."""
    ids = sorted(set(attempt_ids))
    sitting_ids = sorted({s for s in db.session.scalars(select(Attempt.sitting_id).where(Attempt.id.in_(ids))) if s is not None})
    if sitting_ids:
        db.session.execute(select(Sitting.id).where(Sitting.id.in_(sitting_ids)).order_by(Sitting.id).with_for_update())
    rows = db.session.scalars(
        select(Attempt)
        .where(Attempt.id.in_(ids))
        .order_by(Attempt.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.id: row for row in rows}


def check_mark(mark: int, comment: str | None) -> None:
    if mark not in MARKS:
        raise MarkingError(f"A mark must be one of {', '.join(map(str, MARKS))}.", code="invalid_mark")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise MarkingError(f"Comments are limited to {MAX_COMMENT} characters.", code="too_long")


def question_of(aq_id: int) -> tuple[AttemptQuestion, int]:
    row = db.session.execute(
        select(AttemptQuestion, QuestionVersion.question_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .where(AttemptQuestion.id == aq_id)
    ).first()
    if row is None:
        raise MarkingError("There is no such answer.", code="not_found")
    return row[0], row[1]


# --- moving a script on ---------------------------------------------------------------------


def decision_of(attempt_id: int) -> SecondMarkingDecision | None:
    return db.session.scalar(select(SecondMarkingDecision).where(SecondMarkingDecision.attempt_id == attempt_id))


def stage(attempt: Attempt, marks: dict[int, ResponseMarks], decision: SecondMarkingDecision | None) -> MarkingStage:
    """Where a script is: first marking, waiting for the sample, second marking, moderation or complete."""
    if attempt.marking_state == MarkingState.COMPLETE:
        return COMPLETE
    if any(r.needs_marker for r in marks.values()):
        return FIRST
    if decision is None or decision.status == SampleStatus.WAITING:
        return SAMPLE
    if decision.status == SampleStatus.SELECTED and any(_needs_second(r) for r in marks.values()):
        return SECOND
    if any(r.final is None for r in marks.values()):
        return MODERATION
    return COMPLETE


def _needs_second(response: ResponseMarks) -> bool:
    return (
        response.latest(MarkRole.FIRST) is not None
        and response.latest(MarkRole.SECOND) is None
        and response.latest(MarkRole.MODERATOR) is None
    )


def progress(attempt: Attempt, *, now: dt.datetime, actor: User | None) -> str:
    """After a mark: decide second marking when first marking is done, and finish the script when every mark stands."""
    if attempt.marking_state != MarkingState.MARKING:
        return COMPLETE if attempt.marking_state == MarkingState.COMPLETE else attempt.marking_state
    marks = marks_of([attempt.id])
    if any(r.needs_marker for r in marks.values()):
        return FIRST
    total = first_total(marks.values())
    standard = db.session.get(Standard, attempt.standard_id)
    assert standard is not None
    near = bool(rules.boundary_scripts({attempt.id: total}, boundary_minimums(standard), BOUNDARY_MARGIN))
    decision = decision_of(attempt.id)
    if decision is None:
        decision = SecondMarkingDecision(
            attempt_id=attempt.id,
            first_total=total,
            status=(SampleStatus.SELECTED if near else SampleStatus.WAITING).value,
            reason="boundary" if near else None,
            decided_at=now,
        )
        db.session.add(decision)
        db.session.flush()
        audit.record(
            actor,
            "marking.first_complete",
            attempt,
            after={"first_total": total, "second_marking": decision.status, "reason": decision.reason},
        )
        if decision.status == SampleStatus.WAITING:
            draw_sample(_batch(attempt), standard, now=now, actor=actor)
    elif decision.status == SampleStatus.WAITING and decision.first_total != total:
        decision.first_total = total
        if near:  # a changed mark moved it near a boundary
            decision.status = next_sample_status(decision.status, SampleStatus.SELECTED).value
            decision.reason, decision.decided_at = "boundary", now
            audit.record(
                actor,
                "marking.second_marking",
                attempt,
                after={"first_total": total, "second_marking": decision.status, "reason": "boundary"},
            )
        db.session.flush()
    return _finish_if_final(attempt, marks, decision, now=now, actor=actor)


def _finish_if_final(
    attempt: Attempt, marks: dict[int, ResponseMarks], decision: SecondMarkingDecision, *, now: dt.datetime, actor: User | None
) -> str:
    current = stage(attempt, marks, decision)
    if current != COMPLETE or attempt.marking_state == MarkingState.COMPLETE:
        return current
    total = sum(r.final or 0 for r in marks.values())
    before = {"marking_state": attempt.marking_state, "total_marks": attempt.total_marks}
    attempt.total_marks = total
    attempt.marking_state = next_marking_state(attempt.marking_state, MarkingState.COMPLETE).value
    db.session.flush()
    audit.record(
        actor, "marking.complete", attempt, before=before, after={"marking_state": attempt.marking_state, "total_marks": total}
    )
    record_knowledge_test(attempt, now=now, actor=actor)
    return COMPLETE


def _batch(attempt: Attempt) -> list[Attempt]:
    """The scripts sampled together for second marking: the script's sitting (or the script alone)."""
    if attempt.sitting_id is None:
        return [attempt]
    return list(db.session.scalars(select(Attempt).where(Attempt.sitting_id == attempt.sitting_id).order_by(Attempt.id)))


def draw_sample(
    batch: list[Attempt], standard: Standard, *, now: dt.datetime, actor: User | None, force: bool = False
) -> set[int] | None:
    """Decide second marking for the batch's waiting scripts, once every script in it has been first-marked.

    `force` (a moderator's choice) draws now among the scripts already waiting, even while others in
    the sitting are still being sat or first-marked; those later ones form a batch of their own.
    """
    ids = [a.id for a in batch]
    decisions = {
        d.attempt_id: d
        for d in db.session.scalars(select(SecondMarkingDecision).where(SecondMarkingDecision.attempt_id.in_(ids)))
    }
    if not force:
        if any(_may_still_be_sat(a) for a in batch):
            return None
        if any(
            a.state == AttemptState.SUBMITTED and a.marking_state == MarkingState.MARKING and a.id not in decisions for a in batch
        ):
            return None
    waiting = [d for d in decisions.values() if d.status == SampleStatus.WAITING]
    if not waiting:
        return None
    totals = {d.attempt_id: d.first_total for d in waiting}
    minimums = boundary_minimums(standard)
    seed = secrets.randbits(62)
    chosen = rules.second_marking_sample(totals, minimums, fraction=SECOND_MARKING_FRACTION, margin=BOUNDARY_MARGIN, seed=seed)
    near = rules.boundary_scripts(totals, minimums, BOUNDARY_MARGIN)
    for d in waiting:
        d.status = next_sample_status(
            d.status, SampleStatus.SELECTED if d.attempt_id in chosen else SampleStatus.NOT_SELECTED
        ).value
        d.reason = ("boundary" if d.attempt_id in near else "sample") if d.attempt_id in chosen else None
        d.seed, d.decided_at = seed, now
    db.session.flush()
    sitting_id = batch[0].sitting_id
    audit.record(
        actor,
        "marking.sample",
        object_type="sittings" if sitting_id else "attempts",
        object_id=sitting_id or batch[0].id,
        after={
            "seed": seed,
            "fraction": SECOND_MARKING_FRACTION,
            "margin": BOUNDARY_MARGIN,
            "boundaries": minimums,
            "totals": {str(k): v for k, v in sorted(totals.items())},
            "selected": sorted(chosen),
        },
        reason="drawn by a moderator" if force else None,
    )
    by_id = {a.id: a for a in batch}
    for d in sorted(waiting, key=lambda d: d.attempt_id):
        if d.status == SampleStatus.NOT_SELECTED:
            script = by_id[d.attempt_id]
            _finish_if_final(script, marks_of([script.id]), d, now=now, actor=actor)
    return chosen


def _may_still_be_sat(attempt: Attempt) -> bool:
    """A script still to come: being sat, or issued in a sitting that is still open (its candidate may yet start)."""
    if attempt.state not in OPEN_STATES:
        return False
    if attempt.state != AttemptState.NOT_STARTED or attempt.sitting_id is None:
        return True
    sitting = db.session.get(Sitting, attempt.sitting_id)
    return sitting is not None and sitting.state != SittingState.CLOSED


def draw_sample_now(sitting_id: int, *, now: dt.datetime, actor: User) -> set[int] | None:
    """A moderator draws the second-marking sample for a sitting's waiting scripts without waiting for the rest."""
    if not actor.is_moderator:
        raise MarkingError("Only a moderator can draw the sample.", code="not_moderator")
    sitting = db.session.get(Sitting, sitting_id)
    if sitting is None:
        raise MarkingError("There is no such sitting.", code="not_found")
    batch = _batch_locked(sitting_id)
    standard = db.session.get(Standard, sitting.standard_id)
    assert standard is not None
    chosen = draw_sample(batch, standard, now=now, actor=actor, force=True)
    if chosen is None:
        raise MarkingError("No script of this sitting is waiting for the sample.", code="nothing_waiting")
    return chosen


def _batch_locked(sitting_id: int) -> list[Attempt]:
    ids = db.session.scalars(select(Attempt.id).where(Attempt.sitting_id == sitting_id)).all()
    return [a for _id, a in sorted(lock_scripts(ids).items())]


def waiting_for_sample() -> list[tuple[Sitting, int]]:
    """Sittings with scripts first-marked and waiting for the second-marking sample, and how many."""
    rows = db.session.execute(
        select(Sitting, func.count(SecondMarkingDecision.id))
        .join(Attempt, Attempt.sitting_id == Sitting.id)
        .join(SecondMarkingDecision, SecondMarkingDecision.attempt_id == Attempt.id)
        .where(SecondMarkingDecision.status == SampleStatus.WAITING.value)
        .group_by(Sitting.id)
        .order_by(Sitting.window_start)
    ).all()
    return [(sitting, count) for sitting, count in rows]

"""The standardisation gate before live marking, moderator clearance, and marker statistics (kappa by hand)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import AuditEntry, Mark, MarkerClearance
from testengine.service_settings import marking_settings
from testengine.services import marking
from testengine.services import marking_quality as quality
from testengine.services.marking_progress import MarkingError
from tests.marking.conftest import short_answer_questions


@pytest.fixture
def live(sit_script, make_user):  # type: ignore[no-untyped-def]
    """One script with one answered short answer, a marker and a moderator; returns (question_id, marker, moderator)."""
    script = sit_script(["Tell the designated safeguarding lead the same day."])
    return short_answer_questions(script)[0], make_user("marker"), make_user("marker", moderator=True)


def test_without_standardisation_answers_a_marker_is_blocked_with_a_clear_message(live, clock):
    question_id, marker, moderator = live
    assert quality.gates_for(marker, [question_id]) == {question_id: quality.NOT_SET_UP}
    assert marking.claim_next(marker, "first", clock.now(), settings=marking_settings()) is None
    with pytest.raises(MarkingError, match="A moderator must set standardisation up") as refused:
        quality.require_gate(marker, question_id)
    assert refused.value.code == "gate_not_set_up"
    assert quality.gates_for(moderator, [question_id]) == {question_id: quality.READY}  # moderators set the standard


def test_at_80_percent_agreement_the_marker_may_mark_the_question_live(live, add_items, clock):
    question_id, marker, moderator = live
    items = add_items(question_id, moderator, [2, 1, 0, 2, 1])
    assert quality.gates_for(marker, [question_id]) == {question_id: quality.STANDARDISE}
    assert marking.claim_next(marker, "first", clock.now(), settings=marking_settings()) is None
    given = {item.id: item.reference_mark for item in items}
    given[items[0].id] = 1  # one of five differs: 80%
    clearance = quality.submit_standardisation(marker, question_id, given, now=clock.now())
    db.session.commit()
    assert clearance.status == "passed" and clearance.agreement == pytest.approx(0.8)
    assert quality.gates_for(marker, [question_id]) == {question_id: quality.READY}
    assert marking.claim_next(marker, "first", clock.now(), settings=marking_settings()) is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "standardisation.result"))
    assert entry.actor_id == marker.id and entry.after["status"] == "passed"


def test_below_80_percent_the_marker_stays_off_until_a_moderator_clears_them(live, add_items, make_user, clock):
    question_id, marker, moderator = live
    items = add_items(question_id, moderator, [2, 1, 0, 2, 1])
    given = {item.id: item.reference_mark for item in items}
    given[items[0].id], given[items[1].id] = 0, 2  # three of five: 60%
    clearance = quality.submit_standardisation(marker, question_id, given, now=clock.now())
    db.session.commit()
    assert clearance.status == "failed" and clearance.agreement == pytest.approx(0.6)
    assert quality.gates_for(marker, [question_id]) == {question_id: quality.FAILED}
    assert marking.claim_next(marker, "first", clock.now(), settings=marking_settings()) is None
    with pytest.raises(MarkingError, match="already standardised"):
        quality.submit_standardisation(marker, question_id, {item.id: item.reference_mark for item in items}, now=clock.now())
    db.session.rollback()

    with pytest.raises(MarkingError, match="Only a moderator"):
        quality.clear_marker(marker.id, question_id, moderator=make_user("marker"), reason="looks fine", now=clock.now())
    with pytest.raises(MarkingError, match="reason"):
        quality.clear_marker(marker.id, question_id, moderator=moderator, reason=" ", now=clock.now())
    quality.clear_marker(marker.id, question_id, moderator=moderator, reason="Went through the guide together", now=clock.now())
    db.session.commit()
    row = db.session.scalar(select(MarkerClearance).where(MarkerClearance.marker_id == marker.id))
    assert row.status == "cleared" and row.cleared_by_id == moderator.id
    assert quality.gates_for(marker, [question_id]) == {question_id: quality.READY}
    assert marking.claim_next(marker, "first", clock.now(), settings=marking_settings()) is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "standardisation.clear"))
    assert entry.actor_id == moderator.id and entry.reason == "Went through the guide together"
    assert entry.before["status"] == "failed" and entry.after["status"] == "cleared"


def test_every_standardisation_answer_must_be_marked(live, add_items, clock):
    question_id, marker, moderator = live
    items = add_items(question_id, moderator, [2, 0])
    with pytest.raises(MarkingError, match="every"):
        quality.submit_standardisation(marker, question_id, {items[0].id: 2}, now=clock.now())


def test_statistics_give_the_hand_computed_kappa(sit_script, make_user, clock):
    """Marker A's and marker B's marks on four answers: (0,0), (1,1), (2,1), (2,2).

    Joint proportions: a quarter in each of those cells. A's marginals (0, 1, 2): .25 .25 .5;
    B's: .25 .5 .25. Quadratic weights (i-j)^2/4: 0, .25, 1. Observed weighted disagreement:
    .25 (cell 2,1) x .25 = .0625. Expected: .25*.5*.25 + .25*.25*1 + .25*.25*.25 + .25*.25*.25
    + .5*.25*1 + .5*.5*.25 = .3125. Kappa = 1 - .0625/.3125 = 0.8. Exact agreement 3/4.
    """
    script = sit_script(["a", "b", "c", "d"])
    a, b = make_user("marker", name="Marker Ash"), make_user("marker", name="Marker Birch")
    responses = [aq for aq in script.questions if aq.version.type == "short_answer"][:4]
    for aq, (mark_a, mark_b), seconds in zip(responses, [(0, 0), (1, 1), (2, 1), (2, 2)], [30, 60, 90, 120]):
        db.session.add_all(
            [
                Mark(
                    attempt_question_id=aq.id,
                    attempt_id=script.id,
                    marker_id=a.id,
                    role="first",
                    mark=mark_a,
                    seconds_spent=seconds,
                    created_at=clock.now(),
                ),
                Mark(
                    attempt_question_id=aq.id,
                    attempt_id=script.id,
                    marker_id=b.id,
                    role="second",
                    mark=mark_b,
                    seconds_spent=20,
                    created_at=clock.now(),
                ),
            ]
        )
    db.session.commit()
    stats = {row.name: row.summary for row in quality.marker_statistics()}
    ash, birch = stats["Marker Ash"], stats["Marker Birch"]
    assert ash.volume == 4 and ash.compared == 4 and ash.mean_seconds == pytest.approx(75)
    assert ash.exact_agreement == pytest.approx(0.75) and ash.qwk == pytest.approx(0.8)
    assert birch.qwk == pytest.approx(0.8) and birch.mean_seconds == pytest.approx(20)
    assert ash.mean_mark == pytest.approx(1.25) and ash.peer_mean_mark == pytest.approx(1.0)  # a little more lenient

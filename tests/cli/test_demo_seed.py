"""`testengine demo`: what it seeds for each role, and a second run resets passwords and adds nothing twice."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from testengine.service_settings import attempt_settings


def _run(app: Any) -> str:
    from testengine.extensions import db

    result = app.test_cli_runner().invoke(args=["demo"])
    db.session.close()
    assert result.exit_code == 0, result.output
    return result.output


def _counts() -> dict[str, int]:
    from testengine.extensions import db
    from testengine.models import Booking, MethodResult, PracticeAttempt, QuestionVersion, Sitting, StandardisationItem, User

    return {
        "users": db.session.scalar(select(func.count(User.id))),
        "sittings": db.session.scalar(select(func.count(Sitting.id))),
        "bookings": db.session.scalar(select(func.count(Booking.id))),
        "standardisation": db.session.scalar(select(func.count(StandardisationItem.id))),
        "versions": db.session.scalar(select(func.count(QuestionVersion.id))),
        "results": db.session.scalar(select(func.count(MethodResult.id))),
        "practice": db.session.scalar(select(func.count(PracticeAttempt.id))),
    }


def test_the_demo_sets_up_a_day_for_every_role_and_a_second_run_adds_nothing(app, clock):
    from testengine.extensions import db
    from testengine.models import Question, Sitting, User
    from testengine.services import marking_quality, results, review
    from testengine.services.banks import get_standard

    first = _run(app)
    passwords = dict(re.findall(r"^\s+[a-z]+(?: \(moderator\))?\s+(\S+@demo\.test)\s+(\S+)$", first, re.M))
    people = {u.email: u for u in db.session.scalars(select(User))}
    assert len([u for u in people.values() if u.is_moderator]) == 2
    assert len([u for u in people.values() if u.has_role("admin")]) == 2
    assert not any(u.must_change_password for u in people.values())  # the demo's passwords are theirs to keep
    for role in ("apprentice", "invigilator", "marker", "moderator", "admin", "reviewer"):
        assert re.search(rf"^  {role}\s+\S+@demo\.test\s+\w+.*\w+ \w+", first, re.M), role  # what to try, per role
    assert "TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS" in first

    # Every short-answer question of the knowledge test has standardisation answers, so markers can start.
    st0663 = get_standard("ST0663")
    short = [
        q.id
        for q in db.session.scalars(select(Question).where(Question.standard_id == st0663.id))
        if q.versions[-1].type == "short_answer"
    ]
    assert short and all(len(marking_quality.standardisation_items(q)) == 2 for q in short)
    # A sitting next week whose venue the invigilator has still to confirm.
    later = db.session.scalar(select(Sitting).where(Sitting.title.like("%next week")))
    assert later is not None and later.venue_confirmed_at is None and later.window_start > clock.now()
    # The review queue: one overdue, some due soon, one revision proposed by Robin for another reviewer.
    queue = review.queue(clock.now().date())
    reasons = [reason for entry in queue for reason in entry.reasons]
    assert "overdue" in reasons and "due soon" in reasons
    [pending] = [entry.pending for entry in queue if entry.pending is not None]
    assert pending.proposed_by_id == people["reviewer@demo.test"].id
    # Dana's ST1379 grades wait for an admin's sign-off.
    dana = people["apprentice4@demo.test"].apprentice
    assert {r.status for r in results.current_method_results(dana.id, get_standard("ST1379").id).values()} == {"provisional"}

    # Apprentice 2 has two submitted practice papers; the assessor an appointment waiting for them.
    from testengine.models import Appointment, PracticeAttempt

    practised = list(
        db.session.scalars(select(PracticeAttempt).where(PracticeAttempt.user_id == people["apprentice2@demo.test"].id))
    )
    assert len(practised) == 2 and all(a.submitted_at is not None for a in practised)
    assert {a.timed for a in practised} == {True, False}
    assert people["learner@demo.test"].has_role("learner")
    assert db.session.scalar(select(func.count(Appointment.id))) == 1

    before = _counts()
    again = _run(app)
    assert _counts() == before
    assert not set(passwords.items()) & set(re.findall(r"^\s+[a-z]+(?: \(moderator\))?\s+(\S+@demo\.test)\s+(\S+)$", again, re.M))


def test_after_the_demo_sitting_closes_a_second_run_opens_another_and_says_who_may_not_sit_again(app, clock):
    from testengine.extensions import db
    from testengine.models import Attempt, Booking, Sitting, User
    from testengine.services import attempts, sittings
    from testengine.storage import write_transaction

    _run(app)
    db.session.close()
    with write_transaction():
        sitting = db.session.scalar(select(Sitting).where(Sitting.title == "Demo sitting: ST0663 knowledge test"))
        avery = db.session.scalar(select(User).where(User.email == "apprentice1@demo.test"))
        attempt = db.session.scalar(select(Attempt).where(Attempt.apprentice_id == avery.apprentice.id))
        attempts.start(attempt, now=clock.now(), actor=None)
        attempts.submit(attempt, now=clock.now(), actor=None, settings=attempt_settings())
        sittings.close(
            sitting,
            now=clock.now(),
            actor=db.session.scalar(select(User).where(User.email == "invigilator@demo.test")),
            settings=attempt_settings(),
        )
        db.session.commit()
    db.session.close()

    output = _run(app)
    assert "apprentice1@demo.test is not booked into the new sitting" in output and "(rule: outcome_not_released)" in output
    [reopened] = db.session.scalars(
        select(Sitting).where(Sitting.title == "Demo sitting: ST0663 knowledge test", Sitting.state != "closed")
    )
    booked = {b.apprentice.user.email for b in db.session.scalars(select(Booking).where(Booking.sitting_id == reopened.id))}
    assert booked == {"apprentice2@demo.test", "apprentice3@demo.test"}

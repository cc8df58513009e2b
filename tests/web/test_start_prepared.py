"""The paper is drawn when the invigilator checks the apprentice in; Start only stamps the clock on it."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import Attempt, AttemptEvent, AttemptQuestion, AuditEntry, ItemExposure
from tests.conftest import csrf_token_from
from tests.factories import Sitter, book_and_check_in, csrf_of


def _check_in_through_the_page(app, login, room, booking):  # type: ignore[no-untyped-def]
    staff = app.test_client()
    login(room.test_invigilator, test_client=staff)
    url = f"/invigilate/sittings/{room.id}/bookings/{booking.id}/check-in"
    token = csrf_token_from(staff.get(url).get_data(as_text=True))
    form = {
        "csrf_token": token,
        "document_type": "passport",
        "last_digits": "1234",
        "photo_matched": "y",
        "uln_confirmed": "y",
        "seat": "B2",
    }
    response = staff.post(url, data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def _press_start(app, login, user, booking):  # type: ignore[no-untyped-def]
    browser = app.test_client()
    assert login(user, test_client=browser).status_code == 302
    home = browser.get("/apprentice/").get_data(as_text=True)
    response = browser.post(f"/apprentice/bookings/{booking.id}/start", data={"csrf_token": csrf_of(home)})
    assert response.status_code == 302 and "/apprentice/attempts/" in response.headers["Location"], response.headers.get(
        "Location"
    )
    return browser, int(response.headers["Location"].rstrip("/").split("/")[-1])


def _paper(attempt_id: int) -> list[tuple[int, int, list[int] | None, int]]:
    return [
        (aq.position, aq.question_version_id, aq.option_order, aq.marks)
        for aq in db.session.scalars(
            select(AttemptQuestion).where(AttemptQuestion.attempt_id == attempt_id).order_by(AttemptQuestion.position)
        )
    ]


def _issued() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "paper.issue")) or 0,
        db.session.scalar(select(func.coalesce(func.sum(ItemExposure.issued), 0))) or 0,
    )


def test_the_paper_drawn_at_check_in_is_the_one_the_start_uses_and_is_blueprint_true(app, room, make_user, login, clock, st0663):
    from testengine.services.banks import spec_of
    from testengine.services.papers import reproduce_paper

    user = make_user("apprentice")
    booking = book_and_check_in(room, user, room.test_invigilator, clock.now(), check_in=False)
    _check_in_through_the_page(app, login, room, booking)
    prepared = db.session.scalar(select(Attempt).where(Attempt.apprentice_id == user.apprentice.id))
    assert prepared is not None and prepared.state == "not_started" and prepared.started_at is None
    paper = _paper(prepared.id)
    issued = _issued()

    # Blueprint-true: 40 questions, 14 MCQ + 26 short answers, 66 marks, every knowledge-test KSB, no repeats.
    aqs = db.session.scalars(select(AttemptQuestion).where(AttemptQuestion.attempt_id == prepared.id)).all()
    assert len(aqs) == 40 and len({aq.version.question_id for aq in aqs}) == 40
    assert Counter(aq.version.type for aq in aqs) == Counter({"mcq": 14, "short_answer": 26})
    assert sum(aq.marks for aq in aqs) == 66
    blueprint = spec_of(st0663).knowledge_test.blueprint
    assert set(blueprint.required_ksbs) <= {k for aq in aqs for k in aq.version.ksb}
    assert reproduce_paper(prepared)[1] is True

    clock.advance(dt.timedelta(minutes=3))
    browser, attempt_id = _press_start(app, login, user, booking)
    assert attempt_id == prepared.id
    db.session.expire_all()
    started = db.session.get(Attempt, attempt_id)
    assert started.state == "in_progress" and started.started_at == clock.now()
    assert started.deadline_at == clock.now() + dt.timedelta(minutes=120)
    # Not redrawn: the same questions in the same order, no second paper, no exposure counted twice.
    assert _paper(attempt_id) == paper
    assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.apprentice_id == user.apprentice.id)) == 1
    assert _issued() == issued
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "attempt.start", AuditEntry.object_id == str(attempt_id))
        )
        == 1
    )
    sitter = Sitter(browser, attempt_id)
    assert sitter.question(1).status_code == 200


def test_the_page_opened_after_the_start_uses_the_claim_the_start_made(app, room, make_user, login, clock):
    user = make_user("apprentice")
    booking = book_and_check_in(room, user, room.test_invigilator, clock.now())
    browser, attempt_id = _press_start(app, login, user, booking)
    claimed = db.session.get(Attempt, attempt_id)
    assert claimed.client_token is not None and claimed.device_id is not None and claimed.last_seen_at == clock.now()

    first = Sitter(browser, attempt_id)
    db.session.expire_all()
    assert first.token == db.session.get(Attempt, attempt_id).client_token == claimed.client_token
    assert db.session.scalar(select(func.count(AttemptEvent.id)).where(AttemptEvent.attempt_id == attempt_id)) == 0
    assert first.save(21, "saved from the page the start opened").status_code == 200

    # The claim is used once: loading the page again claims the attempt afresh, as before.
    again = Sitter(browser, attempt_id)
    assert again.token != first.token
    assert first.save(21, "from the older window").get_json()["error"] == "superseded"
    assert again.save(21, "from the newer window").status_code == 200


def test_pressing_start_twice_starts_once(app, room, make_user, login, clock):
    user = make_user("apprentice")
    booking = book_and_check_in(room, user, room.test_invigilator, clock.now())
    browser, attempt_id = _press_start(app, login, user, booking)
    clock.advance(dt.timedelta(seconds=2))
    home = browser.get("/apprentice/").get_data(as_text=True)
    second = browser.post(f"/apprentice/bookings/{booking.id}/start", data={"csrf_token": csrf_of(home)})
    assert second.headers["Location"].endswith(f"/apprentice/attempts/{attempt_id}")
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.started_at == clock.now() - dt.timedelta(seconds=2)
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "attempt.start")) == 1
    assert Sitter(browser, attempt_id).question(1).status_code == 200


def test_a_paper_prepared_while_a_late_start_was_drawing_is_the_one_used(app, room, make_user, clock):
    """A start with no paper draws one before its write; if the check-in prepared one meanwhile, that one wins."""
    from testengine.services import sittings, starts

    user = make_user("apprentice")
    booking = book_and_check_in(room, user, room.test_invigilator, clock.now())
    ahead = starts.read_ahead(booking, now=clock.now())
    assert ahead is not None and ahead.drawn is not None
    db.session.commit()
    prepared = sittings.prepare_paper(booking, now=clock.now(), actor=room.test_invigilator)
    db.session.commit()
    paper, issued = _paper(prepared.id), _issued()

    started = starts.start(booking, now=clock.now(), actor=user, ahead=ahead)
    db.session.commit()
    assert started.id == prepared.id and started.state == "in_progress"
    assert _paper(started.id) == paper and _issued() == issued
    assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.apprentice_id == user.apprentice.id)) == 1


def test_a_start_with_no_paper_prepared_issues_the_paper_it_drew_before_its_write(app, room, make_user, clock):
    from testengine.services import starts

    user = make_user("apprentice")
    booking = book_and_check_in(room, user, room.test_invigilator, clock.now())
    issued = _issued()
    ahead = starts.read_ahead(booking, now=clock.now())
    assert ahead is not None and ahead.drawn is not None
    assert _issued() == issued  # drawing wrote nothing
    attempt = starts.start(booking, now=clock.now(), actor=user, ahead=ahead)
    db.session.commit()
    assert attempt.state == "in_progress" and attempt.seed == ahead.drawn.seed
    versions = [ahead.drawn.snapshot.version_ids[q.item_id] for q in ahead.drawn.paper.questions]
    assert [version for _position, version, _order, _marks in _paper(attempt.id)] == versions
    assert _issued() == (issued[0] + 1, issued[1] + 40)


def test_a_draw_that_fails_at_check_in_keeps_the_check_in_and_says_so(app, login, make_user, room, clock, monkeypatch):  # type: ignore[no-untyped-def]
    from testengine.domain.errors import DomainError
    from testengine.models import Booking
    from testengine.services import papers, sittings

    user = make_user("apprentice")
    booking = book_and_check_in(room, user, room.test_invigilator, clock.now(), check_in=False)

    def shortfall(*args, **kwargs):  # type: ignore[no-untyped-def]
        from testengine.services import audit

        audit.record(None, "paper.half_written", booking)  # written before the draw failed
        db.session.flush()
        raise DomainError("the bank has too few questions for KSB K3", code="shortfall")

    monkeypatch.setattr(sittings, "issue_paper", shortfall)
    monkeypatch.setattr(papers, "issue_paper", shortfall)
    staff = app.test_client()
    login(room.test_invigilator, test_client=staff)
    url = f"/invigilate/sittings/{room.id}/bookings/{booking.id}/check-in"
    token = csrf_token_from(staff.get(url).get_data(as_text=True))
    form = {
        "csrf_token": token,
        "document_type": "passport",
        "last_digits": "1234",
        "photo_matched": "y",
        "uln_confirmed": "y",
        "seat": "B2",
    }
    response = staff.post(url, data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "checked in, but no paper could be drawn yet" in page and "too few questions for KSB K3" in page
    db.session.rollback()
    assert db.session.get(Booking, booking.id).status == "checked_in"
    assert db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.apprentice_id == user.apprentice.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "paper.half_written")) == 0

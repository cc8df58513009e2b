"""Every path that books, checks in, draws or starts asks eligibility: a released pass is never sat
again, a re-sit follows a released fail with the employer's agreement inside the window, and the
refusal names its rule on the page, in the API and in the CLI."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import (
    Attempt,
    AuditEntry,
    Booking,
    BookingStatus,
    MethodResult,
    ResitAgreement,
)
from testengine.services import eligibility, result_changes, results, sittings
from tests.conftest import csrf_token_from
from tests.factories import csrf_of, open_sitting, second_admin


def _release(row: MethodResult, admin: Any, clock: Any) -> None:
    results.sign_off(row, now=clock.now(), actor=admin)
    results.release(row, now=clock.now(), actor=second_admin())
    db.session.commit()


def _sat_and_released(sitter: Any, admin: Any, clock: Any, *, marks_each: int = 0) -> MethodResult:
    """Submit the sitter's test blank (0 of 66, a fail) and release it; with `marks_each`, an appeal's
    re-mark then gives every short answer that mark (26 x 2 = 52, a pass)."""
    assert sitter.submit().status_code == 200
    row = db.session.scalar(select(MethodResult).where(MethodResult.attempt_id == sitter.attempt_id))
    _release(row, admin, clock)
    if marks_each:
        items = result_changes.remark_items(sitter.attempt_id)
        row = result_changes.change_after_release(
            row,
            route="appeal",
            reason="Appeal upheld",
            now=clock.now(),
            actor=admin,
            item_marks={item["id"]: marks_each for item in items},
        )
        db.session.commit()
    return row


def _attempts(apprentice_id: int) -> int:
    return db.session.scalar(select(func.count(Attempt.id)).where(Attempt.apprentice_id == apprentice_id))


def _draw(app: Any, uln: str) -> Any:
    return app.test_cli_runner().invoke(args=["paper", "draw", "--standard", "ST0663", "--candidate", uln, "--json"])


def _agree(apprentice: Any, standard: Any, admin: Any, clock: Any, learning: str | None = None) -> Any:
    row = eligibility.record_agreement(
        apprentice,
        standard,
        "knowledge_test",
        employer_contact="Sam Employer",
        agreed_on=clock.now().date(),
        further_learning=learning,
        now=clock.now(),
        actor=admin,
    )
    db.session.commit()
    return row


def _api_start(sitter: Any, booking_id: int) -> Any:
    home = sitter.client.get("/apprentice/").get_data(as_text=True)
    return sitter.client.post(f"/api/bookings/{booking_id}/start", headers={"X-CSRFToken": csrf_of(home)})


@pytest.fixture
def admin(make_user: Any) -> Any:
    return make_user("admin")


@pytest.fixture
def second_room(st0663: Any, make_user: Any, clock: Any) -> Any:
    invigilator = make_user("invigilator")
    sitting = open_sitting(st0663, [invigilator], clock.now())
    sitting.test_invigilator = invigilator
    return sitting


def test_a_released_pass_cannot_be_booked_checked_in_drawn_or_started_again(
    app, client, login, start_sitter, second_room, admin, clock
):
    sitter = start_sitter()
    passed = _sat_and_released(sitter, admin, clock, marks_each=2)
    assert (passed.grade, passed.status, passed.marks) == ("pass", "released", 52)
    apprentice = sitter.user.apprentice
    before = _attempts(apprentice.id)
    rule = "(rule: already_passed)"

    # Web booking: refused on the page, nothing booked.
    login(admin)
    url = f"/admin/sittings/{second_room.id}"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    page = client.post(url, data={"csrf_token": token, "apprentices": [str(apprentice.id)]})
    assert page.status_code == 409 and rule in page.get_data(as_text=True)
    assert db.session.scalar(select(Booking).where(Booking.sitting_id == second_room.id)) is None

    # CLI: exit 2 with the rule.
    drawn = _draw(app, apprentice.uln)
    assert drawn.exit_code == 2 and drawn.output.startswith("error: ") and rule in drawn.output
    checked = app.test_cli_runner().invoke(args=["resit", "check", "--candidate", apprentice.uln, "--standard", "ST0663"])
    assert checked.exit_code == 2 and rule in checked.output

    # A booking made before the pass: the check-in page refuses, and so do both starts (web and API).
    booking = Booking(sitting_id=second_room.id, apprentice_id=apprentice.id)
    db.session.add(booking)
    db.session.commit()
    with pytest.raises(sittings.SittingError) as refused:
        sittings.check_in(
            booking,
            document_type="passport",
            last_digits="1234",
            photo_matched=True,
            uln_confirmed=True,
            seat="B1",
            now=clock.now(),
            actor=second_room.test_invigilator,
        )
    assert refused.value.code == "already_passed" and refused.value.status == 409
    db.session.rollback()
    invigilator = app.test_client()
    signed_in = login(second_room.test_invigilator, test_client=invigilator)
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)[:3000]
    check_in_url = f"/invigilate/sittings/{second_room.id}/bookings/{booking.id}/check-in"
    form = {
        "csrf_token": csrf_token_from(invigilator.get(check_in_url).get_data(as_text=True)),
        "document_type": "passport",
        "last_digits": "1234",
        "photo_matched": "y",
        "uln_confirmed": "y",
        "seat": "B1",
    }
    assert rule in invigilator.post(check_in_url, data=form).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.BOOKED.value

    booking.status = BookingStatus.CHECKED_IN.value  # as if checked in before the result changed
    db.session.commit()
    api = _api_start(sitter, booking.id)
    assert api.status_code == 409 and api.get_json()["error"] == "already_passed" and rule in api.get_json()["message"]
    home = sitter.client.get("/apprentice/").get_data(as_text=True)
    web = sitter.client.post(
        f"/apprentice/bookings/{booking.id}/start", data={"csrf_token": csrf_of(home)}, follow_redirects=True
    )
    assert rule in web.get_data(as_text=True)
    assert _attempts(apprentice.id) == before  # nothing issued on any path


def test_a_fail_leads_to_a_resit_only_with_the_agreement_inside_the_window_and_the_history_is_kept(
    app, client, login, start_sitter, st0663, second_room, admin, clock
):
    sitter = start_sitter()
    failed = _sat_and_released(sitter, admin, clock)
    apprentice = sitter.user.apprentice
    assert failed.grade == "fail"

    def book() -> Any:
        try:
            return sittings.book(second_room, apprentice, now=clock.now(), actor=admin)
        finally:
            db.session.rollback()

    with pytest.raises(sittings.SittingError) as refused:
        book()
    assert refused.value.code == "employer_agreement_required"

    # The agreement through the admin page: who and when, audited.
    login(admin)
    page_url = f"/admin/results/apprentices/{apprentice.id}/ST0663"
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    agreement = {
        "r-csrf_token": token,
        "r-method": "knowledge_test",
        "r-employer_contact": "Sam Employer, Acme Ltd",
        "r-agreed_on": clock.now().date().isoformat(),
        "r-further_learning": "",
    }
    assert client.post(f"{page_url}/agreements", data=agreement).status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "resit.agreement"))
    assert entry.actor_id == admin.id and entry.after["employer_contact"] == "Sam Employer, Acme Ltd"
    assert entry.after["kind"] == "resit"

    # ST0663's window is the EPA period: refused until its end is recorded, and after it ends.
    with pytest.raises(sittings.SittingError) as refused:
        book()
    assert refused.value.code == "epa_period_end_required"
    results.set_epa_period_end(apprentice, clock.now().date() + dt.timedelta(days=20), actor=admin)
    db.session.commit()
    clock.advance(dt.timedelta(days=21))
    with pytest.raises(sittings.SittingError) as refused:
        book()
    assert refused.value.code == "resit_window_closed"
    clock.advance(dt.timedelta(days=-21))

    # Inside the window: booked, checked in and started through the API as a re-sit.
    booking = sittings.book(second_room, apprentice, now=clock.now(), actor=admin)
    sittings.check_in(
        booking,
        document_type="passport",
        last_digits="1234",
        photo_matched=True,
        uln_confirmed=True,
        seat="B1",
        now=clock.now(),
        actor=second_room.test_invigilator,
    )
    db.session.commit()
    started = _api_start(sitter, booking.id)
    assert started.status_code == 200 and started.get_json()["kind"] == "resit"
    resit = db.session.get(Attempt, started.get_json()["attempt"])
    assert (resit.kind, resit.state) == ("resit", "in_progress")

    # Sat (blank: a fail again), released, and re-marked on appeal item by item to a pass.
    from tests.factories import Sitter

    resitter = Sitter(sitter.client, resit.id)
    regraded = _sat_and_released(resitter, admin, clock, marks_each=2)
    assert (regraded.kind, regraded.grade, regraded.marks) == ("resit", "pass", 52)
    # Only the items a marker marks are re-marked: an MCQ is refused.
    mcq = next(aq.id for aq in resit.questions if aq.id not in {i["id"] for i in result_changes.remark_items(resit.id)})
    with pytest.raises(results.ResultError) as refused:
        result_changes.change_after_release(
            regraded, route="remark", reason="x", item_marks={mcq: 1}, now=clock.now(), actor=admin
        )
    assert refused.value.code == "invalid_item"
    db.session.rollback()

    # The whole history is kept: both attempts, every result row, the agreement.
    rows = db.session.scalars(
        select(MethodResult).where(MethodResult.apprentice_id == apprentice.id).order_by(MethodResult.id)
    ).all()
    assert [(r.kind, r.grade, r.current) for r in rows] == [
        ("first", "fail", False),
        ("resit", "fail", False),
        ("resit", "pass", True),
    ]
    assert [
        a.kind for a in db.session.scalars(select(Attempt).where(Attempt.apprentice_id == apprentice.id).order_by(Attempt.id))
    ] == ["first", "resit"]
    assert db.session.scalar(select(func.count(ResitAgreement.id))) == 1
    # A pass now: nothing more may be sat.
    with pytest.raises(eligibility.Ineligible) as refused:
        eligibility.check(apprentice, st0663, today=clock.now().date())
    assert refused.value.code == "already_passed"


def test_st0663_resit_reaches_distinction_and_a_retake_needs_the_further_learning(st0663_only, admin, clock):
    apprentice, standard, issue, fail_and_release = st0663_only
    fail_and_release(issue(), marks=30)
    _agree(apprentice, standard, admin, clock)
    resit = issue()
    assert resit.kind == "resit"
    row = fail_and_release(resit, marks=60)
    assert (row.kind, row.achieved_grade, row.grade) == ("resit", "distinction", "distinction")  # no cap in ST0663
    overall = results.current_overall(apprentice.id, standard.id)
    assert overall is None  # the other two methods are not graded yet; the knowledge test stands on its own here


@pytest.fixture
def st0663_only(st0663, make_user, clock):
    """Issue papers outside a room and grade them by total: enough for the kind and the cap."""
    from testengine.services.papers import issue_paper

    apprentice = make_user("apprentice").apprentice
    apprentice.epa_period_ends = clock.now().date() + dt.timedelta(days=60)
    admin = make_user("admin")

    def issue() -> Attempt:
        attempt = issue_paper(apprentice, st0663, now=clock.now(), actor=None)
        db.session.commit()
        return attempt

    def fail_and_release(attempt: Attempt, *, marks: int) -> MethodResult:
        attempt.state, attempt.started_at, attempt.submitted_at = "submitted", clock.now(), clock.now()
        attempt.marking_state, attempt.total_marks = "complete", marks
        row = results.record_knowledge_test(attempt, now=clock.now(), actor=None)
        _release(row, admin, clock)
        return row

    return apprentice, st0663, issue, fail_and_release


def test_a_retake_is_derived_from_the_recorded_further_learning(st0663_only, admin, clock):
    apprentice, standard, issue, fail_and_release = st0663_only
    fail_and_release(issue(), marks=10)
    _agree(apprentice, standard, admin, clock, learning="Four weeks on safeguarding and EDI (K17, K19)")
    retake = issue()
    assert retake.kind == "retake"
    assert (
        db.session.scalar(
            select(AuditEntry.after).where(AuditEntry.action == "paper.issue").order_by(AuditEntry.id.desc()).limit(1)
        )["kind"]
        == "retake"
    )


def test_a_result_pending_blocks_another_attempt(st0663_only, admin, clock):
    _apprentice, _standard, issue, _ = st0663_only
    attempt = issue()
    attempt.state, attempt.started_at = "submitted", clock.now()  # sat, still being marked
    db.session.commit()
    with pytest.raises(eligibility.Ineligible) as refused:
        issue()
    assert refused.value.code == "result_pending"


def test_a_released_result_is_never_replaced_by_grading_a_first_attempt(st0663_only, admin, clock):
    """Even an attempt issued around the eligibility check cannot overwrite what was released."""
    apprentice, standard, issue, fail_and_release = st0663_only
    released = fail_and_release(issue(), marks=50)
    sneaked = Attempt(
        apprentice_id=apprentice.id,
        standard_id=standard.id,
        kind="first",
        state="submitted",
        seed=1,
        draw_inputs={},
        issued_at=clock.now(),
        started_at=clock.now(),
        submitted_at=clock.now(),
        base_minutes=120,
        marking_state="complete",
        total_marks=60,
    )
    db.session.add(sneaked)
    db.session.flush()
    with pytest.raises(results.ResultError) as refused:
        results.record_knowledge_test(sneaked, now=clock.now(), actor=None)
    assert refused.value.code == "released"
    assert results.current_method_results(apprentice.id, standard.id)["knowledge_test"].id == released.id


def test_the_resit_cli_records_the_agreement_and_names_refusals(app, st0663_only, admin, clock):
    apprentice, _standard, issue, fail_and_release = st0663_only
    runner = app.test_cli_runner()
    args = [
        "resit",
        "agree",
        "--candidate",
        apprentice.uln,
        "--standard",
        "ST0663",
        "--method",
        "knowledge_test",
        "--employer-contact",
        "Sam Employer",
    ]
    nothing = runner.invoke(args=args)
    assert nothing.exit_code == 2 and "nothing to re-sit" in nothing.output
    fail_and_release(issue(), marks=10)
    before = runner.invoke(args=["resit", "check", "--candidate", apprentice.uln, "--standard", "ST0663"])
    assert before.exit_code == 2 and "(rule: employer_agreement_required)" in before.output
    done = runner.invoke(args=[*args, "--further-learning", "Safeguarding refresher"])
    assert done.exit_code == 0 and "re-take" in done.output, done.output
    after = runner.invoke(args=["resit", "check", "--candidate", apprentice.uln, "--standard", "ST0663"])
    assert (after.exit_code, after.output.strip()) == (0, "retake")
    drawn = runner.invoke(
        args=["paper", "draw", "--standard", "ST0663", "--candidate", apprentice.uln, "--json", "--kind", "resit"]
    )
    assert drawn.exit_code == 2 and "would be a retake" in drawn.output
    drawn = runner.invoke(args=["paper", "draw", "--standard", "ST0663", "--candidate", apprentice.uln, "--json"])
    assert drawn.exit_code == 0 and json.loads(drawn.output)["kind"] == "retake"

"""Booking appointments: the admin page and `testengine questions appoint` apply the same rules;
the assessor swaps an assessor's-choice question from the page."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import Appointment, QuestionSetDraw
from testengine.services import appointments, results
from tests.conftest import csrf_token_from
from tests.factories import import_standard


def _book(client, **fields):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get("/admin/appointments").get_data(as_text=True))
    return client.post("/admin/appointments", data={"csrf_token": token, **fields})


def test_an_admin_books_an_appointment_and_the_conflict_rule_holds(app, client, make_user, login, clock) -> None:  # type: ignore[no-untyped-def]
    st1379 = import_standard("ST1379", clock.now())
    admin, assessor, other_assessor = make_user("admin"), make_user("assessor"), make_user("assessor")
    apprentice = make_user("apprentice").apprentice
    login(admin)
    page = client.get("/admin/appointments").get_data(as_text=True)
    assert "ST1379:observation" in page and "ST1379:professional_discussion" in page
    assert apprentice.candidate_number in page and assessor.email in page
    when = clock.now().strftime("%Y-%m-%dT%H:%M")
    booked = _book(client, apprentice=apprentice.id, method="ST1379:observation", assessor=assessor.id, scheduled_for=when)
    assert booked.status_code == 302
    [row] = db.session.scalars(select(Appointment)).all()
    assert (row.assessor_id, row.method_key, row.created_by_id) == (assessor.id, "observation", admin.id)
    assert "Declaration needed" in client.get("/admin/appointments").get_data(as_text=True)

    # A field left out is named; nothing is booked.
    missing = _book(client, apprentice=apprentice.id, method="", assessor=assessor.id, scheduled_for=when)
    assert missing.status_code == 400 and "Choose the method." in missing.get_data(as_text=True)
    # One open appointment per method at a time.
    again = _book(client, apprentice=apprentice.id, method="ST1379:observation", assessor=other_assessor.id, scheduled_for=when)
    assert again.status_code == 400 and "already has an open observation appointment" in again.get_data(as_text=True)

    # The assessor declares a conflict: the appointment needs another assessor, and this one is never booked with them again.
    appointments.declare(row, conflict=True, note="I was their line manager", now=clock.now(), actor=assessor)
    db.session.commit()
    refused = _book(
        client, apprentice=apprentice.id, method="ST1379:professional_discussion", assessor=assessor.id, scheduled_for=when
    )
    assert refused.status_code == 400
    assert f"{assessor.email} declared a conflict of interest with candidate {apprentice.candidate_number}" in refused.get_data(
        as_text=True
    )
    rebooked = _book(
        client, apprentice=apprentice.id, method="ST1379:observation", assessor=other_assessor.id, scheduled_for=when
    )
    assert rebooked.status_code == 302
    assert "Conflict declared: needs another assessor" in client.get("/admin/appointments").get_data(as_text=True)
    # A method already passed is not booked again (the eligibility rule every booking path asks).
    results.record_method_grade(
        apprentice, st1379, method_key="professional_discussion", grade="pass", assessed_on=clock.now().date(),
        assessor="Another Assessor", now=clock.now(), actor=None,
    )  # fmt: skip
    db.session.commit()
    passed = _book(
        client, apprentice=apprentice.id, method="ST1379:professional_discussion", assessor=other_assessor.id, scheduled_for=when
    )
    assert passed.status_code == 400 and "already passed" in passed.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Appointment.id))) == 2


def test_an_assessor_cannot_assess_themselves_and_other_roles_cannot_book(app, client, make_user, login, clock) -> None:  # type: ignore[no-untyped-def]
    st1379 = import_standard("ST1379", clock.now())
    both = make_user("apprentice", "assessor")
    try:
        appointments.create(
            apprentice=both.apprentice, standard=st1379, method_key="observation", assessor=both,
            scheduled_for=clock.now(), now=clock.now(), actor=None,
        )  # fmt: skip
    except appointments.AppointmentError as refused:
        assert "cannot assess themselves" in str(refused)
    else:
        raise AssertionError("an assessor was booked to assess themselves")
    for role in ("assessor", "apprentice", "marker"):
        other = app.test_client()
        login(make_user(role), test_client=other)
        assert other.get("/admin/appointments").status_code == 403
    assert client.get("/admin/appointments").headers["Location"].startswith("/login")


def test_the_cli_books_with_the_same_rules(app, make_user, clock) -> None:  # type: ignore[no-untyped-def]
    import_standard("ST1379", clock.now())
    assessor = make_user("assessor")
    apprentice = make_user("apprentice", uln="1234567890").apprentice
    args = ["questions", "appoint", "--assessor", assessor.email, "--candidate", "1234567890", "--standard", "ST1379"]
    at = ["--at", clock.now().strftime("%Y-%m-%dT%H:%M")]
    ok = app.test_cli_runner().invoke(args=[*args, "--method", "observation", *at])
    assert ok.exit_code == 0 and "Appointment " in ok.output, ok.output
    row = db.session.scalars(select(Appointment)).one()
    appointments.declare(row, conflict=True, note="Their trainer", now=clock.now(), actor=assessor)
    db.session.commit()
    refused = app.test_cli_runner().invoke(args=[*args, "--method", "professional_discussion", *at])
    assert refused.exit_code == 2
    assert f"declared a conflict of interest with candidate {apprentice.candidate_number}" in refused.output


def test_the_assessor_swaps_an_assessors_choice_question_from_the_page(app, client, make_user, login, clock) -> None:  # type: ignore[no-untyped-def]
    st1379 = import_standard("ST1379", clock.now())
    assessor = make_user("assessor")
    appointment = appointments.create(
        apprentice=make_user("apprentice").apprentice, standard=st1379, method_key="observation", assessor=assessor,
        scheduled_for=clock.now(), now=clock.now(), actor=None,
    )  # fmt: skip
    db.session.commit()
    login(assessor)
    url = f"/assess/appointments/{appointment.id}"

    def post(path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
        token = csrf_token_from(client.get(url).get_data(as_text=True))
        return client.post(f"{url}/{path}", data={"csrf_token": token, **data})

    post("declare", {"conflict": "no", "confirm": "y"})
    post("set", {})
    page = client.get(url).get_data(as_text=True)
    record = db.session.get(QuestionSetDraw, db.session.get(Appointment, appointment.id).question_set_id)
    # ST1379 observation: 3 pre-picked, 2 of the assessor's choice; only those two have a swap button.
    assert re.findall(r"Swap question (\d+)", page) == ["4", "5"]
    options = re.findall(r'<select id="swap-4" name="replacement">(.*?)</select>', page, re.S)[0]
    choice = re.findall(r'<option value="(ST1379-[A-Z]+-\d+)"', options)[0]
    assert choice not in record.question_ids
    # A pre-picked question cannot be swapped, nor a question the slot does not allow.
    assert post("swap", {"position": "1", "replacement": choice}).status_code == 303
    assert post("swap", {"position": "4", "replacement": record.question_ids[0]}).status_code == 303
    db.session.refresh(record)
    assert record.swaps == []
    assert post("swap", {"position": "4", "replacement": choice}).status_code == 302
    db.session.refresh(record)
    assert record.question_ids[3] == choice and record.swaps[0]["to"] == choice
    assert f"Question 4 is now {choice}." in client.get(url).get_data(as_text=True)

"""The assessor's appointments: independence before the set, the set, evidence and the grade into results."""

from __future__ import annotations

import re

import pytest

from testengine.domain.errors import DomainError
from testengine.extensions import db
from testengine.models import Appointment
from testengine.services import appointments, results
from tests.conftest import csrf_token_from
from tests.factories import import_standard


def _appointment(assessor, apprentice_user, standard, method, clock):  # type: ignore[no-untyped-def]
    appointment = appointments.create(
        apprentice=apprentice_user.apprentice,
        standard=standard,
        method_key=method,
        assessor=assessor,
        scheduled_for=clock.now(),
        now=clock.now(),
        actor=None,
    )
    db.session.commit()
    return appointment


def _post(client, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    # The token from the appointment's own page (every action URL is that page's URL plus one step).
    token = csrf_token_from(client.get(url.rsplit("/", 1)[0]).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_a_declared_conflict_blocks_the_set_and_the_grade(app, client, make_user, login, clock) -> None:  # type: ignore[no-untyped-def]
    st1379 = import_standard("ST1379", clock.now())
    assessor, apprentice = make_user("assessor"), make_user("apprentice")
    appointment = _appointment(assessor, apprentice, st1379, "observation", clock)
    login(assessor)
    url = f"/assess/appointments/{appointment.id}"
    # Before any declaration the set cannot be opened.
    refused = _post(client, f"{url}/set", {})
    assert refused.status_code in (302, 303)
    assert appointment.question_set_id is None
    with pytest.raises(DomainError, match="Declare that you have no conflict"):
        appointments.open_set(appointment, now=clock.now(), actor=assessor)
    # A conflict must be described, and then blocks the appointment.
    assert _post(client, f"{url}/declare", {"conflict": "yes", "confirm": "y"}).status_code == 400
    assert (
        _post(client, f"{url}/declare", {"conflict": "yes", "note": "I was her trainer last year", "confirm": "y"}).status_code
        == 302
    )
    db.session.refresh(appointment)
    assert appointment.conflict is True
    page = client.get(url).get_data(as_text=True)
    assert "You declared a conflict of interest" in page and "Question set" not in page
    assert _post(client, f"{url}/set", {}).status_code in (302, 303)
    db.session.refresh(appointment)
    assert appointment.question_set_id is None
    assert appointments.question_set(appointment) is None
    with pytest.raises(DomainError, match="conflict of interest"):
        appointments.open_set(appointment, now=clock.now(), actor=assessor)
    with pytest.raises(DomainError, match="conflict of interest"):
        appointments.record_grade(appointment, evidence={}, grade="pass", now=clock.now(), actor=assessor)
    # The declaration is made once: it cannot be turned round afterwards.
    with pytest.raises(DomainError, match="already been made"):
        appointments.declare(appointment, conflict=False, note="", now=clock.now(), actor=assessor)


def test_another_assessors_appointment_does_not_exist_for_you(app, client, make_user, login, clock) -> None:  # type: ignore[no-untyped-def]
    st1379 = import_standard("ST1379", clock.now())
    mine, theirs = make_user("assessor"), make_user("assessor")
    appointment = _appointment(theirs, make_user("apprentice"), st1379, "observation", clock)
    login(mine)
    assert client.get(f"/assess/appointments/{appointment.id}").status_code == 404
    assert "You have no appointments yet." in client.get("/assess/").get_data(as_text=True)


def _grade_through_pages(client, appointment_id: int, grade: str) -> str:  # type: ignore[no-untyped-def]
    url = f"/assess/appointments/{appointment_id}"
    assert _post(client, f"{url}/declare", {"conflict": "no", "confirm": "y"}).status_code == 302
    assert _post(client, f"{url}/set", {}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "A pass answer shows:" in page and "A distinction answer shows:" in page
    fields = re.findall(r'name="(ksb_[A-Z0-9]+)"', page)
    assert fields
    # Evidence missing for a KSB: refused, naming the field; nothing recorded.
    missing = _post(client, f"{url}/grade", {"grade": grade, **{f: "Seen" for f in fields[1:]}})
    assert missing.status_code == 400 and f"Record the evidence for {fields[0][4:]}" in missing.get_data(as_text=True)
    done = _post(client, f"{url}/grade", {"grade": grade, **{f: f"Evidence for {f[4:]}" for f in fields}})
    assert done.status_code == 302
    return page


def test_grades_recorded_by_assessors_feed_the_overall_grade(app, client, make_user, login, clock) -> None:  # type: ignore[no-untyped-def]
    st1379 = import_standard("ST1379", clock.now())
    assessor, apprentice = make_user("assessor"), make_user("apprentice")
    observation = _appointment(assessor, apprentice, st1379, "observation", clock)
    discussion = _appointment(assessor, apprentice, st1379, "professional_discussion", clock)
    login(assessor)
    first_page = _grade_through_pages(client, observation.id, "pass")
    assert results.current_overall(apprentice.apprentice.id, st1379.id) is None  # one method still to come
    second_page = _grade_through_pages(client, discussion.id, "distinction")
    ids = lambda page: set(re.findall(r"ST1379-(?:OBS|PD)-\d{3}", page))  # noqa: E731
    assert not ids(first_page) & ids(second_page)
    methods = results.current_method_results(apprentice.apprentice.id, st1379.id)
    assert {k: (r.grade, r.kind, r.assessor) for k, r in methods.items()} == {
        "observation": ("pass", "first", assessor.display_name),
        "professional_discussion": ("distinction", "first", assessor.display_name),
    }
    overall = results.current_overall(apprentice.apprentice.id, st1379.id)
    assert overall is not None and overall.grade == "merit"
    graded = db.session.get(Appointment, discussion.id)
    assert graded.grade == "distinction" and graded.method_result_id == methods["professional_discussion"].id
    assert set(graded.evidence) >= {"K1", "K10", "K16", "K2", "K11", "K6", "K5", "K15"}
    assert "Graded: distinction" in client.get("/assess/").get_data(as_text=True)

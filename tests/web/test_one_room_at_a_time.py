"""One invigilator is in one room at a time, and the ratio counts people, not sign-ins."""

from __future__ import annotations

from sqlalchemy import select, update

from testengine.extensions import db
from testengine.models import Attempt, AuditEntry, SittingInvigilator
from testengine.service_settings import attempt_settings
from testengine.services import invigilation, sittings, starts
from tests.conftest import csrf_token_from
from tests.factories import book_and_check_in, open_sitting


def _press(client, page: str, action: str):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token}, follow_redirects=True)


def test_signing_in_to_a_second_open_room_is_refused_naming_the_first(app, st0663, make_user, login, clock):
    invigilator = make_user("invigilator")
    first = open_sitting(st0663, [invigilator], clock.now())
    second = open_sitting(st0663, [invigilator], clock.now(), sign_in=False, confirm=False)
    second.title, second.venue = "Afternoon sitting", "Room 2"
    db.session.commit()

    staff = app.test_client()
    assert login(invigilator, test_client=staff).status_code == 302
    page = f"/invigilate/sittings/{second.id}"
    refused = _press(staff, page, f"{page}/sign-in").get_data(as_text=True)
    assert "You are still signed in to &#39;Morning sitting&#39; at Room 1" in refused
    assert f"(sitting {first.id}," in refused
    assert "You are signed in to the room." not in refused
    db.session.rollback()
    assert db.session.get(SittingInvigilator, (second.id, invigilator.id)).present is False
    assert staff.get(f"/api/sittings/{second.id}/board").get_json()["ratio"]["invigilators_present"] == 0
    assert staff.get(f"/api/sittings/{first.id}/board").get_json()["ratio"]["invigilators_present"] == 1
    assert (
        db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "sitting.sign_in", AuditEntry.object_id == str(second.id))
        )
        is None
    )

    # Signed out of the first room, the second accepts them.
    assert "You have signed out of the room." in _press(
        staff, f"/invigilate/sittings/{first.id}", f"/invigilate/sittings/{first.id}/sign-out"
    ).get_data(as_text=True)
    assert "You are signed in to the room." in _press(staff, page, f"{page}/sign-in").get_data(as_text=True)


def test_the_service_refuses_too_and_a_closed_room_does_not_hold_anyone(app, st0663, make_user, clock):
    invigilator = make_user("invigilator")
    first = open_sitting(st0663, [invigilator], clock.now())
    second = open_sitting(st0663, [invigilator], clock.now(), sign_in=False)
    try:
        sittings.sign_in(second, invigilator, now=clock.now())
    except sittings.SittingError as refused:
        assert refused.code == "in_another_room" and refused.status == 409
        assert "'Morning sitting' at Room 1" in str(refused)
    else:
        raise AssertionError("a second room accepted an invigilator still present in another")
    db.session.rollback()
    sittings.close(
        first, now=clock.now(), actor=invigilator, settings=attempt_settings()
    )  # nobody is sitting: it closes, the person still marked present
    db.session.commit()
    sittings.sign_in(second, invigilator, now=clock.now())
    db.session.commit()
    assert sittings.counts(second).invigilators_present == 1


def test_the_ratio_counts_a_person_once_even_when_marked_present_in_two_rooms(app, st0663, make_user, login, clock):
    """A record from before the rule (or written around it): one person present in two open rooms.

    They count only in the room they signed in to last; the other room has no invigilator, so
    nobody can start there, and 21 starts across the two rooms with one person is impossible.
    """
    import datetime as dt

    invigilator = make_user("invigilator")
    earlier = open_sitting(st0663, [invigilator], clock.now() - dt.timedelta(minutes=1))
    later = open_sitting(st0663, [invigilator], clock.now(), sign_in=False)
    db.session.execute(
        update(SittingInvigilator)
        .where(SittingInvigilator.sitting_id == later.id, SittingInvigilator.user_id == invigilator.id)
        .values(present=True, signed_in_at=clock.now())
    )
    db.session.commit()
    assert sittings.counts(earlier).invigilators_present == 0
    assert sittings.counts(later).invigilators_present == 1
    assert invigilation.load_room(earlier).invigilators_present == 0
    assert invigilation.load_room(later).invigilators_present == 1

    apprentice = make_user("apprentice")
    booking = book_and_check_in(earlier, apprentice, invigilator, clock.now())
    try:
        starts.start(booking, now=clock.now(), actor=apprentice)
    except sittings.SittingError as refused:
        assert refused.code == "ratio" and "No invigilator is signed in to this room" in str(refused)
    else:
        raise AssertionError("a start was allowed in a room whose only invigilator counts elsewhere")
    db.session.rollback()
    assert db.session.scalar(select(Attempt.state).where(Attempt.apprentice_id == apprentice.apprentice.id)) != "in_progress"

    # Two people in one room count twice; one person with two sign-in rows in one room cannot exist (primary key).
    second = make_user("invigilator")
    sittings.assign_invigilator(later, second, actor=None)
    sittings.sign_in(later, second, now=clock.now())
    db.session.commit()
    assert sittings.counts(later).invigilators_present == 2
    assert sittings.counts(later).capacity == 40

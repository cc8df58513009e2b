"""Every text of the invigilation policy (invigilation/policy.yaml) reaches the page that shows it whole,
and the published prose (invigilation/README.md) states the same venue checklist."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import yaml
from pydantic import ValidationError

from testengine.extensions import db
from testengine.policy import POLICY_FILE, load_policy
from testengine.services import sittings
from tests.conftest import csrf_token_from
from tests.factories import REPO, book_and_check_in, open_sitting


def _text(page) -> str:  # type: ignore[no-untyped-def]
    """The page's text as a reader sees it: tags dropped, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))).split())


def _raw_policy() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))


def test_the_policy_file_keeps_every_sentence_whole():
    """Read the YAML itself: each item has exactly its fields, and every checklist text is a full sentence."""
    raw = _raw_policy()
    for item in raw["venue_checklist"] + raw["remote"]["checklist"]:
        assert set(item) == {"key", "label", "text"}, item
        assert item["text"].endswith("."), item
    for item in raw["identity"]["documents"] + raw["incident_types"]:
        assert set(item) == {"key", "name"}, item
    no_materials = next(i for i in raw["venue_checklist"] if i["key"] == "no_materials")
    assert no_materials["text"] == (
        "No reference books, notes, posters or other materials are visible or reachable;"
        " personal belongings are stored away from desks."
    )


def test_a_sentence_cut_at_a_comma_is_refused_at_load(tmp_path):
    broken = POLICY_FILE.read_text(encoding="utf-8").replace(
        "  - key: quiet\n    label: Quiet room\n    text: The room is quiet and free from distraction for the whole sitting.",
        "  - {key: quiet, label: Quiet room, text: The room is quiet, calm and free from distraction.}",
    )
    path = tmp_path / "policy.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ValidationError, match="calm and free from distraction"):
        load_policy(path)


def test_the_invigilator_pages_show_every_policy_text_whole(app, client, st0663, make_user, login, clock):
    invigilator = make_user("invigilator")
    assert login(invigilator).status_code == 302
    policy = load_policy()
    room = open_sitting(st0663, [invigilator], clock.now(), confirm=False)
    remote = sittings.create_sitting(
        standard=st0663,
        title="Remote sitting",
        venue="Online",
        remote=True,
        window_start=clock.now(),
        window_end=clock.now() + dt.timedelta(hours=3),
        now=clock.now(),
        actor=None,
    )
    sittings.assign_invigilator(remote, invigilator, actor=None)
    db.session.commit()
    booking = book_and_check_in(room, make_user("apprentice"), invigilator, clock.now(), check_in=False)

    venue_page = _text(client.get(f"/invigilate/sittings/{room.id}"))
    for item in policy.venue_checklist:
        assert f"{item.label}: {item.text}" in venue_page
    for incident in policy.incident_types:
        assert incident.name in venue_page
    remote_page = _text(client.get(f"/invigilate/sittings/{remote.id}"))
    for item in policy.remote.checklist:
        assert f"{item.label}: {item.text}" in remote_page
    check_in_page = _text(client.get(f"/invigilate/sittings/{room.id}/bookings/{booking.id}/check-in"))
    for document in policy.identity.documents:
        assert document.name in check_in_page


def test_an_incomplete_checklist_names_the_missing_points_by_their_labels(app, client, st0663, make_user, login, clock):
    invigilator = make_user("invigilator")
    assert login(invigilator).status_code == 302
    room = open_sitting(st0663, [invigilator], clock.now(), confirm=False)
    page = client.get(f"/invigilate/sittings/{room.id}")
    confirmed = {item.key: "y" for item in load_policy().venue_checklist if item.key not in {"devices", "evacuation"}}
    response = client.post(
        f"/invigilate/sittings/{room.id}/venue",
        data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), **confirmed},
        follow_redirects=True,
    )
    shown = _text(response)
    assert "Not yet confirmed: Devices stored away; Evacuation procedure." in shown
    assert "devices," not in shown and "evacuation." not in shown
    db.session.expire_all()
    assert room.venue_confirmed_at is None


def test_the_published_policy_states_the_same_venue_checklist():
    prose = " ".join((REPO / "invigilation" / "README.md").read_text(encoding="utf-8").split())
    for number, item in enumerate(load_policy().venue_checklist, start=1):
        assert f"{number}. {item.text}" in prose, item.key

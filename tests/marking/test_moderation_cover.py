"""Who moderates is visible (admin users page, `testengine users list`), and a disagreement the only moderator
marked is not a silent stall: the page says no eligible moderator exists, and a new moderator picks it up."""

from __future__ import annotations

from testengine.extensions import db
from testengine.service_settings import marking_settings
from testengine.services import marking
from tests.conftest import csrf_token_from
from tests.marking.test_marking_service import _script_with_total


def test_the_users_list_shows_who_moderates(app, client, login_as, make_user):
    login_as("admin")
    senior = make_user("marker", moderator=True, name="Pat Senior")
    make_user("marker", name="Jo Plain")
    page = client.get("/admin/users").get_data(as_text=True)
    assert '<th scope="col">Moderates</th>' in page
    row = page[page.index(senior.email) :].split("</tr>")[0]
    assert "Yes (moderator)" in row
    listing = app.test_cli_runner().invoke(args=["users", "list"])
    lines = dict(line.split("\t", 1) for line in listing.output.splitlines())
    assert lines[senior.email] == "marker\tmoderator"
    assert [v for k, v in lines.items() if k.startswith("marker")] == ["marker\tmoderator", "marker"]


def _disagreement(sit_script, senior, other, clear_for, first_mark, clock):
    clear_for(other)
    script, marks = _script_with_total(sit_script, 53)
    done = first_mark(senior, script.id, marks)
    aq_id = marking.claim_next(other, "second", clock.now(), settings=marking_settings())
    marking.save_mark(
        aq_id,
        "second",
        other,
        mark=(marks[done.index(aq_id)] + 1) % 3,
        comment=None,
        now=clock.now(),
        settings=marking_settings(),
    )
    db.session.commit()
    return aq_id


def test_a_disagreement_the_only_moderator_marked_is_reported_and_a_new_moderator_takes_it(
    app, client, login, make_user, sit_script, clear_for, first_mark, clock
):
    senior = make_user("marker", moderator=True, name="Pat Senior")
    other = make_user("marker", name="Jo Plain")
    aq_id = _disagreement(sit_script, senior, other, clear_for, first_mark, clock)
    cover = marking.moderation_cover(senior, clock.now())
    assert (cover.waiting_for_others, cover.without_moderator) == (0, 1)

    login(senior)
    home = client.get("/mark/").get_data(as_text=True)
    assert 'id="no-moderator"' in home and "1 disagreement is stalled: no eligible moderator." in home
    assert "make another marker a moderator" in home

    # An administrator makes a third marker a moderator on the user's page.
    third = make_user("marker", name="Sam Third")
    admin_browser = app.test_client()
    login(make_user("admin"), test_client=admin_browser)
    page = admin_browser.get(f"/admin/users/{third.id}").get_data(as_text=True)
    assert 'name="roles-moderator"' in page
    saved = admin_browser.post(
        f"/admin/users/{third.id}/roles",
        data={"csrf_token": csrf_token_from(page), "roles-roles": ["marker"], "roles-moderator": "y"},
    )
    assert saved.status_code == 302
    db.session.refresh(third)
    assert third.is_moderator

    home = client.get("/mark/").get_data(as_text=True)
    assert 'id="no-moderator"' not in home
    assert 'id="moderation-others"' in home and "Sam Third" in home
    assert [p.aq_id for p in marking.available(third, "moderator", clock.now())] == [aq_id]
    third_browser = app.test_client()
    login(third, test_client=third_browser)
    assert "Resolve the next disagreement" in third_browser.get("/mark/").get_data(as_text=True)


def test_only_a_marker_can_be_made_a_moderator(app, client, login_as, make_user):
    login_as("admin")
    person = make_user("reviewer")
    page = client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    refused = client.post(
        f"/admin/users/{person.id}/roles",
        data={"csrf_token": csrf_token_from(page), "roles-roles": ["reviewer"], "roles-moderator": "y"},
        follow_redirects=True,
    )
    assert "Only a marker can be a moderator" in refused.get_data(as_text=True)
    db.session.refresh(person)
    assert not person.is_moderator

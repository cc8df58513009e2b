"""Sign-off and release are confirmed acts, and a different administrator releases than signed off
(TESTENGINE_RELEASE_NEEDS_SECOND_ADMIN, on by default), on the page and in the service every path uses."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import AuditEntry
from testengine.services import results
from tests.conftest import csrf_token_from


@pytest.fixture
def graded(st1379, apprentice, admin, clock):
    row = results.record_method_grade(
        apprentice,
        st1379,
        method_key="observation",
        grade="pass",
        assessed_on=clock.now().date(),
        assessor="A. Assessor",
        now=clock.now(),
        actor=admin,
    )
    db.session.commit()
    return row


def _page(apprentice):
    return f"/admin/results/apprentices/{apprentice.id}/ST1379"


def _browser_for(app, login, user):
    browser = app.test_client()
    login(user, test_client=browser)
    return browser


def _post(browser, apprentice, row, action, **data):
    token = csrf_token_from(browser.get(_page(apprentice)).get_data(as_text=True))
    return browser.post(f"/admin/results/methods/{row.id}/{action}", data={"csrf_token": token, **data}, follow_redirects=True)


def test_sign_off_and_release_need_the_confirm_box(app, login, admin, make_user, apprentice, graded):
    signer = _browser_for(app, login, admin)
    page = signer.get(_page(apprentice)).get_data(as_text=True)
    assert 'name="confirm"' in page and "I confirm Observation with questioning: pass is the right grade to sign off" in page
    refused = _post(signer, apprentice, graded, "sign_off")
    assert "Tick the box to confirm the sign-off: nothing was signed off." in refused.get_data(as_text=True)
    db.session.refresh(graded)
    assert graded.status == "provisional"
    assert _post(signer, apprentice, graded, "sign_off", confirm="y").status_code == 200
    db.session.refresh(graded)
    assert graded.status == "signed_off"

    releaser = _browser_for(app, login, make_user("admin"))
    refused = _post(releaser, apprentice, graded, "release")
    assert "nothing was released" in refused.get_data(as_text=True)
    db.session.refresh(graded)
    assert graded.status == "signed_off"


def test_the_admin_who_signed_off_cannot_release_on_the_page(app, login, admin, make_user, apprentice, graded):
    signer = _browser_for(app, login, admin)
    _post(signer, apprentice, graded, "sign_off", confirm="y")
    page = signer.get(_page(apprentice)).get_data(as_text=True)
    assert f"Signed off by {admin.display_name}" in page
    assert "a different administrator must release it" in page and "/release" not in page  # no release button for them
    refused = _post(signer, apprentice, graded, "release", confirm="y").get_data(as_text=True)
    assert "Separation of duties" in refused and "TESTENGINE_RELEASE_NEEDS_SECOND_ADMIN" in refused
    db.session.refresh(graded)
    assert graded.status == "signed_off"

    other = make_user("admin")
    releaser = _browser_for(app, login, other)
    assert "/release" in releaser.get(_page(apprentice)).get_data(as_text=True)
    _post(releaser, apprentice, graded, "release", confirm="y")
    db.session.refresh(graded)
    assert graded.status == "released"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "result.method.release"))
    assert entry.actor_id == other.id


def test_the_service_refuses_the_same_admin_so_every_path_obeys(admin, make_user, graded, clock):
    results.sign_off(graded, now=clock.now(), actor=admin)
    with pytest.raises(results.ResultError, match="Separation of duties") as refused:
        results.release(graded, now=clock.now(), actor=admin)
    assert refused.value.code == "second_admin_required"
    results.release(graded, now=clock.now(), actor=make_user("admin"))
    assert graded.status == "released"


def test_only_admins_reach_sign_off_and_release(app, login, make_user, graded):
    for role in ("marker", "reviewer", "invigilator", "apprentice"):
        browser = _browser_for(app, login, make_user(role))
        token = csrf_token_from(browser.get("/account/password").get_data(as_text=True))
        for action in ("sign_off", "release"):
            assert (
                browser.post(
                    f"/admin/results/methods/{graded.id}/{action}", data={"csrf_token": token, "confirm": "y"}
                ).status_code
                == 403
            )


class TestOneAdminEpao:
    """An EPAO run by one person may turn the rule off."""

    @pytest.fixture
    def app_config(self, database_url):
        from tests.conftest import BASE_CONFIG

        return {**BASE_CONFIG, "DATABASE_URL": database_url, "RELEASE_NEEDS_SECOND_ADMIN": False}

    def test_the_same_admin_may_release_when_the_setting_is_off(self, app, login, admin, apprentice, graded):
        signer = _browser_for(app, login, admin)
        _post(signer, apprentice, graded, "sign_off", confirm="y")
        _post(signer, apprentice, graded, "release", confirm="y")
        db.session.refresh(graded)
        assert graded.status == "released"

"""The result pages: admins only on admin pages, apprentices see their own released results only."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import AuditEntry, MethodResult, QuestionVersion
from testengine.services import eligibility, result_changes, results, standing_marks
from tests.conftest import csrf_token_from
from tests.factories import second_admin


def _grade(apprentice, standard, method, grade, clock, admin, **kwargs):
    row = results.record_method_grade(
        apprentice,
        standard,
        method_key=method,
        grade=grade,
        assessed_on=clock.now().date(),
        assessor="A. Assessor",
        now=clock.now(),
        actor=admin,
        **kwargs,
    )
    db.session.commit()
    return row


def _release(row, clock, admin):
    results.sign_off(row, now=clock.now(), actor=admin)
    results.release(row, now=clock.now(), actor=second_admin())
    db.session.commit()


@pytest.fixture
def admin_pages(st1379, apprentice, admin, marked_attempt, clock):
    row = _grade(apprentice, st1379, "observation", "pass", clock, admin)
    attempt = marked_attempt(apprentice, 50)
    db.session.commit()
    return [
        "/admin/results",
        f"/admin/results?q={apprentice.candidate_number}",
        f"/admin/results/apprentices/{apprentice.id}/ST1379",
        f"/admin/results/methods/{row.id}/change",
        "/admin/results/export.csv",
        f"/admin/attempts/{attempt.id}/appeal-pack",
    ]


def test_admin_result_pages_are_for_admins_only(client, login, make_user, admin_pages, admin):
    for url in admin_pages:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    for role in ("apprentice", "marker", "reviewer", "invigilator"):
        other = client.application.test_client()
        login(make_user(role), test_client=other)
        for url in admin_pages:
            assert other.get(url).status_code == 403, (role, url)
    login(admin)
    for url in admin_pages:
        assert client.get(url).status_code == 200, url


def test_admin_records_signs_off_and_releases_through_the_pages(client, login, admin, apprentice, st1379, clock):
    login(admin)
    page_url = f"/admin/results/apprentices/{apprentice.id}/ST1379"
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    form = {"g-csrf_token": token, "g-assessed_on": clock.now().date().isoformat(), "g-assessor": "Jo Assessor"}
    assert client.post(f"{page_url}/grades", data={**form, "g-method": "observation", "g-grade": "fail"}).status_code == 302
    assert (
        client.post(
            f"{page_url}/grades", data={**form, "g-method": "professional_discussion", "g-grade": "distinction"}
        ).status_code
        == 302
    )
    rows = results.current_method_results(apprentice.id, st1379.id)
    assert {k: (r.grade, r.assessor, r.recorded_by_id) for k, r in rows.items()} == {
        "observation": ("fail", "Jo Assessor", admin.id),
        "professional_discussion": ("distinction", "Jo Assessor", admin.id),
    }
    overall = results.current_overall(apprentice.id, st1379.id)
    assert overall.grade == "fail"
    releaser = client.application.test_client()
    other_admin = second_admin()
    db.session.commit()
    login(other_admin, test_client=releaser)
    release_token = csrf_token_from(releaser.get(page_url).get_data(as_text=True))
    for row in (*rows.values(), overall):
        kind = "methods" if isinstance(row, MethodResult) else "overall"
        response = client.post(f"/admin/results/{kind}/{row.id}/sign_off", data={"csrf_token": token, "confirm": "y"})
        assert response.status_code == 302
        response = releaser.post(f"/admin/results/{kind}/{row.id}/release", data={"csrf_token": release_token, "confirm": "y"})
        assert response.status_code == 302
    db.session.expire_all()
    assert results.current_overall(apprentice.id, st1379.id).status == "released"
    assert all(r.status == "released" for r in results.current_method_results(apprentice.id, st1379.id).values())
    # Without a CSRF token nothing moves.
    assert client.post(f"/admin/results/overall/{overall.id}/release", data={}).status_code == 400
    # A re-sit of the released fail without the employer's agreement is refused, the rule named on the page.
    refused = client.post(f"{page_url}/grades", data={**form, "g-method": "observation", "g-grade": "distinction"})
    assert refused.status_code == 409 and "(rule: employer_agreement_required)" in refused.get_data(as_text=True)
    agreement = {
        "r-csrf_token": token,
        "r-method": "observation",
        "r-employer_contact": "Pat Employer",
        "r-agreed_on": clock.now().date().isoformat(),
        "r-further_learning": "",
    }
    assert client.post(f"{page_url}/agreements", data=agreement).status_code == 302
    assert (
        client.post(f"{page_url}/grades", data={**form, "g-method": "observation", "g-grade": "distinction"}).status_code == 302
    )
    db.session.expire_all()
    resit = results.current_method_results(apprentice.id, st1379.id)["observation"]
    assert (resit.kind, resit.achieved_grade, resit.grade, resit.employer_agreed) == ("resit", "distinction", "pass", True)
    assert results.current_overall(apprentice.id, st1379.id).grade == "pass"  # capped: not merit


def test_release_before_sign_off_is_refused_on_the_page(client, login, admin, apprentice, st1379, clock):
    row = _grade(apprentice, st1379, "observation", "pass", clock, admin)
    login(admin)
    token = csrf_token_from(client.get("/admin/results").get_data(as_text=True))
    page = client.post(
        f"/admin/results/methods/{row.id}/release", data={"csrf_token": token, "confirm": "y"}, follow_redirects=True
    )
    assert "provisional result cannot be released" in page.get_data(as_text=True)
    db.session.refresh(row)
    assert row.status == "provisional"


def test_appeal_through_the_page_needs_a_reason_and_keeps_history(client, login, admin, apprentice, st1379, clock):
    row = _grade(apprentice, st1379, "observation", "pass", clock, admin)
    _release(row, clock, admin)
    login(admin)
    url = f"/admin/results/methods/{row.id}/change"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    missing = client.post(url, data={"c-csrf_token": token, "c-route": "appeal", "c-grade": "distinction", "c-reason": ""})
    assert missing.status_code == 400 and "This field is required" in missing.get_data(as_text=True)
    done = client.post(
        url, data={"c-csrf_token": token, "c-route": "appeal", "c-grade": "distinction", "c-reason": "Appeal panel 12 upheld"}
    )
    assert done.status_code == 302
    rows = db.session.scalars(select(MethodResult).order_by(MethodResult.id)).all()
    assert [(r.grade, r.current, r.status, r.change_reason) for r in rows] == [
        ("pass", False, "released", None),
        ("distinction", True, "released", "Appeal panel 12 upheld"),
    ]
    page = client.get(f"/admin/results/apprentices/{apprentice.id}/ST1379").get_data(as_text=True)
    assert "appeal: Appeal panel 12 upheld" in page


def test_admin_sets_the_epa_period_end(client, login, admin, apprentice, st0663_spec):
    login(admin)
    url = f"/admin/results/apprentices/{apprentice.id}/ST0663"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    assert client.post(f"{url}/epa-period", data={"e-csrf_token": token, "e-ends_on": "2027-03-31"}).status_code == 302
    db.session.refresh(apprentice)
    assert apprentice.epa_period_ends.isoformat() == "2027-03-31"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "apprentice.epa_period_ends")).actor_id == admin.id


def test_csv_export_is_safe_against_formula_injection(client, login, admin, make_user, st1379, clock):
    hostile = make_user("apprentice", name='=HYPERLINK("http://evil") @SUM(A1)').apprentice
    _grade(hostile, st1379, "observation", "fail", clock, admin)
    row = _grade(hostile, st1379, "professional_discussion", "pass", clock, admin)
    row.assessor = "+cmd|' /C calc'!A0"
    db.session.commit()
    login(admin)
    response = client.get("/admin/results/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["method"] for r in table] == ["observation", "professional_discussion", "overall"]
    assert {r["given_name"] for r in table} == {'\'=HYPERLINK("http://evil")'}
    assert {r["family_name"] for r in table} == {"'@SUM(A1)"}
    assert table[1]["assessor"] == "'+cmd|' /C calc'!A0" and table[2]["grade"] == "fail"
    for record in table:
        assert not any(value.startswith(("=", "+", "-", "@")) for value in record.values())


def test_an_apprentice_sees_only_their_own_released_results(app, client, login, make_user, admin, st1379, clock):
    mine, theirs = make_user("apprentice"), make_user("apprentice")
    released = _grade(mine.apprentice, st1379, "observation", "distinction", clock, admin)
    _release(released, clock, admin)
    provisional = _grade(mine.apprentice, st1379, "professional_discussion", "pass", clock, admin)
    others = _grade(theirs.apprentice, st1379, "observation", "fail", clock, admin)
    _release(others, clock, admin)
    login(mine)
    page = client.get("/apprentice/results").get_data(as_text=True)
    assert "Observation with questioning" in page and "Distinction" in page
    assert "Professional discussion" not in page  # provisional: not shown
    assert "Overall end-point assessment grade" not in page
    assert client.get(f"/apprentice/results/{released.id}").status_code == 200
    assert client.get(f"/apprentice/results/{provisional.id}").status_code == 404
    assert client.get(f"/apprentice/results/{others.id}").status_code == 404
    assert client.get("/apprentice/results/999999").status_code == 404
    letter = client.get("/apprentice/results/ST1379/letter.pdf")
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF") and letter.mimetype == "application/pdf"
    assert client.get("/apprentice/results/ST0663/letter.pdf").status_code == 404
    # Another role has no apprentice results page at all.
    staff = app.test_client()
    login(admin, test_client=staff)
    assert staff.get("/apprentice/results").status_code == 403
    assert staff.get(f"/apprentice/results/{released.id}").status_code == 403


def test_a_failed_knowledge_test_gives_ksb_feedback_without_any_question(start_sitter, client, login, admin, clock):
    sitter = start_sitter()
    assert sitter.submit().status_code == 200  # nothing answered: every mark automatic, 0 of 66
    row = db.session.scalar(select(MethodResult).where(MethodResult.attempt_id == sitter.attempt_id))
    assert (row.grade, row.marks, row.status, row.recorded_by_id) == ("fail", 0, "provisional", None)
    assert sitter.client.get(f"/apprentice/results/{row.id}").status_code == 404  # not released yet
    _release(row, clock, admin)
    page = sitter.client.get(f"/apprentice/results/{row.id}").get_data(as_text=True)
    assert "Areas to work on" in page and "K17: Safeguarding" in page and "S8: Problem solving" in page
    stems = db.session.scalars(select(QuestionVersion.stem)).all()
    assert not any(stem in page for stem in stems)
    letter = sitter.client.get("/apprentice/results/ST0663/letter.pdf")
    assert letter.data.startswith(b"%PDF")


def test_the_appeal_pack_gathers_paper_answers_timings_adjustments_and_incidents(start_sitter, room, client, login, admin, clock):
    import datetime as dt

    from testengine.models import Attempt
    from testengine.services import adjustments, attempts, sittings

    sitter = start_sitter()
    attempt = db.session.get(Attempt, sitter.attempt_id)
    apprentice = sitter.user.apprentice
    adjustments.add_adjustment(
        apprentice,
        kind="rest_breaks",
        extra_percent=0,
        extra_minutes=0,
        reason="Medical letter seen",
        approval_reference="RA-42",
        approved_by="Head of Quality",
        expires_on=None,
        now=clock.now(),
        actor=admin,
    )
    sittings.log_incident(
        room,
        kind="illness",
        apprentice_ids=[apprentice.id],
        now=clock.now(),
        actor=room.test_invigilator,
        notes="Felt faint; rest break given",
    )
    sittings.log_incident(
        room,
        kind="technical_fault",
        apprentice_ids=[apprentice.id + 1000],
        now=clock.now(),
        actor=room.test_invigilator,
        notes="Someone else's keyboard",
    )
    attempts.begin_stoppage(attempt, "rest_break", now=clock.now(), actor=room.test_invigilator)
    clock.advance(dt.timedelta(minutes=5))
    attempts.end_stoppage(attempt, now=clock.now(), actor=room.test_invigilator)
    db.session.commit()
    short = next(q["position"] for q in sitter.status().get_json()["questions"] if q["type"] == "short_answer")
    sitter.save(short, "Active listening <b>and</b> a calm tone")
    assert sitter.submit().status_code == 200
    login(admin)
    pack = client.get(f"/admin/attempts/{attempt.id}/appeal-pack").get_data(as_text=True)
    assert "<strong>Matches</strong>" in pack
    assert pack.count("<h3>Question ") == 40
    assert "Active listening &lt;b&gt;and&lt;/b&gt; a calm tone" in pack  # the answer, escaped
    assert "Medical letter seen; ref RA-42" in pack
    assert "Felt faint; rest break given" in pack and "Someone else&#39;s keyboard" not in pack
    assert "rest break: " in pack and "(candidate)" in pack
    db.session.refresh(attempt)
    assert attempt.issued_at.strftime("%Y-%m-%d %H:%M:%S") in pack and attempt.submitted_at.strftime("%Y-%m-%d %H:%M:%S") in pack
    assert pack.count("<td>auto</td>") == 39  # every MCQ and blank answer; the short answer waits for a marker


def test_a_knowledge_test_remark_on_the_page_remarks_items_and_the_total_follows(start_sitter, client, login, admin, clock):
    from testengine.models import Mark

    sitter = start_sitter()
    assert sitter.submit().status_code == 200
    row = db.session.scalar(select(MethodResult).where(MethodResult.attempt_id == sitter.attempt_id))
    _release(row, clock, admin)
    items = result_changes.remark_items(sitter.attempt_id)
    login(admin)
    url = f"/admin/results/methods/{row.id}/change"
    page = client.get(url).get_data(as_text=True)
    assert "(total 0)" in page and page.count('name="c-item_') == 26 and "c-marks" not in page  # no typed total
    token = csrf_token_from(page)
    form = {"c-csrf_token": token, "c-route": "remark", "c-reason": "Short answers re-marked on appeal"}
    form |= {f"c-item_{item['id']}": "0" for item in items}
    too_high = client.post(url, data={**form, f"c-item_{items[0]['id']}": "3"})
    assert too_high.status_code == 400 and db.session.scalar(select(Mark.id).where(Mark.role == "remark")) is None
    form |= {f"c-item_{item['id']}": "2" for item in items[:22]} | {f"c-item_{items[22]['id']}": "1"}
    response = client.post(url, data=form)
    assert response.status_code == 302
    db.session.expire_all()
    current = results.current_method_results(row.apprentice_id, row.standard_id)["knowledge_test"]
    assert (current.marks, current.grade, current.change_route, current.replaces_id) == (45, "fail", "remark", row.id)
    assert current.marks == standing_marks.standing_total(sitter.attempt_id)


def test_the_apprentice_sees_the_latest_released_grade_of_each_method(client, login, make_user, admin, st1379, clock):
    import datetime as dt

    user = make_user("apprentice")
    failed = _grade(user.apprentice, st1379, "observation", "fail", clock, admin)
    _release(failed, clock, admin)
    clock.advance(dt.timedelta(days=30))
    eligibility.record_agreement(
        user.apprentice,
        st1379,
        "observation",
        employer_contact="Pat Employer",
        agreed_on=clock.now().date(),
        further_learning=None,
        now=clock.now(),
        actor=admin,
    )
    resit = _grade(user.apprentice, st1379, "observation", "distinction", clock, admin)
    login(user)
    table = client.get("/apprentice/results").get_data(as_text=True)
    assert "<td>Fail</td>" in table and "re-sit" not in table  # the re-sit waits for sign-off
    _release(resit, clock, admin)
    table = client.get("/apprentice/results").get_data(as_text=True)
    assert "<td>Pass</td>" in table and "(re-sit)" in table and "<td>Fail</td>" not in table
    assert client.get(f"/apprentice/results/{failed.id}").status_code == 404  # replaced by a later release
    detail = client.get(f"/apprentice/results/{resit.id}").get_data(as_text=True)
    assert "you achieved distinction; a re-sit or re-take counts at most as pass" in detail

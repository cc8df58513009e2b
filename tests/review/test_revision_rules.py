"""Revisions: identical options refused, the second reviewer sees the change word by word, a rejection
says why, and "Last reviewed by" names the approver. Also the options chart and an empty bank's page."""

from __future__ import annotations

import math
import re

from sqlalchemy import select

from testengine.domain.revision_diff import revision_changes, word_diff
from testengine.extensions import db
from testengine.models import AuditEntry
from testengine.reviewer import charts
from testengine.services import review
from testengine.services.statistics import ItemInfo, ItemResult
from tests.conftest import csrf_token_from
from tests.review.conftest import key_of, question_of, version_of, wrong_of
from tests.review.test_reviewer_pages import MCQ, _form_fields


def _propose(client, st0663, **changes):
    question = question_of(st0663, MCQ)
    data = _form_fields(client.get(f"/review/questions/{question.id}/revise").get_data(as_text=True))
    return client.post(f"/review/questions/{question.id}/revise", data={**data, "comments": "Clearer wording.", **changes})


def test_a_revision_with_two_identical_options_is_refused_beside_the_field(st0663, client, login_as):
    login_as("reviewer")
    current = version_of(st0663, MCQ)
    key, wrong = key_of(current), wrong_of(current)
    same = "  " + current.content["options"][key]["text"].upper().replace(" ", "   ") + " "
    refused = _propose(client, st0663, **{f"option_{wrong}": same})
    html = refused.get_data(as_text=True)
    letters = "ABCD"
    first, second = sorted((key, wrong))
    assert refused.status_code == 400
    assert f"option {letters[second]} repeats option {letters[first]}" in html
    assert f'id="option_{second}-error"' in html
    assert review.pending_revisions([question_of(st0663, MCQ).id]) == {}


def test_word_diff_marks_added_and_removed_words():
    segments = word_diff("Record the facts today", "Record only the facts")
    assert [(s.op, s.text) for s in segments] == [
        ("same", "Record"),
        ("added", " only"),
        ("same", " the facts"),
        ("removed", " today"),
    ]
    options = [{"text": "Yes", "correct": True}, {"text": "No"}]
    changed = revision_changes(
        "Stem here", {"options": options}, "Stem here", {"options": [{"text": "Yes"}, {"text": "No", "correct": True}]}
    )
    assert [(c.label, [(s.op, s.text) for s in c.segments]) for c in changed] == [
        ("Correct option", [("removed", "A"), ("added", "B")])
    ]


def test_the_second_reviewer_sees_the_change_highlighted_and_the_approver_is_last_reviewer(app, st0663, client, login, reviewers):
    author, second = reviewers
    login(author)
    current = version_of(st0663, MCQ)
    wrong = wrong_of(current)
    old_text = current.content["options"][wrong]["text"]
    assert _propose(client, st0663, **{f"option_{wrong}": old_text + " straight away"}).status_code == 302
    other = app.test_client()
    login(second, test_client=other)
    question = question_of(st0663, MCQ)
    page = other.get(f"/review/questions/{question.id}").get_data(as_text=True)
    section = page[page.index('id="changes"') : page.index("in full</h3>")]
    assert f"<dt>Option {'ABCD'[wrong]}</dt>" in section
    assert re.search(r'<ins class="diff"><span class="visually-hidden">\[added: </span> straight away<span', section)
    assert "<del" not in section and "Question wording" not in section  # only what changed
    approved = other.post(
        f"/review/revisions/{review.pending_revisions([question.id])[question.id].id}/approve",
        data={"csrf_token": csrf_token_from(page)},
    )
    assert approved.status_code == 302
    db.session.expire_all()
    after = other.get(f"/review/questions/{question.id}").get_data(as_text=True)
    assert re.search(r"<dt>Last reviewed</dt><dd>[^<]* by Sasha Second</dd>", after)


def test_reject_needs_a_reason_which_is_audited(app, st0663, client, login, reviewers):
    author, second = reviewers
    login(author)
    current = version_of(st0663, MCQ)
    assert _propose(client, st0663, **{f"option_{wrong_of(current)}": "Something else entirely different"}).status_code == 302
    question = question_of(st0663, MCQ)
    pending = review.pending_revisions([question.id])[question.id]
    other = app.test_client()
    login(second, test_client=other)
    page = other.get(f"/review/questions/{question.id}").get_data(as_text=True)
    assert 'name="reason"' in page and f"Reject version {pending.version}" in page
    token = csrf_token_from(page)
    refused = other.post(f"/review/revisions/{pending.id}/reject", data={"csrf_token": token, "reason": "  "})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="reason-error"' in html and "Say why the revision is rejected" in html
    db.session.expire_all()
    assert review.pending_revisions([question.id])[question.id].revision_state == "pending"
    done = other.post(
        f"/review/revisions/{pending.id}/reject", data={"csrf_token": token, "reason": "The distractor is now implausible."}
    )
    assert done.status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.revision.reject"))
    assert (entry.actor_id, entry.reason) == (second.id, "The distractor is now implausible.")


def test_reject_is_for_reviewers_only(app, st0663, client, login, reviewers, make_user):
    login(reviewers[0])
    current = version_of(st0663, MCQ)
    _propose(client, st0663, **{f"option_{wrong_of(current)}": "Something else entirely different"})
    pending = review.pending_revisions([question_of(st0663, MCQ).id])[question_of(st0663, MCQ).id]
    for role in ("marker", "admin", "invigilator"):
        browser = app.test_client()
        login(make_user(role), test_client=browser)
        token = csrf_token_from(browser.get("/account/password").get_data(as_text=True))
        assert (
            browser.post(f"/review/revisions/{pending.id}/reject", data={"csrf_token": token, "reason": "no"}).status_code == 403
        )


def _item(shares):
    info = ItemInfo(question_id=1, external_id="Q-1", version_id=1, version=1, type="mcq", ksb=("K1",), marks=1, options=4, key=2)
    return ItemResult(
        info=info,
        n=40,
        facility=0.5,
        facility_ci=(0.3, 0.7),
        discrimination=0.3,
        upper_lower=0.2,
        mark_distribution=[20, 20],
        issued=40,
        exposure=40,
        double_marked=0,
        marker_agreement=math.nan,
        option_n=40,
        option_shares=shares,
    )


def test_the_options_chart_legend_has_its_own_band_clear_of_every_bar():
    full = [1.0, 1.0, 1.0, 1.0, 1.0]  # the tallest bars possible, in every series
    chart = charts.option_bars(_item({"overall": full, "upper": full, "lower": full}))
    assert len(chart.legend_items) == 3
    top_of_bars = min(bar.y for bar in chart.bars)
    for item in chart.legend_items:
        assert item.y + charts.SWATCH < top_of_bars  # above every bar
        right = item.x + charts.SWATCH + 6 + charts.CHAR_WIDTH * len(item.label)
        assert chart.plot_left <= item.x and right <= chart.plot_right
    lefts = [item.x for item in chart.legend_items]
    assert lefts == sorted(lefts) and len(set(lefts)) == 3  # side by side, not stacked on each other


def test_a_bank_with_no_questions_says_why(st0663, client, login_as, clock, tmp_path):
    import shutil

    from testengine.services.banks import import_bank
    from tests.factories import REPO

    # ST1379's spec without its question files: a bank that has no questions yet.
    shutil.copy(REPO / "question_banks" / "ST1379" / "spec.yaml", tmp_path / "spec.yaml")
    import_bank(tmp_path, now=clock.now())
    db.session.commit()
    login_as("reviewer")
    page = client.get("/review/standards/ST1379").get_data(as_text=True)
    assert "Questions 0 ()" not in page and "()" not in page
    assert "No questions in this bank." in page
    assert "ST1379 has no knowledge test" in page and "Observation with questioning" in page and "assessor-led" in page
    assert "No questions in this bank" not in client.get("/review/standards/ST0663").get_data(as_text=True)

"""The reviewer's pages: who may open them, the forms, and that no page ever shows who was assessed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from flask import url_for
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Answer, AttemptQuestion, Mark, QuestionVersion
from testengine.services import review
from tests.conftest import csrf_token_from
from tests.review.conftest import key_of, question_of, version_of, wrong_of

MCQ, SAQ = "ST0663-K10-MCQ-001", "ST0663-K10-SA-001"


def _get_routes(app):
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("reviewer.") and "GET" in rule.methods),
        key=lambda rule: rule.rule,
    )


def _url(app, rule, values):
    with app.test_request_context():
        return url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})


@pytest.fixture
def sample_values(st0663, sittings, scripts):
    version = version_of(st0663, MCQ)
    scripts.add([(version, str(key_of(version)), {"auto": 1})], sitting=sittings[0])
    return {
        "code": "ST0663",
        "question_id": question_of(st0663, MCQ).id,
        "sitting_id": sittings[0].id,
    }


@pytest.mark.parametrize("role", ["apprentice", "invigilator", "marker", "admin"])
def test_other_roles_get_403_on_every_review_page(app, client, login_as, sample_values, role):
    login_as(role)
    routes = _get_routes(app)
    assert len(routes) >= 7
    for rule in routes:
        response = client.get(_url(app, rule, sample_values))
        assert response.status_code == 403, (role, rule.rule, response.status_code)
    version = db.session.scalar(select(QuestionVersion.id))
    for path in (
        f"/review/questions/{sample_values['question_id']}/decision",
        f"/review/revisions/{version}/approve",
    ):
        assert client.post(path, data={}).status_code in (400, 403)  # CSRF or role: never through
        assert (
            client.post(
                path,
                data={"csrf_token": csrf_token_from(client.get("/", follow_redirects=True).get_data(as_text=True))},
            ).status_code
            == 403
        )


def test_anonymous_visitors_are_sent_to_sign_in(app, client, sample_values):
    for rule in _get_routes(app):
        response = client.get(_url(app, rule, sample_values))
        assert response.status_code == 302 and "/login" in response.headers["Location"], rule.rule


def test_queue_page_lists_what_is_due(st0663, client, login_as, clock):
    login_as("reviewer")
    assert "No questions are due for review." in client.get("/review/").get_data(as_text=True)
    question = question_of(st0663, MCQ)
    question.next_due = clock.now().date() - dt.timedelta(days=2)
    db.session.commit()
    html = client.get("/review/").get_data(as_text=True)
    assert "Review queue (1)" in html and MCQ in html and "overdue: not drawn" in html
    assert f'href="/review/questions/{question.id}"' in html


def test_keep_and_retire_through_the_form(st0663, client, login_as, clock):
    login_as("reviewer")
    question = question_of(st0663, MCQ)
    page = client.get(f"/review/questions/{question.id}")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    refused = client.post(
        f"/review/questions/{question.id}/decision",
        data={"csrf_token": token, "decision": "keep", "comments": " "},
    )
    assert refused.status_code == 400 and "needs a comment" in refused.get_data(as_text=True)
    kept = client.post(
        f"/review/questions/{question.id}/decision",
        data={"csrf_token": token, "decision": "keep", "comments": "Accurate."},
    )
    assert kept.status_code == 302
    db.session.expire_all()
    assert question_of(st0663, MCQ).next_due > clock.now().date() + dt.timedelta(days=360)
    retired = client.post(
        f"/review/questions/{question.id}/decision",
        data={"csrf_token": token, "decision": "retire", "comments": "Superseded."},
    )
    assert retired.status_code == 302
    db.session.expire_all()
    assert question_of(st0663, MCQ).status == "retired"
    html = client.get(f"/review/questions/{question.id}").get_data(as_text=True)
    assert "never drawn" in html and "Record a review decision" not in html
    again = client.post(
        f"/review/questions/{question.id}/decision",
        data={"csrf_token": token, "decision": "keep", "comments": "Bring it back."},
    )
    assert again.status_code == 400 and "is retired; it can no longer be reviewed" in again.get_data(as_text=True)


def _form_fields(html):
    """The form's fields as a browser would send them (textareas, checked radios, hidden inputs)."""
    data = {name: value for name, value in re.findall(r'<input[^>]*name="(csrf_token)"[^>]*value="([^"]*)"', html)}
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\r?\n?(.*?)</textarea>', html, re.DOTALL):
        data[name] = (
            text.replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        )
    checked = re.search(
        r'<input[^>]*checked[^>]*name="correct"[^>]*value="(\d)"|<input[^>]*name="correct"[^>]*value="(\d)"[^>]*checked',
        html,
    )
    if checked:
        data["correct"] = checked.group(1) or checked.group(2)
    return data


def test_revise_form_checks_like_a_bank_file_and_needs_a_second_reviewer(app, st0663, client, login, reviewers):
    author, second = reviewers
    question = question_of(st0663, MCQ)
    current = version_of(st0663, MCQ)
    login(author)
    page = client.get(f"/review/questions/{question.id}/revise")
    assert page.status_code == 200
    data = _form_fields(page.get_data(as_text=True))
    assert data["stem"] == current.stem and data["correct"] == str(key_of(current))
    assert data["option_0"] == current.content["options"][0]["text"]

    wrong = wrong_of(current)
    bad = {
        **data,
        "stem": "Too short",
        f"option_{wrong}": "<script>x</script>",
        "comments": "Edit.",
    }
    refused = client.post(f"/review/questions/{question.id}/revise", data=bad)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "is too short (9 characters; at least 10)" in html and "contains markup" in html
    assert f'id="option_{wrong}-error"' in html  # the problem sits beside its field

    good = {
        **data,
        f"option_{wrong}": "Tell them the rules\r\non sanctions in detail",
        "comments": "Shorter distractor.",
    }
    accepted = client.post(f"/review/questions/{question.id}/revise", data=good)
    assert accepted.status_code == 302, accepted.get_data(as_text=True)[:2000]
    db.session.expire_all()
    pending = review.pending_revisions([question.id])[question.id]
    assert pending.content["options"][wrong]["text"] == "Tell them the rules\non sanctions in detail"  # CRLF from the browser

    own = client.get(f"/review/questions/{question.id}").get_data(as_text=True)
    assert "You proposed this revision" in own and f"Approve version {pending.version}" not in own
    token = csrf_token_from(own)
    self_approval = client.post(f"/review/revisions/{pending.id}/approve", data={"csrf_token": token})
    assert self_approval.status_code == 403 and "another reviewer must approve it" in self_approval.get_data(as_text=True)
    db.session.expire_all()
    assert question_of(st0663, MCQ).current_version == 1

    other = app.test_client()
    login(second, test_client=other)
    listing = other.get("/review/approvals").get_data(as_text=True)
    assert MCQ in listing and "Rowan Reviewer" in listing
    page = other.get(f"/review/questions/{question.id}").get_data(as_text=True)
    assert f"Approve version {pending.version}" in page
    approved = other.post(f"/review/revisions/{pending.id}/approve", data={"csrf_token": csrf_token_from(page)})
    assert approved.status_code == 302
    db.session.expire_all()
    assert question_of(st0663, MCQ).current_version == 2


def test_short_answer_revise_form_round_trips_the_guide(st0663, client, login_as):
    login_as("reviewer")
    question = question_of(st0663, SAQ)
    page = client.get(f"/review/questions/{question.id}/revise").get_data(as_text=True)
    data = _form_fields(page)
    assert "indicative_content" in data and "two_marks" in data
    unchanged = client.post(f"/review/questions/{question.id}/revise", data={**data, "comments": "Looked again."})
    assert unchanged.status_code == 400 and "nothing has changed" in unchanged.get_data(as_text=True)
    emptied = client.post(
        f"/review/questions/{question.id}/revise",
        data={**data, "indicative_content": "", "comments": "x"},
    )
    assert emptied.status_code == 400 and "should have at least 1 entry" in emptied.get_data(as_text=True)


def test_review_record_csv_is_formula_safe(st0663, client, login_as, clock):
    reviewer = login_as("reviewer")
    review.keep(question_of(st0663, MCQ), '=HYPERLINK("http://evil")', actor=reviewer, now=clock.now())
    db.session.commit()
    response = client.get("/review/standards/ST0663/record.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["date", "standard", "question", "decision"]
    assert rows[1][2:5] == [MCQ, "keep", reviewer.display_name] and rows[1][5].startswith("'=")
    assert rows[1][8] == "review dates renewed"


def test_reviewers_never_see_who_was_assessed(app, st0663, client, login, make_user, start_sitter, reviewers, clock, room):
    """Real sittings, real marks: walk every reviewer page and look for any trace of the apprentices."""
    secrets: list[str] = []
    for given, family in (
        ("Zebedee", "Quackenbush"),
        ("Ottoline", "Fairweather"),
        ("Barnaby", "Oddfellow"),
    ):
        user = make_user("apprentice", name=f"{given} {family}")
        secrets += [
            given,
            family,
            user.email,
            user.apprentice.uln,
            user.apprentice.candidate_number,
        ]
        sitter = start_sitter(user)
        for q in sitter.status().get_json()["questions"]:
            position = q["position"]
            if q["type"] == "mcq":
                options = [o["value"] for o in sitter.question(position).get_json()["options"]]
                sitter.save(position, options[position % len(options)])
            elif position % 3:
                sitter.save(position, f"My answer {position} as {given} {family}, ULN {user.apprentice.uln}")
        assert sitter.submit().status_code == 200
        # Markers mark every short answer (a second marker checks some), so the scripts count.
        marker = make_user("marker")
        for aq, answer in db.session.execute(
            select(AttemptQuestion, Answer)
            .join(Answer, Answer.attempt_question_id == AttemptQuestion.id)
            .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
            .where(
                AttemptQuestion.attempt_id == sitter.attempt_id,
                QuestionVersion.type == "short_answer",
            )
        ).all():
            if answer.response:
                db.session.add(
                    Mark(
                        attempt_question_id=aq.id,
                        attempt_id=aq.attempt_id,
                        marker_id=marker.id,
                        role="first",
                        mark=aq.position % 3,
                        created_at=clock.now(),
                    )
                )
                if aq.position % 2:
                    db.session.add(
                        Mark(
                            attempt_question_id=aq.id,
                            attempt_id=aq.attempt_id,
                            marker_id=marker.id,
                            role="second",
                            mark=aq.position % 3,
                            created_at=clock.now(),
                        )
                    )
        db.session.commit()
    author, second = reviewers
    question = question_of(st0663, MCQ)
    current = version_of(st0663, MCQ)
    fields = {"options": [{k: v for k, v in o.items() if v is not None and v is not False} for o in current.content["options"]]}
    fields["options"][wrong_of(current)]["text"] = "A reworded distractor for the walk"
    review.propose_revision(
        question,
        stem=current.stem,
        content_fields=fields,
        comments="Reword.",
        actor=author,
        now=clock.now(),
    )
    review.keep(question_of(st0663, SAQ), "Fine.", actor=second, now=clock.now())
    db.session.commit()

    stats_questions = [
        qid
        for (qid,) in db.session.execute(
            select(QuestionVersion.question_id)
            .join(AttemptQuestion, AttemptQuestion.question_version_id == QuestionVersion.id)
            .distinct()
        ).all()
    ]
    login(second)
    visited = set()
    pages = 0
    for rule in _get_routes(app):
        ids = stats_questions[:6] + [question.id] if "question_id" in rule.arguments else [None]
        for qid in ids:
            url = _url(app, rule, {"code": "ST0663", "sitting_id": room.id, "question_id": qid})
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            body = response.get_data(as_text=True)
            for secret in secrets:
                assert secret not in body, (url, secret)
            visited.add(rule.endpoint)
            pages += 1
    assert visited == {rule.endpoint for rule in _get_routes(app)} and pages >= 14
    bank = client.get("/review/standards/ST0663").get_data(as_text=True)
    assert "From 3 fully marked scripts" in bank and "<svg" in bank
    scores = client.get(f"/review/standards/ST0663/sittings/{room.id}").get_data(as_text=True)
    assert "Scripts by grade" in scores and "<svg" in scores and "fail from" not in scores and "pass from 46" in scores


def test_a_reviewer_reads_an_assessor_questions_indicators(st0663, client, login_as):
    login_as("reviewer")
    question = question_of(st0663, "ST0663-PRES-001")
    page = client.get(f"/review/questions/{question.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "A pass answer shows" in html and "A distinction answer shows" in html and "presentation" in html

"""Practice papers: practice banks only, keys and guides after submission only, never a result,
an exposure count or an item statistic; timed papers keep nothing after time is up."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import Attempt, ItemExposure, MethodResult, OverallResult, PracticeAttempt, Question, QuestionVersion
from testengine.services import practice
from testengine.services.statistics import bank_statistics
from tests.conftest import csrf_token_from
from tests.factories import import_standard


@pytest.fixture
def st1380(app, clock):  # type: ignore[no-untyped-def]
    return import_standard("ST1380", clock.now())


def _start(client, timing: str = "untimed"):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get("/practice/").get_data(as_text=True))
    response = client.post("/practice/start", data={"csrf_token": token, "standard": "ST1380", "timing": timing})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return int(re.search(r"/practice/papers/(\d+)", response.headers["Location"]).group(1))


def _key_and_guide_texts(attempt: PracticeAttempt) -> tuple[list[str], list[str]]:
    rationales, guides = [], []
    for row in attempt.questions:
        content = db.session.get(QuestionVersion, row["version_id"]).content
        rationales += [o["rationale"] for o in content.get("options") or [] if o.get("rationale")]
        guides += (content.get("guide") or {}).get("indicative_content", [])
    return rationales, guides


def _answers(attempt: PracticeAttempt, right: bool) -> dict[str, str]:
    """Every question answered: each multiple choice right (or wrong), each short answer in words."""
    data = {}
    for position, row in enumerate(attempt.questions, start=1):
        content = db.session.get(QuestionVersion, row["version_id"]).content
        if row["type"] == "mcq":
            correct = next(i for i, o in enumerate(content["options"]) if o.get("correct"))
            data[f"q{position}"] = str(correct if right else (correct + 1) % 4)
        else:
            data[f"q{position}"] = f"My answer to question {position}"
    return data


def test_an_apprentice_practises_from_start_to_feedback_and_sees_progress(app, client, st1380, login_as, clock) -> None:  # type: ignore[no-untyped-def]
    login_as("apprentice")
    assert "Practice papers" in client.get("/apprentice/").get_data(as_text=True)
    attempt_id = _start(client)
    attempt = db.session.get(PracticeAttempt, attempt_id)
    assert len(attempt.questions) == 20 and attempt.ends_at is None
    page = html.unescape(client.get(f"/practice/papers/{attempt_id}").get_data(as_text=True))
    rationales, guides = _key_and_guide_texts(attempt)
    # Confidentiality: neither the keys' rationales nor the guides before submission.
    assert rationales and guides
    assert not [t for t in rationales + guides if t in page]
    assert 'name="q1"' in page and "Untimed" in page
    # Feedback before submission: back to the paper.
    assert client.get(f"/practice/papers/{attempt_id}/feedback").headers["Location"].endswith(f"/practice/papers/{attempt_id}")

    data = _answers(attempt, right=True)
    token = csrf_token_from(page)
    saved = client.post(f"/practice/papers/{attempt_id}", data={"csrf_token": token, "action": "save", **data})
    assert saved.status_code == 302
    db.session.refresh(attempt)
    assert attempt.responses["1"] == data["q1"] and attempt.submitted_at is None
    # A saved answer is shown again when the page is reopened.
    assert "My answer to question" in client.get(f"/practice/papers/{attempt_id}").get_data(as_text=True)
    done = client.post(f"/practice/papers/{attempt_id}", data={"csrf_token": token, "action": "submit", **data})
    assert done.headers["Location"].endswith(f"/practice/papers/{attempt_id}/feedback")
    feedback = html.unescape(client.get(f"/practice/papers/{attempt_id}/feedback").get_data(as_text=True))
    assert "Multiple choice: <strong>14 of 14</strong>" in feedback
    assert all(g in feedback for g in guides)  # the marking guide for every short answer
    assert "Feedback by KSB" in feedback and "K1 <span" in feedback
    db.session.refresh(attempt)
    assert attempt.awarded.count(None) == 6 and sum(a or 0 for a in attempt.awarded) == 14

    # A second, worse paper: the history shows progress per KSB, paper by paper.
    second_id = _start(client, "timed")
    second = db.session.get(PracticeAttempt, second_id)
    assert second.ends_at == second.started_at + dt.timedelta(minutes=40)
    assert not {r["id"] for r in second.questions} & {r["id"] for r in attempt.questions if r["type"] == "short_answer"}
    token = csrf_token_from(client.get(f"/practice/papers/{second_id}").get_data(as_text=True))
    client.post(f"/practice/papers/{second_id}", data={"csrf_token": token, "action": "submit", **_answers(second, right=False)})

    home = client.get("/practice/").get_data(as_text=True)
    assert "Progress by KSB: ST1380" in home and "Paper 2" in home
    assert "14 of 14" in home and "0 of 14" in home
    progress = re.findall(r"<td>(\d+)%</td>", home)
    assert "100" in progress and "0" in progress


def test_practice_never_touches_results_exposure_or_item_statistics(app, client, st1380, st0663, login_as, clock) -> None:  # type: ignore[no-untyped-def]
    user = login_as("apprentice")
    statistics_before = bank_statistics(st1380)
    attempt_id = _start(client)
    attempt = db.session.get(PracticeAttempt, attempt_id)
    token = csrf_token_from(client.get(f"/practice/papers/{attempt_id}").get_data(as_text=True))
    client.post(f"/practice/papers/{attempt_id}", data={"csrf_token": token, "action": "submit", **_answers(attempt, True)})
    assert db.session.get(PracticeAttempt, attempt_id).submitted_at is not None
    assert db.session.scalar(select(func.count()).select_from(ItemExposure)) == 0
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0
    assert db.session.scalar(select(func.count()).select_from(MethodResult)) == 0
    assert db.session.scalar(select(func.count()).select_from(OverallResult)) == 0
    after = bank_statistics(st1380)
    assert (
        (after.scripts, after.awaiting_marking, after.items)
        == (
            statistics_before.scripts,
            statistics_before.awaiting_marking,
            statistics_before.items,
        )
        == (0, 0, [])
    )
    assert user.apprentice is not None


def test_a_live_bank_never_gives_a_practice_paper(app, client, st1380, st0663, login_as, clock) -> None:  # type: ignore[no-untyped-def]
    user = login_as("apprentice")
    with pytest.raises(practice.PracticeRefused, match="ST0663 is not a practice bank"):
        practice.start(user, st0663, timed=False, now=clock.now())
    # Not offered, and refused by name if asked for.
    home = client.get("/practice/").get_data(as_text=True)
    assert 'value="ST1380"' in home and 'value="ST0663"' not in home
    token = csrf_token_from(home)
    refused = client.post("/practice/start", data={"csrf_token": token, "standard": "ST0663", "timing": "untimed"})
    assert refused.status_code == 400 and "Not a valid choice" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PracticeAttempt)) == 0
    # A practice paper that somehow held a live question shows nothing of it, key or guide.
    attempt_id = _start(client)
    attempt = db.session.get(PracticeAttempt, attempt_id)
    live = db.session.scalars(
        select(QuestionVersion).join(Question).where(Question.standard_id == st0663.id, QuestionVersion.type == "short_answer")
    ).first()
    attempt.questions = [{**attempt.questions[0], "version_id": live.id}, *attempt.questions[1:]]
    db.session.commit()
    with pytest.raises(practice.PracticeRefused, match="not from its practice bank"):
        practice.paper(attempt)
    attempt.submitted_at, attempt.awarded = clock.now(), [None] * len(attempt.questions)
    db.session.commit()
    with pytest.raises(practice.PracticeRefused, match="not from its practice bank"):
        practice.feedback(attempt)


def test_a_timed_paper_keeps_nothing_after_time_is_up(app, client, st1380, login_as, clock) -> None:  # type: ignore[no-untyped-def]
    login_as("apprentice")
    attempt_id = _start(client, "timed")
    attempt = db.session.get(PracticeAttempt, attempt_id)
    data = _answers(attempt, right=True)
    token = csrf_token_from(client.get(f"/practice/papers/{attempt_id}").get_data(as_text=True))
    client.post(f"/practice/papers/{attempt_id}", data={"csrf_token": token, "action": "save", "q1": data["q1"]})
    clock.advance(dt.timedelta(minutes=40, seconds=61))  # past the deadline and the 60-second grace
    late = client.post(f"/practice/papers/{attempt_id}", data={"csrf_token": token, "action": "save", **data})
    assert late.headers["Location"].endswith("/feedback")
    db.session.refresh(attempt)
    assert attempt.responses == {"1": data["q1"]} and attempt.submitted_at is not None
    assert sum(a or 0 for a in attempt.awarded) == (1 if attempt.questions[0]["type"] == "mcq" else 0)
    # Time is up on a paper never submitted: opening it marks what was saved.
    other_id = _start(client, "timed")
    clock.advance(dt.timedelta(minutes=41, seconds=1))
    assert client.get(f"/practice/papers/{other_id}").headers["Location"].endswith(f"/practice/papers/{other_id}/feedback")
    assert db.session.get(PracticeAttempt, other_id).submitted_at is not None


def test_who_may_practise(app, client, st1380, make_user, login, clock) -> None:  # type: ignore[no-untyped-def]
    owner, learner = make_user("apprentice"), make_user("learner")
    attempt = practice.start(owner, st1380, timed=False, now=clock.now())
    db.session.commit()
    url = f"/practice/papers/{attempt.id}"
    assert client.get("/practice/").headers["Location"].startswith("/login")
    # A training provider's learner (no apprentice record) practises too, but another's paper does not exist for them.
    login(learner)
    assert client.get("/").headers["Location"].endswith("/practice/")
    assert client.get("/practice/").status_code == 200
    assert client.get(url).status_code == 404 and client.get(f"{url}/feedback").status_code == 404
    token = csrf_token_from(client.get("/practice/").get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token, "action": "submit"}).status_code == 404
    assert db.session.get(PracticeAttempt, attempt.id).submitted_at is None
    assert _start(client) != attempt.id
    for role in ("invigilator", "marker", "reviewer", "admin", "assessor"):
        other = app.test_client()
        login(make_user(role), test_client=other)
        assert other.get("/practice/").status_code == 403
        assert other.get(url).status_code == 403

"""The whole way: draw, sit, automatic MCQ marks, short answers marked, total, grade, sign-off, release,
and the apprentice sees the grade and downloads the letter.

Short answers are marked through the marking service (services/marking.py): two moderators, so the
standardisation gate is open to them; the total lands near a boundary, so the script is always
second-marked, and the second marks agree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Attempt, AttemptQuestion, Mark, MethodResult
from testengine.service_settings import marking_settings
from testengine.services import marking
from tests.conftest import csrf_token_from

# Answered short answers (22 of 26) get these marks in paper order: 16 x 2 + 5 x 1 + 1 x 0 = 37.
SHORT_ANSWER_MARKS = [2] * 16 + [1] * 5 + [0]
CORRECT_MCQS, WRONG_MCQS = 10, 2  # and two MCQs left blank
TOTAL = CORRECT_MCQS + sum(SHORT_ANSWER_MARKS)  # 47: a pass, within two marks of the pass line


def _sit(sitter) -> dict[int, int]:
    """Answer the paper; return the mark each answered short answer should get, by attempt question id."""
    questions = db.session.scalars(
        select(AttemptQuestion).where(AttemptQuestion.attempt_id == sitter.attempt_id).order_by(AttemptQuestion.position)
    ).all()
    mcqs = [aq for aq in questions if aq.version.type == "mcq"]
    short = [aq for aq in questions if aq.version.type == "short_answer"]
    assert (len(mcqs), len(short)) == (14, 26)
    for n, aq in enumerate(mcqs[: CORRECT_MCQS + WRONG_MCQS]):
        options = aq.version.content["options"]
        key = next(i for i, option in enumerate(options) if option["correct"])
        choice = key if n < CORRECT_MCQS else (key + 1) % len(options)
        assert sitter.save(aq.position, str(choice)).get_json()["status"] == "saved"
    intended = {}
    for aq, mark in zip(short, SHORT_ANSWER_MARKS):
        assert sitter.save(aq.position, f"My answer to question {aq.position}, with two techniques explained.").status_code == 200
        intended[aq.id] = mark
    return intended


def _mark_all(role: str, marker, attempt_id: int, intended: dict[int, int], clock) -> int:
    count = 0
    while (
        aq_id := marking.claim_next(marker, role, clock.now(), attempt_id=attempt_id, settings=marking_settings())
    ) is not None:
        clock.advance(dt.timedelta(seconds=40))
        marking.save_mark(
            aq_id, role, marker, mark=intended[aq_id], comment=f"{role} mark", now=clock.now(), settings=marking_settings()
        )
        db.session.commit()
        count += 1
    return count


def test_draw_sit_mark_grade_sign_off_release_and_the_letter(app, client, login, make_user, start_sitter, clock):
    sitter = start_sitter()
    intended = _sit(sitter)
    clock.advance(dt.timedelta(minutes=50))
    assert sitter.submit().status_code == 200

    # Submission marks the MCQs and the blank answers automatically; the short answers wait.
    attempt = db.session.get(Attempt, sitter.attempt_id)
    assert attempt.marking_state == "marking" and attempt.total_marks is None
    auto = db.session.scalars(select(Mark).where(Mark.attempt_id == attempt.id, Mark.role == "auto")).all()
    assert len(auto) == 14 + 4 and sum(m.mark for m in auto) == CORRECT_MCQS
    assert db.session.scalar(select(MethodResult).where(MethodResult.attempt_id == attempt.id)) is None

    first, second = make_user("marker", moderator=True), make_user("marker", moderator=True)
    assert _mark_all("first", first, attempt.id, intended, clock) == 22
    assert marking.decision_of(attempt.id).status == "selected"  # 47 is within two marks of the pass line
    assert _mark_all("second", second, attempt.id, intended, clock) == 22

    db.session.refresh(attempt)
    assert (attempt.marking_state, attempt.total_marks) == ("complete", TOTAL)
    result = db.session.scalar(select(MethodResult).where(MethodResult.attempt_id == attempt.id))
    assert (result.method_key, result.marks, result.grade, result.status) == ("knowledge_test", TOTAL, "pass", "provisional")

    # Not visible to the apprentice until an admin signs it off and releases it.
    assert "Pass" not in sitter.client.get("/apprentice/results").get_data(as_text=True)
    admin = make_user("admin")
    login(admin)
    page_url = f"/admin/results/apprentices/{attempt.apprentice_id}/ST0663"
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    assert (
        client.post(f"/admin/results/methods/{result.id}/sign_off", data={"csrf_token": token, "confirm": "y"}).status_code == 302
    )
    releaser = app.test_client()  # separation of duties: another administrator releases
    login(make_user("admin"), test_client=releaser)
    release_token = csrf_token_from(releaser.get(page_url).get_data(as_text=True))
    assert (
        releaser.post(
            f"/admin/results/methods/{result.id}/release", data={"csrf_token": release_token, "confirm": "y"}
        ).status_code
        == 302
    )
    db.session.refresh(result)
    assert (result.status, result.signed_off_by_id, result.released_at) == ("released", admin.id, clock.now())

    # The appeal pack: the paper redrawn from its seed matches, and every mark is there with its marker.
    pack = client.get(f"/admin/attempts/{attempt.id}/appeal-pack").get_data(as_text=True)
    assert "<strong>Matches</strong>" in pack
    assert pack.count("first mark") == 22 and pack.count("second mark") == 22
    assert first.display_name in pack and second.display_name in pack

    page = sitter.client.get("/apprentice/results").get_data(as_text=True)
    assert "Knowledge test" in page and f"Pass ({TOTAL} marks)" in page
    letter = sitter.client.get("/apprentice/results/ST0663/letter.pdf")
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF")
    assert letter.headers["Content-Disposition"].startswith("attachment;")

"""Issuing papers from the shipped bank: never a repeat for one apprentice, a clear refusal when it runs out."""

from __future__ import annotations

import json

from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Attempt
from tests.factories import second_admin


def _draw(app, uln: str, *extra: str):
    return app.test_cli_runner().invoke(args=["paper", "draw", "--standard", "ST0663", "--candidate", uln, "--json", *extra])


def _fail_and_release(attempt_id: int, admin, clock) -> None:
    """The attempt sat, marked 10 of 66 (a fail), its result released: what a re-sit follows."""
    from testengine.services import results

    attempt = db.session.get(Attempt, attempt_id)
    attempt.state, attempt.started_at, attempt.submitted_at = "submitted", clock.now(), clock.now()
    attempt.marking_state, attempt.total_marks = "complete", 10
    result = results.record_knowledge_test(attempt, now=clock.now(), actor=None)
    results.sign_off(result, now=clock.now(), actor=admin)
    results.release(result, now=clock.now(), actor=second_admin())
    db.session.commit()


def _agree(app, uln: str, *extra: str):
    return app.test_cli_runner().invoke(
        args=[
            "resit",
            "agree",
            "--candidate",
            uln,
            "--standard",
            "ST0663",
            "--method",
            "knowledge_test",
            "--employer-contact",
            "Sam Employer",
            *extra,
        ]
    )


def test_three_draws_give_120_distinct_questions_then_a_named_shortfall(app, st0663, make_user, clock):
    import datetime as dt

    from testengine.models import Apprentice

    admin = make_user("admin")
    seen: set[str] = set()
    for kind in ("first", "resit", "retake"):
        result = _draw(app, "1234567890", "--kind", kind)
        assert result.exit_code == 0, result.output
        paper = json.loads(result.output)
        assert paper["kind"] == kind
        ids = [q["id"] for q in paper["questions"]]
        assert len(ids) == 40 and len(set(ids)) == 40
        assert [q["type"] for q in paper["questions"]].count("mcq") == 14
        assert sum(q["marks"] for q in paper["questions"]) == 66
        assert not seen & set(ids)
        seen |= set(ids)
        for question in paper["questions"]:
            assert set(question) == {"id", "type", "marks", "ksb"}  # never a key or an answer
        if kind == "first":
            apprentice = db.session.scalar(select(Apprentice).where(Apprentice.uln == "1234567890"))
            apprentice.epa_period_ends = clock.now().date() + dt.timedelta(days=90)
        _fail_and_release(paper["attempt"], admin, clock)
        assert (
            _agree(
                app, "1234567890", *(["--further-learning", "A month of supervised practice"] if kind == "resit" else [])
            ).exit_code
            == 0
        )
        mismatch = _draw(app, "1234567890", "--kind", "first")
        assert mismatch.exit_code == 2 and "not a first" in mismatch.output
    assert len(seen) == 120
    attempts_before = db.session.scalar(select(db.func.count(Attempt.id)))
    # The bank (80 MCQ, 120 short answers) cannot give a fourth paper of unseen questions for every KSB... or it can;
    # keep drawing (each after a released fail and the employer's agreement) until it refuses, and check the
    # refusal names what ran out and changes nothing.
    for _ in range(5):
        result = _draw(app, "1234567890")
        if result.exit_code != 0:
            break
        _fail_and_release(json.loads(result.output)["attempt"], admin, clock)
        assert _agree(app, "1234567890").exit_code == 0
    assert result.exit_code == 2, result.output
    # e.g. "short_answer: 26 needed, 8 unseen available (18 short)" or "K17: no unseen item available (1 short)"
    assert "unseen" in result.output and "short)" in result.output, result.output
    assert db.session.scalar(select(db.func.count(Attempt.id))) <= attempts_before + 5


def test_draw_with_a_seed_is_recorded_and_reproduced(app, st0663):
    result = _draw(app, "2234567890", "--seed", "42")
    assert result.exit_code == 0, result.output
    paper = json.loads(result.output)
    assert paper["seed"] == 42
    shown = app.test_cli_runner().invoke(args=["paper", "show", str(paper["attempt"]), "--json"])
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert detail["reproduced"] is True
    assert [q["id"] for q in detail["questions"]] == [q["id"] for q in paper["questions"]]


def test_bad_candidate_is_refused_clearly(app, st0663):
    result = _draw(app, "12345")
    assert result.exit_code == 2 and "10 digits" in result.output
    result = app.test_cli_runner().invoke(args=["paper", "draw", "--standard", "ST9999", "--candidate", "1234567890"])
    assert result.exit_code == 2 and "ST9999" in result.output

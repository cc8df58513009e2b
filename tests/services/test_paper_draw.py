"""Issuing papers from the shipped bank: never a repeat for one apprentice, a clear refusal when it runs out."""

from __future__ import annotations

import json

from sqlalchemy import select

from testengine.extensions import db
from testengine.models import Attempt


def _draw(app, uln: str, *extra: str):
    return app.test_cli_runner().invoke(args=["paper", "draw", "--standard", "ST0663", "--candidate", uln, "--json", *extra])


def test_three_draws_give_120_distinct_questions_then_a_named_shortfall(app, st0663):
    seen: set[str] = set()
    for kind in ("first", "resit", "retake"):
        result = _draw(app, "1234567890", "--kind", kind)
        assert result.exit_code == 0, result.output
        paper = json.loads(result.output)
        ids = [q["id"] for q in paper["questions"]]
        assert len(ids) == 40 and len(set(ids)) == 40
        assert [q["type"] for q in paper["questions"]].count("mcq") == 14
        assert sum(q["marks"] for q in paper["questions"]) == 66
        assert not seen & set(ids)
        seen |= set(ids)
        for question in paper["questions"]:
            assert set(question) == {"id", "type", "marks", "ksb"}  # never a key or an answer
    assert len(seen) == 120
    attempts_before = db.session.scalar(select(db.func.count(Attempt.id)))
    # The bank (80 MCQ, 120 short answers) cannot give a fourth paper of unseen questions for every KSB... or it can;
    # keep drawing until it refuses, and check the refusal names what ran out and changes nothing.
    for _ in range(5):
        result = _draw(app, "1234567890")
        if result.exit_code != 0:
            break
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

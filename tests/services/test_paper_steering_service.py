"""Live draws steer each paper to the bank's difficulty target once items have statistics."""

from __future__ import annotations

import json
import random
from typing import Any

from sqlalchemy import select

from testengine.domain.papers import expected_score
from testengine.extensions import db
from testengine.models import Attempt
from testengine.services import paper_steering
from testengine.services.banks import eligible_rows, spec_of
from testengine.services.papers import _eligible_pool, reproduce_paper
from tests.review.conftest import Scripts, key_of, wrong_of

ON_PAPERS = ("mcq", "short_answer")


def _draw(app: Any, uln: str) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(args=["paper", "draw", "--standard", "ST0663", "--candidate", uln, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _mark_every_item(standard: Any, make_user: Any, clock: Any, *, every: int = 1, passes: int = 2) -> None:
    """Submitted, marked scripts of 40 questions covering every `every`-th drawable version `passes` times.

    Each version has its own level (its marks over the passes vary from 0 to full), so the
    facilities spread as a real bank's do.
    """
    rnd = random.Random(19)
    versions = [v for _q, v in eligible_rows(standard, clock.now().date()) if v.type in ON_PAPERS][::every]
    level = {v.id: rnd.random() for v in versions}
    scripts = Scripts(standard, make_user, clock.now())
    for _ in range(passes):
        rnd.shuffle(versions)
        for start in range(0, len(versions), 40):
            answers = []
            for v in versions[start : start + 40]:
                mark = min(v.marks, int(level[v.id] * (v.marks + 1) + rnd.random() * 0.6))
                if v.type == "mcq":
                    answers.append((v, str(key_of(v) if mark else wrong_of(v)), {"auto": mark}))
                else:
                    answers.append((v, "An answer", {"first": mark, "second": mark}))
            scripts.add(answers)


def _steer_from(standard: Any, responses: int) -> None:
    standard.spec = {**standard.spec, "quality": {"steer_min_responses": responses, "steer_tolerance_marks": 0.5}}
    db.session.commit()


def test_without_statistics_papers_are_drawn_as_before(app, st0663):
    paper = _draw(app, "3234567890")
    attempt = db.session.get(Attempt, paper["attempt"])
    assert "difficulty" not in attempt.draw_inputs
    assert reproduce_paper(attempt)[1] is True


def test_with_statistics_each_live_paper_is_steered_to_the_target_and_reproduced(app, st0663, make_user, clock):
    _mark_every_item(st0663, make_user, clock)
    _steer_from(st0663, 2)
    spec = spec_of(st0663)
    target = paper_steering.steering_for(st0663, spec, _eligible_pool(st0663, clock.now().date()))
    assert target is not None and len(target.facility) == 200  # every MCQ and short answer of the shipped bank
    for n in range(6):
        paper = _draw(app, f"42345678{n:02d}")
        attempt = db.session.get(Attempt, paper["attempt"])
        recorded = paper_steering.unpack(_pool_items(attempt), attempt.draw_inputs["difficulty"])
        assert recorded.mean_facility == target.mean_facility
        assert recorded.facility == target.facility
        drawn, same = reproduce_paper(attempt)
        assert same is True
        gap = expected_score(drawn, target.facility) - target.mean_facility * 66
        assert abs(gap) <= 0.5 + 1e-9, gap
        assert [q.marks for q in drawn.questions].count(1) == 14  # the blueprint holds
        assert {k for q in drawn.questions for k in q.ksb} >= set(spec.knowledge_test.blueprint.required_ksbs)


def test_the_steer_setting_decides_which_items_count(app, st0663, make_user, clock):
    """Every other item has statistics: only those steer; the rest are still drawn."""
    _mark_every_item(st0663, make_user, clock, every=2, passes=3)
    _steer_from(st0663, 3)
    snapshot = _eligible_pool(st0663, clock.now().date())
    target = paper_steering.steering_for(st0663, spec_of(st0663), snapshot)
    assert target is not None
    with_stats = set(target.facility)
    assert 0 < len(with_stats) < len(snapshot.items) * 0.6
    _steer_from(st0663, 4)  # more than any item has: nothing steers
    assert paper_steering.steering_for(st0663, spec_of(st0663), snapshot) is None
    _steer_from(st0663, 3)
    ids: set[str] = set()
    for n in range(5):
        ids |= {q["id"] for q in _draw(app, f"52345678{n:02d}")["questions"]}
    assert ids - with_stats, "items without statistics are still drawn"


def test_bank_report_shows_the_spread_with_and_without_steering(app, st0663, make_user, clock):
    plain = json.loads(app.test_cli_runner().invoke(args=["bank", "report", "--standard", "ST0663", "--json"]).output)
    assert plain["parallel_papers"]["items_with_statistics"] == 0
    assert "without_steering" not in plain["parallel_papers"]
    _mark_every_item(st0663, make_user, clock)
    _steer_from(st0663, 2)
    report = json.loads(app.test_cli_runner().invoke(args=["bank", "report", "--standard", "ST0663", "--json"]).output)
    parallel = report["parallel_papers"]
    without, steered = parallel["without_steering"], parallel["with_steering"]
    assert without["draws"] == steered["draws"] == 1000
    assert steered["sd"] < without["sd"] / 3
    assert steered["within_one_mark"] >= 0.95 > without["within_one_mark"]
    text = app.test_cli_runner().invoke(args=["bank", "report", "--standard", "ST0663"]).output
    assert "1000 simulated papers without steering" in text and "1000 simulated papers with steering" in text


def _pool_items(attempt: Attempt) -> list[Any]:
    from testengine.models import DrawPool
    from testengine.services.papers import _items_from_rows

    return _items_from_rows(db.session.scalar(select(DrawPool).where(DrawPool.key == attempt.draw_inputs["pool"])).items)

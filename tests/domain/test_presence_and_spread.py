"""Two small rules measured exactly: the board's online/offline from a heartbeat, and the spread of
simulated papers (recomputed here draw by draw, independently of the function under test)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from testengine.domain.paper_spread import Spread, simulate_spread
from testengine.domain.papers import DifficultyTarget, ExposureCounts, ItemPool, draw_paper
from testengine.domain.presence import HEARTBEAT_EVERY, OFFLINE_AFTER, Connection, connection
from tests.domain.test_paper_steering import BLUEPRINT, FACILITY, ITEMS, PAPER_MARKS

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)


def test_a_page_is_online_for_forty_seconds_after_its_last_heartbeat_then_offline():
    assert (dt.timedelta(seconds=15), dt.timedelta(seconds=40)) == (HEARTBEAT_EVERY, OFFLINE_AFTER)
    assert connection(None, NOW) is Connection.UNKNOWN
    assert connection(NOW, NOW) is Connection.ONLINE
    assert connection(NOW - dt.timedelta(seconds=40), NOW) is Connection.ONLINE
    assert connection(NOW - dt.timedelta(seconds=40, microseconds=1), NOW) is Connection.OFFLINE
    assert connection(NOW + dt.timedelta(minutes=5), NOW) is Connection.ONLINE  # a clock step back: still recent
    assert [c.value for c in Connection] == ["unknown", "online", "offline"]


def _independent_spread(target: DifficultyTarget, *, steer: bool, draws: int, first_seed: int) -> tuple[list[float], list[float]]:
    pool = ItemPool(ITEMS)
    exposure = ExposureCounts(pool)
    scores, gaps = [], []
    for k in range(draws):
        paper = draw_paper(pool, BLUEPRINT, seed=first_seed + k, exposure=exposure, difficulty_target=target if steer else None)
        exposure.record(paper)
        known = [(q.marks, target.facility[q.item_id]) for q in paper.questions if q.item_id in target.facility]
        score = sum(m * f for m, f in known)
        scores.append(score)
        gaps.append(abs(score - target.mean_facility * sum(m for m, _ in known)))
    return scores, gaps


@pytest.mark.parametrize("steer", [False, True])
def test_the_spread_is_each_drawn_papers_expected_score_measured_against_the_target(steer):
    # Half the items have a facility: a paper's target counts only the marks of the questions that do.
    facility = {item_id: f for n, (item_id, f) in enumerate(sorted(FACILITY.items())) if n % 2 == 0}
    target = DifficultyTarget(0.6, facility, tolerance=0.5 / PAPER_MARKS)
    spread = simulate_spread(ITEMS, BLUEPRINT, target, steer=steer, draws=25, first_seed=3)
    scores, gaps = _independent_spread(target, steer=steer, draws=25, first_seed=3)
    assert spread.draws == 25
    assert spread.target == pytest.approx(0.6 * PAPER_MARKS)
    assert spread.mean == pytest.approx(np.mean(scores))
    assert spread.sd == pytest.approx(np.std(scores, ddof=1))
    assert (spread.lowest, spread.highest) == (pytest.approx(min(scores)), pytest.approx(max(scores)))
    assert spread.within_one_mark == pytest.approx(np.mean(np.array(gaps) <= 1.0))
    assert spread.largest_gap == pytest.approx(max(gaps))
    assert 0 < spread.within_one_mark < 1 or steer  # unsteered, some papers fall outside a mark of the target


def test_the_first_seed_is_zero_unless_given_and_one_draw_has_no_spread():
    target = DifficultyTarget(0.6, FACILITY, tolerance=0.5 / PAPER_MARKS)
    assert simulate_spread(ITEMS, BLUEPRINT, target, steer=False, draws=5) == simulate_spread(
        ItemPool(ITEMS), BLUEPRINT, target, steer=False, draws=5, first_seed=0
    )
    assert simulate_spread(ITEMS, BLUEPRINT, target, steer=False, draws=5, first_seed=1) != simulate_spread(
        ITEMS, BLUEPRINT, target, steer=False, draws=5, first_seed=0
    )
    one = simulate_spread(ITEMS, BLUEPRINT, target, steer=False, draws=1)
    assert one.sd == 0.0 and one.lowest == one.highest == one.mean
    assert simulate_spread(ITEMS, BLUEPRINT, target, steer=False).draws == 1_000
    with pytest.raises(ValueError, match="^draws must be at least 1, not 0$"):
        simulate_spread(ITEMS, BLUEPRINT, target, steer=False, draws=0)


def test_the_report_rounds_marks_to_three_places_and_the_share_to_four():
    spread = Spread(
        draws=2,
        target=1.23456,
        mean=2.34567,
        sd=0.123456,
        lowest=1.11111,
        highest=3.33333,
        within_one_mark=0.123456,
        largest_gap=0.98765,
    )
    assert spread.as_dict() == {
        "draws": 2,
        "target": 1.235,
        "mean": 2.346,
        "sd": 0.123,
        "lowest": 1.111,
        "highest": 3.333,
        "within_one_mark": 0.1235,
        "largest_gap": 0.988,
    }

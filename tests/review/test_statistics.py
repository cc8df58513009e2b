"""Statistics through services.statistics on a small example in the database, checked against numbers worked by hand.

Four fully marked scripts on three questions (two MCQs worth 1, one short answer worth 2), in two
sittings, plus one script still waiting for a moderator and one attempt not yet submitted:

            M1  M2  S1   total   sitting
    A        1   1   2     4       1
    B        1   0   1     2       1      S1: first 1, second 2, moderator 1 -> 1
    C        0   1   1     2       2      S1: first 2, then a re-mark of 1 -> 1
    D        0   0   0     0       2      all blank (automatic zeros)
    E        -   -   -     -       2      S1: first 1, second 2, no moderator yet -> left out
    F        (in progress: issued, never counted)

Worked by hand:
- facility 2/4, 2/4, 4/8 = 0.5 each.
- corrected item-total r: M1 against rest (3, 1, 2, 0) = 1/sqrt(5) = 0.4472; M2 likewise;
  S1 against rest (2, 1, 1, 0) = 1 exactly (rest is S1 halved).
- upper-lower (27% of 4 scripts = 1 each: A on top, D at the bottom): 1 - 0 = 1 for all three.
- item variances (n-1) 1/3, 1/3, 2/3; total variance 8/3; alpha = 3/2 (1 - (4/3)/(8/3)) = 0.75;
  SEM = sqrt(8/3) * sqrt(0.25) = 0.8165. Each sitting alone (A, B and C, D) also gives 0.75.
- M1 options: A and B chose the key, C a distractor, D left it blank -> key 50%, that distractor
  25%, blank 25%, the two other options 0% (so they are "unused").
- S1 marker agreement: pairs (2, 2) A, (1, 2) B, (1, 2) E -> 1 of 3 agree.
"""

from __future__ import annotations

import json
import math

import pytest

from testengine.services.statistics import bank_statistics
from tests.review.conftest import key_of, version_of, wrong_of

M1, M2, S1 = "ST0663-K10-MCQ-001", "ST0663-K10-MCQ-002", "ST0663-K10-SA-001"


@pytest.fixture
def example(st0663, scripts, sittings):
    m1, m2, s1 = (version_of(st0663, q) for q in (M1, M2, S1))
    k1, k2 = str(key_of(m1)), str(key_of(m2))
    w1, w2 = str(wrong_of(m1)), str(wrong_of(m2, 1))
    one, two = sittings
    scripts.add(
        [
            (m1, k1, {"auto": 1}),
            (m2, k2, {"auto": 1}),
            (s1, "A full answer", {"first": 2, "second": 2}),
        ],
        sitting=one,
    )
    scripts.add(
        [
            (m1, k1, {"auto": 1}),
            (m2, w2, {"auto": 0}),
            (s1, "Half an answer", {"first": 1, "second": 2, "moderator": 1}),
        ],
        sitting=one,
    )
    scripts.add(
        [
            (m1, w1, {"auto": 0}),
            (m2, k2, {"auto": 1}),
            (s1, "Some of it", {"first": 2, "remark": 1}),
        ],
        sitting=two,
    )
    scripts.add([(m1, None, {"auto": 0}), (m2, None, {"auto": 0}), (s1, None, {"auto": 0})], sitting=two)
    scripts.add(
        [(m1, k1, {"auto": 1}), (m2, k2, {"auto": 1}), (s1, "Disputed", {"first": 1, "second": 2})],
        sitting=two,
    )
    scripts.add([(m1, k1, {}), (m2, k2, {}), (s1, "Still writing", {})], sitting=two, state="in_progress")
    return {"m1": m1, "m2": m2, "s1": s1, "sittings": sittings, "w1": int(w1), "k1": int(k1)}


def test_statistics_agree_with_the_hand_worked_example(st0663, example):
    stats = bank_statistics(st0663)
    assert stats.scripts == 4 and stats.awaiting_marking == 1
    items = {item.info.external_id: item for item in stats.items}
    assert set(items) == {M1, M2, S1}
    m1, m2, s1 = items[M1], items[M2], items[S1]
    assert [m1.n, m2.n, s1.n] == [4, 4, 4]
    assert m1.facility == pytest.approx(0.5) and m2.facility == pytest.approx(0.5) and s1.facility == pytest.approx(0.5)
    assert m1.discrimination == pytest.approx(1 / math.sqrt(5)) and m2.discrimination == pytest.approx(1 / math.sqrt(5))
    assert s1.discrimination == pytest.approx(1.0)
    assert [m1.upper_lower, m2.upper_lower, s1.upper_lower] == pytest.approx([1.0, 1.0, 1.0])
    assert s1.mark_distribution == [1, 2, 1] and m1.mark_distribution == [2, 2]
    # Wilson interval for 2 of 4 marks: centre 0.5, half-width z/(1+z^2/4) * sqrt(1/16 + z^2/64).
    z = 1.959963984540054
    half = z / (1 + z * z / 4) * math.sqrt(0.25 / 4 + z * z / 64)
    assert m1.facility_ci == pytest.approx((0.5 - half, 0.5 + half))
    # Exposure: issued to A-F (six attempt rows); ItemExposure counts the same six issues.
    assert m1.issued == 6 and m1.exposure == 6
    # Marker agreement over every double-marked answer, the one awaiting a moderator included.
    assert s1.double_marked == 3 and s1.marker_agreement == pytest.approx(1 / 3)
    assert m1.double_marked == 0 and math.isnan(m1.marker_agreement)


def test_distractor_shares_use_the_original_option_index(st0663, example):
    item = bank_statistics(st0663).by_version()[example["m1"].id]
    overall = item.option_shares["overall"]
    assert item.option_n == 4 and len(overall) == 5  # four options and "blank"
    assert overall[example["k1"]] == pytest.approx(0.5)
    assert overall[example["w1"]] == pytest.approx(0.25)
    assert overall[4] == pytest.approx(0.25)
    others = [i for i in range(4) if i not in (example["k1"], example["w1"])]
    assert [overall[i] for i in others] == [0.0, 0.0]
    assert item.option_shares["upper"][example["k1"]] == pytest.approx(1.0)  # A, the top script
    assert item.option_shares["lower"][4] == pytest.approx(1.0)  # D, the bottom script, left it blank


def test_reliability_sem_and_score_distribution_per_sitting(st0663, example):
    stats = bank_statistics(st0663)
    assert stats.overall is not None
    assert stats.overall.scripts == 4 and stats.overall.method == "alpha"
    assert stats.overall.coefficient == pytest.approx(0.75)
    assert stats.overall.sem == pytest.approx(math.sqrt(8 / 3) * 0.5)
    assert stats.overall.mean == pytest.approx(2.0)
    assert len(stats.overall.distribution) == 67  # totals 0..66
    assert stats.overall.distribution[0] == 1 and stats.overall.distribution[2] == 2 and stats.overall.distribution[4] == 1
    one, two = example["sittings"]
    by_sitting = {group.sitting_id: group for group in stats.sittings}
    assert set(by_sitting) == {one.id, two.id}
    assert by_sitting[one.id].scripts == 2 and by_sitting[two.id].scripts == 2  # E is still being marked
    assert by_sitting[one.id].coefficient == pytest.approx(0.75) and by_sitting[two.id].coefficient == pytest.approx(0.75)
    assert by_sitting[one.id].distribution[4] == 1 and by_sitting[one.id].distribution[2] == 1
    assert "Morning sitting" in by_sitting[one.id].label
    assert stats.boundaries == [("fail", 0, 45), ("pass", 46, 52), ("distinction", 53, 66)]


def test_flags_wait_for_enough_responses(st0663, example):
    assert all(item.flags == [] for item in bank_statistics(st0663).items)  # 4 responses < 30
    flagged = {item.info.external_id: item.flags for item in bank_statistics(st0663, min_responses=4).items}
    assert flagged[M1] == ["unused_distractor"]  # two wrong options nobody chose
    assert "weak_marker_agreement" in flagged[S1]  # 1 of 3 double marks agree


def test_no_responses_gives_empty_statistics(st0663):
    stats = bank_statistics(st0663)
    assert stats.items == [] and stats.scripts == 0 and stats.overall is None and stats.sittings == []


def test_cli_bank_stats_json(app, st0663, example):
    result = app.test_cli_runner().invoke(args=["bank", "stats", "--standard", "ST0663", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["standard"] == "ST0663" and data["scripts"] == 4 and data["awaiting_marking"] == 1
    by_id = {item["question"]: item for item in data["items"]}
    assert by_id[M1]["facility"] == 0.5 and by_id[S1]["discrimination"] == 1.0
    assert by_id[M1]["options"]["n"] == 4 and "options" not in by_id[S1]
    assert by_id[M1]["marker_agreement"] is None  # NaN is null in JSON
    assert data["overall"]["reliability"] == 0.75 and len(data["sittings"]) == 2
    text = app.test_cli_runner().invoke(args=["bank", "stats", "--standard", "ST0663"])
    assert text.exit_code == 0 and f"{M1} v1: n 4, facility 0.50" in text.output
    missing = app.test_cli_runner().invoke(args=["bank", "stats", "--standard", "ST9999"])
    assert missing.exit_code == 2 and "ST9999" in missing.output


def test_cli_bank_stats_runs_on_the_shipped_bank_without_responses(app, st0663):
    result = app.test_cli_runner().invoke(args=["bank", "stats", "--standard", "ST0663", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["items"] == []


def test_scripts_still_being_marked_count_only_towards_marker_agreement(st0663, scripts):
    s1 = version_of(st0663, S1)
    scripts.add([(s1, "Disputed", {"first": 0, "second": 2})])
    stats = bank_statistics(st0663)
    assert stats.scripts == 0 and stats.awaiting_marking == 1 and stats.overall is None
    (item,) = stats.items
    assert item.n == 0 and math.isnan(item.facility) and item.mark_distribution == [0, 0, 0]
    assert item.double_marked == 1 and item.marker_agreement == 0.0

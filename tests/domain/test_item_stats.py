"""Item statistics: a hand-worked example, the LSAT-7 data, and plain-Python references."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from testengine.domain.errors import DomainError, OutOfRange
from testengine.domain.item_stats import (
    Distractors,
    ItemStats,
    Responses,
    cronbach_alpha,
    distractors,
    flag_items,
    item_statistics,
    kr20,
    position_matrix,
    score_distribution,
    script_totals,
    sem,
    wilson_interval,
)

DATA = Path(__file__).parent / "data"

# ---------------------------------------------------------------------------------------------
# The hand-worked example: 6 scripts x 4 items; items 0-2 are 1-mark MCQs, item 3 a 2-mark SAQ.
#
#   script  i0 i1 i2 i3 | total
#     s0     1  1  1  2  |   5
#     s1     1  1  0  2  |   4
#     s2     1  0  1  1  |   3
#     s3     0  1  0  1  |   2
#     s4     1  0  0  0  |   1
#     s5     0  0  0  0  |   0
# ---------------------------------------------------------------------------------------------
HAND = np.array(
    [[1, 1, 1, 2], [1, 1, 0, 2], [1, 0, 1, 1], [0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]],
    dtype=float,
)
HAND_MAX = np.array([1.0, 1.0, 1.0, 2.0])
# MCQ item 0 has key 2: s3 chose option 0, s5 left it blank; items 1-3 carry no choices here.
HAND_CHOICE_I0 = np.array([2, 2, 2, 0, 2, -1])


def long_form(matrix: np.ndarray, max_marks: np.ndarray, *, seed: int = 0) -> Responses:
    """A complete matrix as shuffled long-format rows (statistics must not depend on order)."""
    n_scripts, n_items = matrix.shape
    script = np.repeat(np.arange(n_scripts), n_items).astype(np.int32)
    item = np.tile(np.arange(n_items), n_scripts).astype(np.int32)
    order = np.random.default_rng(seed).permutation(script.size)
    return Responses(
        script=script[order],
        item=item[order],
        score=matrix.ravel()[order],
        max_marks=max_marks[item][order],
        position=item[order],
    )


def hand_responses() -> Responses:
    r = long_form(HAND, HAND_MAX)
    choice = np.where(r.item == 0, HAND_CHOICE_I0[r.script], -2).astype(np.int8)
    return Responses(r.script, r.item, r.score, r.max_marks, choice, r.position)


def test_hand_facility() -> None:
    # i0: 4 of 6 marks = 2/3;  i1: 3/6 = 1/2;  i2: 2/6 = 1/3;  i3: (2+2+1+1+0+0)/(6*2) = 6/12 = 1/2
    s = item_statistics(hand_responses(), 4)
    assert s.n.tolist() == [6, 6, 6, 6]
    np.testing.assert_allclose(s.facility, [2 / 3, 1 / 2, 1 / 3, 1 / 2], rtol=0, atol=1e-15)


def test_hand_facility_interval() -> None:
    # Item 1: p = 3/6 = 0.5 with 6 trials, z = 1.959964, z^2 = 3.841459.
    #   centre = (p + z^2/(2*6)) / (1 + z^2/6) = (0.5 + 0.320122) / 1.640243 = 0.5
    #   half   = z / (1 + z^2/6) * sqrt(p(1-p)/6 + z^2/(4*36))
    #          = 1.194921 * sqrt(0.041667 + 0.026677) = 1.194921 * 0.261426 = 0.312383
    # Item 3: 6 of 12 marks, so 12 trials: the interval is narrower around the same 0.5.
    s = item_statistics(hand_responses(), 4)
    np.testing.assert_allclose(s.facility_ci[1], [0.5 - 0.312383, 0.5 + 0.312383], atol=1e-6)
    assert s.facility_ci[3, 1] - s.facility_ci[3, 0] < s.facility_ci[1, 1] - s.facility_ci[1, 0]


def test_wilson_interval_known_values() -> None:
    # 0 of 10: lower 0, upper z^2/(n + z^2) = 3.841459/13.841459 = 0.277533 (a Wald interval
    # would be [0, 0]); 10 of 10 mirrors it. 0 trials: undefined.
    ci = wilson_interval(np.array([0.0, 10.0, 0.0]), np.array([10.0, 10.0, 0.0]))
    np.testing.assert_allclose(ci[0], [0.0, 0.277533], atol=1e-6)
    np.testing.assert_allclose(ci[1], [1 - 0.277533, 1.0], atol=1e-6)
    assert np.isnan(ci[2]).all()


def test_hand_corrected_item_total_correlation() -> None:
    # r = Sxy / sqrt(Sxx * Syy), x = item score, y = total - item score, over the 6 scripts.
    # i0: x = 1 1 1 0 1 0 (mean 2/3), y = 4 3 2 2 0 0 (mean 11/6)
    #     Sxy = sum(xy) - n*mx*my = 9 - 6*(2/3)*(11/6) = 9 - 22/3 = 5/3
    #     Sxx = 4 - 6*(4/9) = 4/3;   Syy = 33 - 6*(121/36) = 77/6
    #     r = (5/3) / sqrt(4/3 * 77/6) = (5/3) / sqrt(154/9) = 5/sqrt(154) = 0.402911
    # i1: x = 1 1 0 1 0 0 (1/2), y = 4 3 3 1 1 0 (2): Sxy = 8 - 6 = 2, Sxx = 3/2, Syy = 36 - 24 = 12
    #     r = 2 / sqrt(18) = sqrt(2)/3 = 0.471405
    # i2: x = 1 0 1 0 0 0 (1/3), y = 4 4 2 2 1 0 (13/6): Sxy = 6 - 13/3 = 5/3, Sxx = 4/3,
    #     Syy = 41 - 169/6 = 77/6, so r = 5/sqrt(154) again
    # i3: x = 2 2 1 1 0 0 (1), y = 3 2 2 1 1 0 (3/2): Sxy = 13 - 9 = 4, Sxx = 10 - 6 = 4,
    #     Syy = 19 - 27/2 = 11/2;  r = 4 / sqrt(22) = 0.852803
    s = item_statistics(hand_responses(), 4)
    expected = [5 / math.sqrt(154), math.sqrt(2) / 3, 5 / math.sqrt(154), 4 / math.sqrt(22)]
    np.testing.assert_allclose(s.discrimination, expected, rtol=1e-12)


def test_hand_upper_lower_index() -> None:
    # Groups: round(0.27 * 6) = round(1.62) = 2 scripts each. Top: s0, s1 (totals 5, 4);
    # bottom: s4, s5 (1, 0).
    # i0: top 2/2 = 1,   bottom 1/2 = 0.5  -> 0.5
    # i1: top 2/2 = 1,   bottom 0/2 = 0    -> 1.0
    # i2: top 1/2 = 0.5, bottom 0/2 = 0    -> 0.5
    # i3: top 4/4 = 1,   bottom 0/4 = 0    -> 1.0
    s = item_statistics(hand_responses(), 4)
    np.testing.assert_allclose(s.upper_lower, [0.5, 1.0, 0.5, 1.0], atol=1e-15)


def test_hand_mark_distribution() -> None:
    # columns are marks 0, 1, 2; 1-mark items never reach 2
    s = item_statistics(hand_responses(), 4)
    assert s.mark_distribution.tolist() == [[2, 4, 0], [3, 3, 0], [4, 2, 0], [2, 2, 2]]


def test_hand_alpha_and_sem() -> None:
    # Population variances (the n or n-1 cancels in the ratio):
    #   items: i0 (2/3)(1/3) = 2/9, i1 1/4, i2 2/9, i3 values 2 2 1 1 0 0 mean 1 -> 4/6 = 2/3
    #   sum = 8/36 + 9/36 + 8/36 + 24/36 = 49/36
    #   totals 5 4 3 2 1 0: mean 2.5, variance 17.5/6 = 35/12
    #   alpha = 4/3 * (1 - (49/36)/(35/12)) = 4/3 * (1 - 7/15) = 4/3 * 8/15 = 32/45 = 0.711111
    # SEM = sample SD * sqrt(1 - alpha) = sqrt(17.5/5) * sqrt(13/45) = sqrt(3.5 * 13/45)
    #     = sqrt(91/90) = 1.005540
    alpha = cronbach_alpha(HAND)
    assert alpha == pytest.approx(32 / 45, abs=1e-12)
    totals = script_totals(hand_responses())
    assert totals.tolist() == [5, 4, 3, 2, 1, 0]
    assert sem(totals, alpha) == pytest.approx(math.sqrt(91 / 90), abs=1e-12)
    assert score_distribution(totals, 6).tolist() == [1, 1, 1, 1, 1, 1, 0]


def test_hand_position_matrix_rebuilds_the_matrix() -> None:
    # Here position = item, so the position matrix is the score matrix and alpha matches.
    m = position_matrix(hand_responses(), 4)
    np.testing.assert_array_equal(m, HAND)
    assert cronbach_alpha(m) == pytest.approx(32 / 45, abs=1e-12)


def test_position_matrix_marks_unanswered_positions_nan() -> None:
    r = Responses(
        script=np.array([0, 0, 1]),
        item=np.array([7, 3, 9]),
        score=np.array([1.0, 2.0, 0.0]),
        max_marks=np.array([1.0, 2.0, 2.0]),
        position=np.array([1, 0, 1]),
    )
    m = position_matrix(r, 2)
    assert m[0].tolist() == [2.0, 1.0]
    assert math.isnan(m[1, 0]) and m[1, 1] == 0.0
    with pytest.raises(DomainError):
        position_matrix(r, 2, position=np.array([0, 0, 1]))  # two answers at one position
    with pytest.raises(OutOfRange):
        position_matrix(r, 1)


def test_hand_distractors() -> None:
    # Item 0 (key 2): overall option 0 1/6, option 2 4/6, blank 1/6, options 1 and 3 unused.
    # Top (s0, s1) all chose 2; bottom s4 chose 2, s5 left it blank.
    d = distractors(hand_responses(), 4)
    assert d.key.tolist() == [2, -1, -1, -1]
    assert d.n.tolist() == [6, 0, 0, 0]
    np.testing.assert_allclose(d.overall[0], [1 / 6, 0, 4 / 6, 0, 1 / 6])
    np.testing.assert_allclose(d.upper[0], [0, 0, 1, 0, 0])
    np.testing.assert_allclose(d.lower[0], [0, 0, 0.5, 0, 0.5])
    assert np.isnan(d.overall[1:]).all()


# ---------------------------------------------------------------------------------------------
# LSAT-7 (Bock & Lieberman 1970): 1,000 examinees, 5 items, 32 patterns with frequencies.
# ---------------------------------------------------------------------------------------------
def lsat7_matrix() -> np.ndarray:
    with open(DATA / "lsat7.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    patterns = np.array([[int(row[f"item{j}"]) for j in range(1, 6)] for row in rows])
    freq = np.array([int(row["freq"]) for row in rows])
    assert len(rows) == 32 and freq.sum() == 1000
    return np.repeat(patterns, freq, axis=0).astype(float)


def test_lsat7_published_proportions_correct() -> None:
    m = lsat7_matrix()
    s = item_statistics(long_form(m, np.ones(5)), 5)
    np.testing.assert_allclose(s.facility, [0.828, 0.658, 0.772, 0.606, 0.843], atol=1e-12)
    assert s.n.tolist() == [1000] * 5
    assert np.all(s.discrimination > 0) and np.all(s.upper_lower > 0)


def test_lsat7_reliability_agrees_with_references() -> None:
    m = lsat7_matrix()
    alpha = cronbach_alpha(m)
    assert alpha == pytest.approx(reference_alpha(m.astype(int).tolist()), abs=1e-9)
    assert kr20(m) == pytest.approx(alpha, abs=1e-12)
    s = item_statistics(long_form(m, np.ones(5)), 5)
    ref = reference_item_stats(long_form(m, np.ones(5)), 5, 0.27)
    np.testing.assert_allclose(s.discrimination, ref["discrimination"], atol=1e-9)


# ---------------------------------------------------------------------------------------------
# Plain-Python references: the textbook formulas with loops, nothing clever.
# ---------------------------------------------------------------------------------------------
def reference_alpha(rows: list[list[int]]) -> float:
    n, k = len(rows), len(rows[0])

    def variance(values: list[float]) -> float:
        mean = sum(values) / len(values)
        return sum((v - mean) ** 2 for v in values) / (len(values) - 1)

    item_vars = sum(variance([rows[s][j] for s in range(n)]) for j in range(k))
    total_var = variance([sum(row) for row in rows])
    if total_var == 0:
        return math.nan
    return k / (k - 1) * (1 - item_vars / total_var)


def reference_item_stats(r: Responses, n_items: int, fraction: float) -> dict[str, list[float]]:
    rows = list(zip(r.script.tolist(), r.item.tolist(), r.score.tolist(), r.max_marks.tolist()))
    totals: dict[int, float] = {}
    for s, _, x, _ in rows:
        totals[s] = totals.get(s, 0.0) + x
    ordered = sorted(totals.values())
    k = max(1, math.floor(fraction * len(ordered) + 0.5))
    lo_cut, hi_cut = ordered[k - 1], ordered[len(ordered) - k]
    out: dict[str, list[float]] = {"facility": [], "discrimination": [], "upper_lower": []}
    for j in range(n_items):
        mine = [(s, x, mx) for s, i, x, mx in rows if i == j]
        got = sum(x for _, x, _ in mine)
        avail = sum(mx for _, _, mx in mine)
        out["facility"].append(got / avail if avail else math.nan)
        xs = [x for _, x, _ in mine]
        ys = [totals[s] - x for s, x, _ in mine]
        r_val = math.nan
        if len(xs) >= 2:
            mx_, my_ = sum(xs) / len(xs), sum(ys) / len(ys)
            sxy = sum((a - mx_) * (b - my_) for a, b in zip(xs, ys))
            sxx = sum((a - mx_) ** 2 for a in xs)
            syy = sum((b - my_) ** 2 for b in ys)
            if sxx > 0 and syy > 0:
                r_val = sxy / math.sqrt(sxx * syy)
        out["discrimination"].append(r_val)
        ul = math.nan
        if hi_cut > lo_cut:
            up = [(x, mx) for s, x, mx in mine if totals[s] >= hi_cut]
            low = [(x, mx) for s, x, mx in mine if totals[s] <= lo_cut]
            if up and low:
                ul = sum(x for x, _ in up) / sum(m for _, m in up) - sum(x for x, _ in low) / sum(m for _, m in low)
        out["upper_lower"].append(ul)
    return out


def random_long(seed: int, n_scripts: int = 60, n_items: int = 25, per_script: int = 8) -> Responses:
    """Random papers: each script draws `per_script` of the bank; items 0-9 MCQ, the rest 2-mark."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=n_scripts)
    script, item = [], []
    for s in range(n_scripts):
        drawn = rng.choice(n_items, size=per_script, replace=False)
        script.extend([s] * per_script)
        item.extend(drawn.tolist())
    script_a, item_a = np.array(script), np.array(item)
    max_marks = np.where(item_a < 10, 1.0, 2.0)
    p = 1 / (1 + np.exp(-(ability[script_a] - rng.normal(size=n_items)[item_a])))
    score = rng.binomial(max_marks.astype(int), p).astype(float)
    key = rng.integers(0, 4, size=n_items)
    wrong = (key[item_a] + rng.integers(1, 4, size=item_a.size)) % 4
    choice = np.where(score == 1, key[item_a], wrong)
    choice = np.where(rng.random(item_a.size) < 0.05, -1, choice)
    choice = np.where(item_a < 10, choice, -2)
    score = np.where(choice == -1, 0.0, score)
    return Responses(script_a.astype(np.int32), item_a.astype(np.int32), score, max_marks, choice.astype(np.int8))


@pytest.mark.parametrize("seed", range(5))
def test_item_statistics_match_plain_python(seed: int) -> None:
    r = random_long(seed)
    s = item_statistics(r, 25)
    ref = reference_item_stats(r, 25, 0.27)
    for name in ("facility", "discrimination", "upper_lower"):
        np.testing.assert_allclose(getattr(s, name), ref[name], atol=1e-9, equal_nan=True)
    expected = np.zeros((25, 3), dtype=int)
    for i, x in zip(r.item.tolist(), r.score.tolist()):
        expected[i, int(x)] += 1
    np.testing.assert_array_equal(s.mark_distribution, expected)


@pytest.mark.parametrize("seed", range(3))
def test_distractors_match_plain_python(seed: int) -> None:
    r = random_long(seed)
    assert r.choice is not None
    d = distractors(r, 25)
    for j in range(25):
        chosen = [c for i, c in zip(r.item.tolist(), r.choice.tolist()) if i == j and c >= -1]
        if not chosen:
            assert d.n[j] == 0 and np.isnan(d.overall[j]).all()
            continue
        shares = [chosen.count(o) / len(chosen) for o in (0, 1, 2, 3, -1)]
        np.testing.assert_allclose(d.overall[j], shares, atol=1e-12)
        right = [c for i, c, x in zip(r.item.tolist(), r.choice.tolist(), r.score.tolist()) if i == j and x == 1]
        assert d.key[j] == (max(set(right), key=right.count) if right else -1)


def test_item_not_drawn_is_nan_and_unseen_scripts_do_not_count() -> None:
    r = random_long(7, n_items=30)
    keep = r.item != 29  # nobody drew item 29
    r = Responses(r.script[keep], r.item[keep], r.score[keep], r.max_marks[keep])
    s = item_statistics(r, 30)
    assert s.n[29] == 0
    assert np.isnan(s.facility[29]) and np.isnan(s.discrimination[29])
    assert np.isnan(s.upper_lower[29]) and np.isnan(s.facility_ci[29]).all()
    assert s.mark_distribution[29].sum() == 0


def test_constant_item_has_undefined_discrimination() -> None:
    m = HAND.copy()
    m[:, 1] = 1.0  # everyone right on item 1
    s = item_statistics(long_form(m, HAND_MAX), 4)
    assert math.isnan(s.discrimination[1])
    assert s.upper_lower[1] == 0.0


def test_all_totals_equal_leaves_groups_undefined() -> None:
    m = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    s = item_statistics(long_form(m, np.ones(2)), 2)
    assert np.isnan(s.upper_lower).all()
    assert math.isnan(cronbach_alpha(m))


# ---------------------------------------------------------------------------------------------
# Alpha and KR-20 against the reference on random data
# ---------------------------------------------------------------------------------------------
matrices = hnp.arrays(
    np.int64,
    st.tuples(st.integers(2, 12), st.integers(2, 7)),
    elements=st.integers(0, 2),
)


@settings(max_examples=200, deadline=None)
@given(matrices)
def test_alpha_matches_textbook_formula(m: np.ndarray) -> None:
    expected = reference_alpha(m.tolist())
    got = cronbach_alpha(m)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.int64, st.tuples(st.integers(2, 12), st.integers(2, 7)), elements=st.integers(0, 1)))
def test_kr20_equals_alpha_on_binary_data(m: np.ndarray) -> None:
    a, k = cronbach_alpha(m), kr20(m)
    assert (math.isnan(a) and math.isnan(k)) or k == pytest.approx(a, abs=1e-9)


def test_alpha_on_seeded_larger_data() -> None:
    rng = np.random.default_rng(42)
    ability = rng.normal(size=(300, 1))
    m = (rng.normal(size=(300, 20)) + ability > 0).astype(int) + (rng.random((300, 20)) > 0.7)
    assert cronbach_alpha(m) == pytest.approx(reference_alpha(m.tolist()), abs=1e-9)


def test_reliability_inputs_are_checked() -> None:
    with pytest.raises(OutOfRange):
        cronbach_alpha(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(OutOfRange):
        cronbach_alpha(np.ones((5, 1)))
    with pytest.raises(OutOfRange):
        kr20(np.array([[0, 2], [1, 0]]))
    with pytest.raises(OutOfRange):
        sem([1.0, 2.0], 1.5)
    with pytest.raises(OutOfRange):
        score_distribution([1.5], 3)


def test_responses_are_checked() -> None:
    one = np.array([0])
    with pytest.raises(OutOfRange):
        Responses(one, one, np.array([3.0]), np.array([2.0]))  # above max
    with pytest.raises(DomainError):
        Responses(one, np.array([0, 1]), np.array([1.0]), np.array([1.0]))  # ragged
    r = Responses(one, np.array([4]), np.array([1.0]), np.array([1.0]))
    with pytest.raises(OutOfRange):
        item_statistics(r, 4)
    with pytest.raises(DomainError):
        distractors(r, 5)  # no choices recorded
    with pytest.raises(OutOfRange):
        item_statistics(r, 5, group_fraction=0.6)


# ---------------------------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------------------------
def stats_for(facility: list[float], discrimination: list[float], n: int = 100) -> ItemStats:
    k = len(facility)
    return ItemStats(
        n=np.full(k, n, dtype=np.int64),
        facility=np.array(facility),
        facility_ci=np.zeros((k, 2)),
        discrimination=np.array(discrimination),
        upper_lower=np.zeros(k),
        mark_distribution=np.zeros((k, 3), dtype=np.int64),
    )


def test_each_flag_triggers() -> None:
    s = stats_for([0.95, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5], [0.3, 0.3, 0.1, -0.2, 0.3, 0.3, 0.3])
    shares = np.full((7, 5), np.nan)
    shares[4] = [0.5, 0.3, 0.0, 0.2, 0.0]  # key 0; option 2 never chosen
    shares[5] = [0.6, 0.2, 0.17, 0.03, 0.0]  # key 0; option 3 chosen by 3%
    shares[6] = [0.5, 0.2, 0.15, 0.1, 0.05]  # a healthy item
    d = Distractors(
        n=np.array([0, 0, 0, 0, 100, 100, 100]),
        key=np.array([-1, -1, -1, -1, 0, 0, 0]),
        overall=shares,
        upper=shares,
        lower=shares,
    )
    agreement = np.array([np.nan, 0.9, 0.9, 0.9, 0.9, 0.9, 0.6])
    flags = flag_items(s, d, marker_agreement=agreement)
    assert flags == [
        ["too_easy"],
        ["too_hard"],
        ["low_discrimination"],
        ["negative_discrimination"],
        ["unused_distractor"],
        ["unused_distractor"],
        ["weak_marker_agreement"],
    ]


def test_no_flags_below_min_responses() -> None:
    s = stats_for([0.99, 0.01], [-0.5, 0.0], n=29)
    assert flag_items(s, None, marker_agreement=np.array([0.1, 0.1])) == [[], []]
    assert flag_items(s, None, min_responses=29) == [
        ["too_easy", "negative_discrimination"],
        ["too_hard", "low_discrimination"],
    ]


def test_undefined_statistics_raise_no_flags() -> None:
    s = stats_for([0.5], [math.nan])
    assert flag_items(s, None, marker_agreement=np.array([math.nan])) == [[]]


def test_flags_from_real_statistics() -> None:
    # The hand example's item 0 has unused options 1 and 3 (see test_hand_distractors).
    r = hand_responses()
    flags = flag_items(item_statistics(r, 4), distractors(r, 4), min_responses=6)
    assert flags[0] == ["unused_distractor"]
    assert flags[1:] == [[], [], []]


# ---------------------------------------------------------------------------------------------
# Rules pinned by mutation testing (scripts/mutation): edges, defaults and messages
# ---------------------------------------------------------------------------------------------
def rows(
    script: list[int],
    item: list[int],
    score: list[float],
    max_marks: list[float],
    choice: list[int] | None = None,
) -> Responses:
    return Responses(
        np.array(script, dtype=np.int64),
        np.array(item, dtype=np.int64),
        np.array(score, dtype=np.float64),
        np.array(max_marks, dtype=np.float64),
        None if choice is None else np.array(choice, dtype=np.int64),
    )


def no_rows() -> Responses:
    return rows([], [], [], [])


@pytest.mark.parametrize("name", ["script", "item", "score", "max_marks", "choice", "position"])
def test_responses_name_the_array_of_the_wrong_shape(name: str) -> None:
    good = {
        "script": np.array([0, 1]),
        "item": np.array([0, 0]),
        "score": np.array([1.0, 0.0]),
        "max_marks": np.array([1.0, 1.0]),
        "choice": np.array([0, 1]),
        "position": np.array([0, 0]),
    }
    good[name] = good[name][:1] if name != "script" else good[name].reshape(1, 2)
    with pytest.raises(DomainError) as err:
        Responses(**good)
    assert str(err.value) == f"responses: {name} must be 1-D with one entry per response"


@pytest.mark.parametrize(
    ("script", "item", "score", "max_marks", "message"),
    [
        ([-1], [0], [0.0], [1.0], "responses: script and item indices must be >= 0"),
        ([0], [-1], [0.0], [1.0], "responses: script and item indices must be >= 0"),
        ([0], [0], [np.nan], [1.0], "responses: scores must be finite and max_marks positive"),
        ([0], [0], [0.0], [0.0], "responses: scores must be finite and max_marks positive"),
        ([0], [0], [-1.0], [1.0], "responses: a score lies outside 0..max_marks"),
        ([0], [0], [2.0], [1.0], "responses: a score lies outside 0..max_marks"),
    ],
)
def test_responses_refuse_impossible_rows(
    script: list[int], item: list[int], score: list[float], max_marks: list[float], message: str
) -> None:
    with pytest.raises(OutOfRange) as err:
        rows(script, item, score, max_marks)
    assert str(err.value) == message


def test_no_responses_give_undefined_statistics_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = item_statistics(no_rows(), 3)
        empty = item_statistics(no_rows(), 0)
        ci = wilson_interval(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
        d = distractors(rows([], [], [], [], []), 2)
    assert s.n.tolist() == [0, 0, 0] and s.n.dtype == np.int64
    assert np.isnan(s.facility).all() and np.isnan(s.discrimination).all()
    assert np.isnan(s.upper_lower).all() and np.isnan(s.facility_ci).all()
    assert s.mark_distribution.tolist() == [[0], [0], [0]]
    assert empty.n.shape == (0,) and empty.mark_distribution.shape == (0, 1)
    assert np.isnan(ci[0]).all() and not np.isnan(ci[1]).any()
    assert d.n.tolist() == [0, 0] and np.isnan(d.overall).all() and d.key.tolist() == [-1, -1]


def test_item_index_errors_name_the_valid_range() -> None:
    r = rows([0], [3], [1.0], [1.0])
    with pytest.raises(OutOfRange) as err:
        item_statistics(r, 3)
    assert str(err.value) == "responses: an item index is outside 0..2"
    with pytest.raises(OutOfRange):
        item_statistics(no_rows(), -1)


@pytest.mark.parametrize("fraction", [0.0, -0.1, 0.51])
def test_group_fraction_outside_its_range_is_refused(fraction: float) -> None:
    with pytest.raises(OutOfRange) as err:
        item_statistics(hand_responses(), 4, group_fraction=fraction)
    assert str(err.value) == "group_fraction must be in (0, 0.5]"


def test_half_the_scripts_may_form_each_group() -> None:
    # Totals 5 4 3 2 1 0: the top three against the bottom three.
    s = item_statistics(hand_responses(), 4, group_fraction=0.5)
    assert s.upper_lower[0] == pytest.approx(1.0 - 1 / 3)


def test_a_group_of_one_script_in_four() -> None:
    # Four scripts, 27% of 4 rounds to 1: the top script (total 3) against the bottom (total 0).
    m = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
    s = item_statistics(long_form(m, np.ones(3)), 3)
    assert s.upper_lower.tolist() == [1.0, 1.0, 1.0]


def test_scripts_with_no_rows_and_scripts_with_one_row_count_as_they_should() -> None:
    # Scripts 0, 2, 4, 6 answered one item each; 1, 3, 5 were never sat and must not join the
    # bottom group with a total of 0.
    r = rows([0, 2, 4, 6], [0, 0, 0, 0], [1.0, 1.0, 0.0, 0.0], [1.0] * 4, [0, 0, 1, 2])
    assert item_statistics(r, 1, group_fraction=0.5).upper_lower.tolist() == [1.0]
    d = distractors(r, 1, group_fraction=0.5)
    assert d.upper[0].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert d.lower[0].tolist() == [0.0, 0.5, 0.5, 0.0, 0.0]
    assert d.n.dtype == np.int64


def test_a_one_mark_group_facility_counts() -> None:
    r = rows([0, 1], [0, 0], [1.0, 0.0], [1.0, 1.0])
    assert item_statistics(r, 1, group_fraction=0.5).upper_lower.tolist() == [1.0]


def test_discrimination_is_defined_from_two_responses() -> None:
    r = rows([0, 0, 1, 1], [0, 1, 0, 1], [1.0, 1.0, 0.0, 0.0], [1.0] * 4)
    assert item_statistics(r, 2).discrimination.tolist() == [1.0, 1.0]


def test_discrimination_stays_within_minus_one_and_one() -> None:
    # Item 0's rest score is item 0 + 3 (r = +1) in the first set and 100 - 2 * item 0 (r = -1)
    # in the second; computed naively both come out a rounding error beyond 1.
    x = [1.0, 0.0, 1.0, 1.0, 2.0, 2.0]
    n = len(x)
    up = rows(
        [s for s in range(n) for _ in range(3)],
        [i for _ in range(n) for i in range(3)],
        [v for xi in x for v in (xi, xi, 3.0)],
        [2.0, 2.0, 3.0] * n,
    )
    assert item_statistics(up, 3).discrimination[0] == 1.0
    x = [2.0, 1.0, 1.0, 2.0, 2.0]
    n = len(x)
    down = rows(
        [s for s in range(n) for _ in range(4)],
        [i for _ in range(n) for i in range(4)],
        [v for xi in x for v in (xi, 2 - xi, 2 - xi, 96.0)],
        [2.0, 2.0, 2.0, 96.0] * n,
    )
    assert item_statistics(down, 4).discrimination[0] == -1.0


def test_wilson_interval_stays_inside_nought_and_one() -> None:
    ci = wilson_interval(np.array([0.0, 16.0, 1.0]), np.array([66.0, 16.0, 1.0]))
    assert ci[0, 0] == 0.0 and ci[1, 1] == 1.0
    assert ((ci >= 0.0) & (ci <= 1.0)).all()
    assert ci[2, 0] == pytest.approx(0.2065493, abs=1e-6)  # one trial still has an interval


def test_mark_distribution_needs_whole_marks() -> None:
    with pytest.raises(OutOfRange) as err:
        item_statistics(rows([0], [0], [0.5], [1.0]), 1)
    assert str(err.value) == "mark distribution needs whole marks"
    assert item_statistics(hand_responses(), 4).mark_distribution.dtype == np.int64


@pytest.mark.parametrize("bad", [-3, 4])
def test_distractors_refuse_a_choice_outside_the_options(bad: int) -> None:
    r = rows([0, 1], [0, 0], [1.0, 0.0], [1.0, 1.0], [0, bad])
    with pytest.raises(OutOfRange) as err:
        distractors(r, 1)
    assert str(err.value) == "choice must be -2 (not MCQ), -1 (blank) or 0..3"


def test_distractors_need_the_choices() -> None:
    with pytest.raises(DomainError) as err:
        distractors(rows([0], [0], [1.0], [1.0]), 1)
    assert str(err.value) == "distractor analysis needs the option each candidate chose"


def test_one_right_answer_is_enough_to_read_the_key() -> None:
    r = rows([0, 1, 2], [0, 0, 0], [1.0, 0.0, 0.0], [1.0] * 3, [3, 1, 1])
    key = distractors(r, 1).key
    assert key.tolist() == [3] and key.dtype == np.int64


def test_a_given_key_is_used_as_given() -> None:
    r = rows([0, 1, 2], [0, 0, 0], [1.0, 0.0, 0.0], [1.0] * 3, [3, 1, 1])
    d = distractors(r, 1, key=np.array([2]))
    assert d.key.tolist() == [2] and d.key.dtype == np.int64
    with pytest.raises(DomainError) as err:
        distractors(r, 1, key=np.array([2, 3]))
    assert str(err.value) == "key must give one option per item"


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.ones(5), "alpha needs at least 2 scripts and 2 items"),
        (np.ones((1, 3)), "alpha needs at least 2 scripts and 2 items"),
        (np.ones((3, 1)), "alpha needs at least 2 scripts and 2 items"),
        (
            np.array([[1.0, np.nan], [0.0, 1.0]]),
            "alpha needs a complete matrix (drop scripts with missing items)",
        ),
    ],
)
def test_reliability_errors_say_what_the_matrix_lacks(matrix: np.ndarray, message: str) -> None:
    with pytest.raises(OutOfRange) as err:
        cronbach_alpha(matrix)
    assert str(err.value) == message
    with pytest.raises(OutOfRange) as err:
        kr20(matrix)
    assert str(err.value) == message.replace("alpha", "KR-20")


def test_kr20_says_it_needs_right_or_wrong_scores() -> None:
    with pytest.raises(OutOfRange) as err:
        kr20(np.array([[0, 2], [1, 0]]))
    assert str(err.value) == "KR-20 needs 0/1 scores"


def test_sem_edges() -> None:
    assert sem([10.0, 12.0], 1.0) == 0.0  # two totals are enough; perfect reliability, no error
    assert sem([10.0, 12.0], 0.0) == pytest.approx(math.sqrt(2))
    for totals, reliability, message in [
        ([10.0], 0.5, "SEM needs at least 2 totals"),
        ([[10.0, 12.0], [1.0, 2.0]], 0.5, "SEM needs at least 2 totals"),
        ([10.0, 12.0], 1.01, "reliability cannot exceed 1"),
    ]:
        with pytest.raises(OutOfRange) as err:
            sem(totals, reliability)
        assert str(err.value) == message


@pytest.mark.parametrize("totals", [[1.5], [-1.0], [67.0], [0.0, -2.0], [3.0, 70.0]])
def test_score_distribution_refuses_totals_off_the_paper(totals: list[float]) -> None:
    with pytest.raises(OutOfRange) as err:
        score_distribution(totals, 66)
    assert str(err.value) == "totals must be whole marks in 0..66"


def test_score_distribution_counts_the_top_mark() -> None:
    counts = score_distribution([0.0, 66.0, 66.0], 66)
    assert counts.dtype == np.int64 and counts[66] == 2 and counts[0] == 1 and counts.sum() == 3


def test_position_matrix_errors() -> None:
    r = rows([0, 0], [0, 1], [1.0, 0.0], [1.0, 1.0])
    cases: list[tuple[object, type[DomainError], str]] = [
        (None, DomainError, "position matrix needs each response's position on the paper"),
        (np.array([0]), DomainError, "position must have one entry per response"),
        (np.array([0, 2]), OutOfRange, "position must be in 0..1"),
        (np.array([1, 1]), DomainError, "a script has two responses at the same position"),
    ]
    for position, error, message in cases:
        with pytest.raises(error) as err:
            position_matrix(r, 2, position)  # type: ignore[arg-type]
        assert str(err.value) == message


def test_flags_start_at_thirty_responses_by_default() -> None:
    s = stats_for([0.95], [0.3], n=30)
    assert flag_items(s, None) == [["too_easy"]]


def test_flag_thresholds_are_strict() -> None:
    # Facility exactly 0.9 or 0.2, discrimination exactly 0.20 (the default threshold), agreement exactly 0.7: no flag.
    s = stats_for([0.9, 0.2, 0.5], [0.3, 0.3, 0.20])
    assert flag_items(s, None, marker_agreement=np.array([0.7, 0.7, 0.7])) == [[], [], []]


def test_unused_distractor_edges() -> None:
    s = stats_for([0.5, 0.5, 0.5], [0.3, 0.3, 0.3])
    shares = np.array(
        [
            [0.5, 0.3, 0.0, 0.2, 0.0],  # option 2 chosen by nobody
            [0.6, 0.2, 0.15, 0.05, 0.0],  # option 3 chosen by exactly 5%: used
            [1.0, 0.0, 0.0, 0.0, 0.0],  # one response, nobody chose a wrong option
        ]
    )
    d = Distractors(
        n=np.array([100, 100, 1]),
        key=np.array([0, 0, 0]),
        overall=shares,
        upper=shares,
        lower=shares,
    )
    assert flag_items(s, d) == [["unused_distractor"], [], ["unused_distractor"]]
    assert flag_items(s, d, unused_share=0.0) == [["unused_distractor"], [], ["unused_distractor"]]


def test_marker_agreement_must_cover_every_item() -> None:
    with pytest.raises(DomainError) as err:
        flag_items(stats_for([0.5, 0.5], [0.3, 0.3]), None, marker_agreement=np.array([0.9]))
    assert str(err.value) == "marker_agreement must give one value per item"

"""Marking: answer grouping, agreement and kappa, second-marking samples, standardisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testengine.domain.errors import DomainError, OutOfRange
from testengine.domain.marking import (
    agreement_by_item,
    boundary_scripts,
    exact_agreement,
    group_identical,
    marker_summary,
    normalise_answer,
    quadratic_weighted_kappa,
    second_marking_sample,
    standardisation_outcome,
)

ST0663_BOUNDARIES = (46, 53)  # Pass 46-52, Distinction 53-66


# --- normalising and grouping ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The DWP.", "the dwp"),
        ("the  dwp", "the dwp"),
        ("  THE\tDWP!!\n", "the dwp"),
        ("\uff34\uff48\uff45 DWP", "the dwp"),  # full-width letters fold under NFKC
        ("the\u00a0dwp", "the dwp"),  # non-breaking space
        ("Don't", "dont"),
        ("Don\u2019t", "dont"),
        ("part-time", "part time"),
        ("STRASSE", "strasse"),
        ("Stra\u00dfe", "strasse"),  # casefold, not lower()
        ("£5 (approx.)", "£5 approx"),
        ("...", ""),
        ("", ""),
    ],
)
def test_normalise_answer(text: str, expected: str) -> None:
    assert normalise_answer(text) == expected


def test_group_identical_groups_and_excludes_blanks() -> None:
    answers = {
        10: "The DWP.",
        11: "a work coach",
        12: "the  dwp",
        13: "",
        14: "   ",
        15: "A work-coach",
        16: "Jobcentre Plus",
        17: "THE DWP",
        18: "?!",
    }
    assert group_identical(answers) == [[10, 12, 17], [11, 15], [16]]


def test_group_identical_order_does_not_depend_on_mapping_order() -> None:
    answers = {5: "b", 1: "a", 3: "b", 2: "c", 4: "a"}
    reordered = dict(reversed(list(answers.items())))
    # two groups of 2 tie on size: the one holding the smallest id comes first
    assert group_identical(answers) == group_identical(reordered) == [[1, 4], [3, 5], [2]]


# --- agreement and kappa -------------------------------------------------------------------
def test_exact_agreement() -> None:
    assert exact_agreement([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    with pytest.raises(DomainError):
        exact_agreement([1, 2], [1])
    with pytest.raises(DomainError):
        exact_agreement([], [])


def test_kappa_hand_example() -> None:
    # a = 0 1 2 2 1, b = 0 2 2 1 1 (five answers, marks 0/1/2)
    # Observed pairs (a, b): (0,0) (1,2) (2,2) (2,1) (1,1), each 1/5.
    # Marginals: a = (0.2, 0.4, 0.4), b = (0.2, 0.4, 0.4).
    # Weights (i - j)^2 / (3 - 1)^2: w01 = w12 = 0.25, w02 = 1.
    # sum w*O = 0.25*(1/5) [(1,2)] + 0.25*(1/5) [(2,1)] = 0.1
    # sum w*E = 0.25*(.2*.4 + .4*.2) + 1*(.2*.4 + .4*.2) + 0.25*(.4*.4 + .4*.4)
    #         = 0.25*0.16 + 0.16 + 0.25*0.32 = 0.04 + 0.16 + 0.08 = 0.28
    # kappa = 1 - 0.1/0.28 = 1 - 5/14 = 9/14 = 0.642857
    assert quadratic_weighted_kappa([0, 1, 2, 2, 1], [0, 2, 2, 1, 1]) == pytest.approx(9 / 14)


def test_kappa_edges() -> None:
    assert quadratic_weighted_kappa([0, 1, 2, 1], [0, 1, 2, 1]) == pytest.approx(1.0)
    assert math.isnan(quadratic_weighted_kappa([2, 2, 2], [2, 2, 2]))  # both constant: undefined
    assert quadratic_weighted_kappa([2, 2, 2], [1, 1, 1]) == 0.0  # both constant, differ
    assert quadratic_weighted_kappa([1, 1, 1], [0, 1, 2]) == pytest.approx(0.0)  # one constant
    assert quadratic_weighted_kappa([0, 2], [2, 0]) == pytest.approx(-1.0)
    with pytest.raises(OutOfRange):
        quadratic_weighted_kappa([0, 3], [0, 1])
    with pytest.raises(DomainError):
        quadratic_weighted_kappa([0, 1], [0, 1], categories=(1,))


def reference_qwk(a: list[int], b: list[int], cats: list[int]) -> float:
    k, n = len(cats), len(a)
    index = {c: i for i, c in enumerate(cats)}
    observed = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b):
        observed[index[x]][index[y]] += 1 / n
    rows = [sum(observed[i]) for i in range(k)]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            num += w * observed[i][j]
            den += w * rows[i] * cols[j]
    if den == 0:
        return math.nan  # both constant and equal: undefined, as in scikit-learn
    return 1 - num / den


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=40),
)
def test_kappa_matches_plain_python(pairs: list[tuple[int, int]]) -> None:
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    assert quadratic_weighted_kappa(a, b) == pytest.approx(reference_qwk(a, b, [0, 1, 2]), abs=1e-12, nan_ok=True)
    assert quadratic_weighted_kappa(a, b) == pytest.approx(quadratic_weighted_kappa(b, a), abs=1e-12, nan_ok=True)


def test_kappa_other_categories() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 5, 200).tolist(), rng.integers(0, 5, 200).tolist()
    cats = [0, 1, 2, 3, 4]
    assert quadratic_weighted_kappa(a, b, cats) == pytest.approx(reference_qwk(a, b, cats))


def test_agreement_by_item() -> None:
    got = agreement_by_item([0, 0, 0, 2, 2], [1, 2, 0, 2, 1], [1, 2, 1, 2, 2], n_items=3)
    np.testing.assert_allclose(got, [2 / 3, np.nan, 0.5])
    with pytest.raises(OutOfRange):
        agreement_by_item([3], [1], [1], n_items=3)


# --- second marking ------------------------------------------------------------------------
def test_st0663_boundary_window() -> None:
    totals = {t: t for t in range(67)}
    near = boundary_scripts(totals, ST0663_BOUNDARIES, margin=2)
    assert sorted(near) == [44, 45, 46, 47, 51, 52, 53, 54]


script_totals = st.dictionaries(st.integers(0, 10_000), st.integers(0, 66), max_size=300)


@settings(max_examples=200, deadline=None)
@given(script_totals, st.floats(0.0, 1.0), st.integers(0, 4), st.integers(0, 2**32))
def test_sample_holds_every_boundary_script_and_has_the_right_size(
    totals: dict[int, int], fraction: float, margin: int, seed: int
) -> None:
    sample = second_marking_sample(totals, ST0663_BOUNDARIES, fraction=fraction, margin=margin, seed=seed)
    near = {s for s, t in totals.items() if any(b - margin <= t < b + margin for b in (46, 53))}
    rest = len(totals) - len(near)
    assert near <= sample <= totals.keys()
    assert len(sample) == len(near) + min(rest, max(0, math.ceil(fraction * rest - 1e-9)))


@settings(max_examples=50, deadline=None)
@given(script_totals, st.integers(0, 2**32))
def test_sample_is_reproducible_from_the_seed(totals: dict[int, int], seed: int) -> None:
    first = second_marking_sample(totals, ST0663_BOUNDARIES, seed=seed)
    again = second_marking_sample(dict(reversed(list(totals.items()))), ST0663_BOUNDARIES, seed=seed)
    assert first == again


def test_sample_size_rounds_up_and_seeds_differ() -> None:
    totals = {i: 10 + i % 30 for i in range(70)}  # totals 10..39: nothing near 46 or 53
    samples = [second_marking_sample(totals, ST0663_BOUNDARIES, seed=s) for s in range(5)]
    assert all(len(s) == 7 for s in samples)  # 10% of 70 is 7 exactly, not 8
    assert len(second_marking_sample(dict(list(totals.items())[:61]), (46,), seed=1)) == 7
    assert len({frozenset(s) for s in samples}) > 1
    with pytest.raises(OutOfRange):
        second_marking_sample(totals, (46,), fraction=1.5, seed=1)


# --- standardisation ----------------------------------------------------------------------
def test_standardisation_outcome() -> None:
    reference = {1: 2, 2: 1, 3: 0, 4: 2, 5: 1}
    passed = standardisation_outcome({1: 2, 2: 1, 3: 0, 4: 2, 5: 2, 99: 0}, reference)
    assert (passed.agreement, passed.passed, passed.compared) == (0.8, True, 5)
    failed = standardisation_outcome({1: 2, 2: 0, 3: 0}, reference)
    assert failed.agreement == pytest.approx(2 / 3) and not failed.passed and failed.compared == 3
    nothing = standardisation_outcome({99: 1}, reference)
    assert math.isnan(nothing.agreement) and not nothing.passed and nothing.compared == 0


# --- marker summary ------------------------------------------------------------------------
def test_marker_summary() -> None:
    # Markers 1 and 2 both mark responses 100-103 (items 0, 0, 1, 1); marker 1 alone marks 104.
    # Response 103 was moderated to 2. Marker 3 marks response 105 only (item 1), no times.
    nan = float("nan")
    events = [
        # marker, response, item, mark, seconds
        (1, 100, 0, 2, 30.0),
        (1, 101, 0, 1, 50.0),
        (1, 102, 1, 2, 40.0),
        (1, 103, 1, 2, 20.0),
        (1, 104, 2, 0, 10.0),
        (2, 100, 0, 2, 60.0),
        (2, 101, 0, 0, 60.0),
        (2, 102, 1, 1, nan),
        (2, 103, 1, 0, 60.0),
        (3, 105, 1, 1, nan),
    ]
    who, response, item, mark, seconds = (list(c) for c in zip(*events))
    out = marker_summary(who, response, item, mark, seconds, moderated={103: 2})
    assert [s.marker for s in out] == [1, 2, 3]
    m1, m2, m3 = out
    # Marker 1: pairs (2,2) (1,0) (2,1) vs marker 2, and (2,2) vs the moderator -> 2 of 4 agree.
    assert (m1.volume, m1.compared, m1.exact_agreement) == (5, 4, 0.5)
    assert m1.mean_seconds == pytest.approx(30.0)
    assert m1.qwk == pytest.approx(quadratic_weighted_kappa([2, 1, 2, 2], [2, 0, 1, 2]))
    # Marker 2: (2,2) (0,1) (1,2) vs marker 1, (0,2) vs the moderator -> 1 of 4; time ignores NaN.
    assert (m2.volume, m2.compared, m2.exact_agreement) == (4, 4, 0.25)
    assert m2.mean_seconds == pytest.approx(60.0)
    # Leniency, marker 1 on items with peers (item 2 has none):
    #   item 0 peers mean (2+0)/2 = 1 for 2 answers; item 1 peers (1+0+1)/3 = 2/3 for 2 answers
    #   own mean (2+1+2+2)/4 = 1.75; peers' mean weighted alike (1+1+2/3+2/3)/4 = 5/6
    assert m1.mean_mark == pytest.approx(1.75)
    assert m1.peer_mean_mark == pytest.approx(5 / 6)
    # Marker 3: nobody else marked response 105; item 1 peers' mean (2+2+1+0)/4 = 1.25
    assert m3.compared == 0 and math.isnan(m3.exact_agreement) and math.isnan(m3.qwk)
    assert math.isnan(m3.mean_seconds)
    assert (m3.mean_mark, m3.peer_mean_mark) == (1.0, 1.25)


def test_marker_summary_refuses_ragged_input() -> None:
    with pytest.raises(DomainError):
        marker_summary([1, 2], [1], [0], [1], [1.0])

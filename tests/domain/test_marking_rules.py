"""Marking rules pinned one by one: each test fails on a fault the broader tests let through.

Found by mutation testing (scripts/mutation): the edges of kappa's categories, agreement per
item, leniency, the second-marking defaults, resolving many marks at once, and the messages.
"""

from __future__ import annotations

import math
import warnings

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

NAN = math.nan


# --- grouping -------------------------------------------------------------------------------


def test_every_apostrophe_variant_falls_into_one_marking_group() -> None:
    # U+0027, U+2018 (left quote typed as an apostrophe), U+2019 and U+02BC (modifier letter).
    variants = {1: "don't know", 2: "don\u2018t know", 3: "don\u2019t know", 4: "don\u02bct know"}
    assert {normalise_answer(text) for text in variants.values()} == {"dont know"}
    assert group_identical(variants) == [[1, 2, 3, 4]]


# --- kappa ----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=40))
def test_kappa_is_symmetric_and_at_most_one(pairs: list[tuple[int, int]]) -> None:
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    kappa = quadratic_weighted_kappa(a, b)
    if math.isnan(kappa):  # undefined when no disagreement could be expected (both markers constant)
        assert math.isnan(quadratic_weighted_kappa(b, a)) and len(set(a)) == len(set(b)) == 1
        return
    assert kappa == pytest.approx(quadratic_weighted_kappa(b, a), abs=1e-12)
    assert -1.0 - 1e-12 <= kappa <= 1.0 + 1e-12


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=1, max_size=40))
def test_kappa_of_perfect_agreement_is_one(marks: list[int]) -> None:
    if len(set(marks)) == 1:  # one constant mark from both: agreement is undefined, not perfect
        assert math.isnan(quadratic_weighted_kappa(marks, marks))
    else:
        assert quadratic_weighted_kappa(marks, marks) == pytest.approx(1.0)


def test_kappa_with_two_categories_is_cohens_kappa() -> None:
    # Right/wrong marking: observed agreement 3/4, chance 1/2 -> kappa 1/2.
    assert quadratic_weighted_kappa([0, 1, 1, 0], [0, 1, 0, 0], categories=(0, 1)) == (pytest.approx(0.5))


@pytest.mark.parametrize("categories", [(1,), (), (0, 1, 1, 2), (2, 2)])
def test_kappa_refuses_single_or_duplicate_categories(categories: tuple[int, ...]) -> None:
    with pytest.raises(DomainError) as err:
        quadratic_weighted_kappa([0, 1], [0, 1], categories=categories)
    assert str(err.value) == "kappa needs at least two distinct categories"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([-1, 0], [0, 0]),  # below the scale, first rater
        ([0, 0], [0, -1]),  # below the scale, second rater
        ([6, 0], [0, 0]),  # above the scale
        ([0, 0], [0, 6]),
        ([3, 0], [2, 0]),  # between categories, first rater only
        ([2, 0], [3, 0]),  # between categories, second rater only
    ],
)
def test_kappa_refuses_marks_off_or_between_the_categories(a: list[int], b: list[int]) -> None:
    with pytest.raises(OutOfRange) as err:
        quadratic_weighted_kappa(a, b, categories=(4, 2, 0))
    assert err.value.code == "out_of_range"
    assert str(err.value) == "a mark is outside the categories (0, 2, 4)"


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([1, 2], [1], "two raters' marks must be paired one to one"),
        ([[1, 2]], [[1, 2]], "two raters' marks must be paired one to one"),
        ([], [], "agreement needs at least one doubly marked answer"),
    ],
)
def test_agreement_refuses_unpaired_or_empty_marks(a: list[int], b: list[int], message: str) -> None:
    for measure in (exact_agreement, quadratic_weighted_kappa):
        with pytest.raises(DomainError) as err:
            measure(a, b)
        assert str(err.value) == message


# --- agreement per item ---------------------------------------------------------------------


def test_an_item_with_one_doubly_marked_answer_has_agreement_nought_or_one() -> None:
    got = agreement_by_item([0, 1], [2, 1], [2, 0], n_items=2)
    assert got.tolist() == [1.0, 0.0]


def test_trailing_items_with_no_answers_get_nan_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = agreement_by_item([0], [1], [1], n_items=4)
        nothing = agreement_by_item([], [], [], n_items=3)
    assert got.shape == (4,) and got[0] == 1.0 and np.isnan(got[1:]).all()
    assert nothing.shape == (3,) and np.isnan(nothing).all()


@pytest.mark.parametrize(
    ("item", "first", "second"),
    [
        ([0, 1], [1], [1, 2]),  # first short
        ([0, 1], [1, 2], [1]),  # second short
        ([[0, 1]], [[1, 2]], [[1, 2]]),  # not one row per answer
    ],
)
def test_agreement_by_item_refuses_length_mismatches(item: list[int], first: list[int], second: list[int]) -> None:
    with pytest.raises(DomainError) as err:
        agreement_by_item(item, first, second, n_items=3)
    assert str(err.value) == "item, first and second must have one entry per doubly marked answer"


def test_agreement_by_item_names_the_valid_item_range() -> None:
    with pytest.raises(OutOfRange) as err:
        agreement_by_item([-1], [1], [1], n_items=3)
    assert str(err.value) == "an item index is outside 0..2"


# --- second marking -------------------------------------------------------------------------


def test_second_marking_takes_two_marks_either_side_of_a_boundary_by_default() -> None:
    totals = {t: t for t in range(67)}
    sample = second_marking_sample(totals, (46, 53), fraction=0.0, seed=1)
    assert sorted(sample) == [44, 45, 46, 47, 51, 52, 53, 54]


def test_second_marking_errors_say_what_is_wrong() -> None:
    with pytest.raises(OutOfRange) as err:
        boundary_scripts({1: 45}, (46,), margin=-1)
    assert str(err.value) == "margin cannot be negative"
    with pytest.raises(OutOfRange) as err:
        second_marking_sample({1: 45}, (46,), fraction=-0.1, seed=1)
    assert str(err.value) == "fraction must be between 0 and 1"


def test_a_marker_who_marked_none_of_the_standardisation_set_fails() -> None:
    outcome = standardisation_outcome({99: 1}, {1: 2})
    assert outcome.passed is False


# --- marker summary -------------------------------------------------------------------------


def test_leniency_with_exactly_one_other_marker() -> None:
    # Marker 1 and marker 2 each mark one answer to item 0: the peer mean is marker 2's mark.
    one, two = marker_summary([1, 2], [10, 11], [0, 0], [2, 0], [5.0, 5.0])
    assert (one.mean_mark, one.peer_mean_mark) == (2.0, 0.0)
    assert (two.mean_mark, two.peer_mean_mark) == (0.0, 2.0)


def test_a_marker_with_no_shared_items_has_no_leniency_and_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (alone,) = marker_summary([7, 7], [10, 11], [0, 1], [2, 1], [NAN, NAN])
    assert alone.volume == 2 and alone.compared == 0
    assert math.isnan(alone.mean_mark) and math.isnan(alone.peer_mean_mark)
    assert math.isnan(alone.mean_seconds) and math.isnan(alone.qwk)


def test_marker_summary_passes_the_categories_to_kappa() -> None:
    # A four-point item (0..3): the default 0..2 scale would refuse the 3s.
    summary = marker_summary(
        [1, 2, 1, 2],
        [10, 10, 11, 11],
        [0, 0, 0, 0],
        [3, 3, 0, 1],
        [1.0] * 4,
        categories=(0, 1, 2, 3),
    )
    assert summary[0].qwk == pytest.approx(quadratic_weighted_kappa([3, 0], [3, 1], (0, 1, 2, 3)))


@pytest.mark.parametrize("short", range(5))
def test_marker_summary_refuses_any_column_of_another_length(short: int) -> None:
    columns: list[list[float]] = [[1, 2], [10, 11], [0, 0], [1, 1], [1.0, 1.0]]
    columns[short] = columns[short][:1]
    with pytest.raises(DomainError) as err:
        marker_summary(*columns)  # type: ignore[arg-type]
    assert str(err.value) == "marker, response, item, mark and seconds must be the same length"

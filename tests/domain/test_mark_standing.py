"""Which mark stands: the order as a table, and the scalar and array forms agreeing on any input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from testengine.domain.errors import DomainError, OutOfRange
from testengine.domain.mark_standing import (
    MarkRole,
    awaits_moderator,
    standing_mark,
    standing_marks_array,
)

ROLES = [role.value for role in MarkRole]


@pytest.mark.parametrize(
    ("latest", "stands", "waits"),
    [
        ({}, None, False),  # not marked yet
        ({"auto": 0}, 0, False),
        ({"auto": 1}, 1, False),
        ({"auto": 0, "remark": 1}, 1, False),  # a re-mark over the answer key
        ({"auto": 1, "first": 0, "moderator": 0}, 1, False),  # nobody marks over the key
        ({"first": 2}, 2, False),  # not sampled for second marking: the first mark stands
        ({"first": 2, "second": 2}, 2, False),  # agreed
        ({"first": 1, "second": 2}, None, True),  # differ: never averaged, waits
        ({"first": 1, "second": 2, "moderator": 2}, 2, False),
        ({"first": 1, "second": 2, "moderator": 0}, 0, False),  # even a mark neither gave
        ({"first": 2, "moderator": 0}, 0, False),
        ({"moderator": 2}, 2, False),
        ({"second": 1}, None, False),  # a check with no first mark decides nothing
        ({"first": 1, "second": 2, "remark": 0}, 0, False),  # a re-mark settles a dispute
        ({"first": 2, "second": 2, "moderator": 1, "remark": 0}, 0, False),  # over everything
    ],
)
def test_the_order_in_which_a_mark_stands(latest: dict[str, int], stands: int | None, waits: bool) -> None:
    assert standing_mark(**latest) == stands
    assert awaits_moderator(**latest) is waits


def test_roles_are_the_stored_names() -> None:
    assert ROLES == ["auto", "first", "second", "moderator", "remark"]


@pytest.mark.parametrize("role", ROLES)
def test_a_negative_mark_is_refused_in_both_forms(role: str) -> None:
    with pytest.raises(OutOfRange):
        standing_mark(**{role: -1})
    arrays = {r: [-1.0 if r == role else math.nan] for r in ROLES}
    with pytest.raises(OutOfRange):
        standing_marks_array(**arrays)


def test_the_array_form_needs_one_entry_per_answer_in_every_role() -> None:
    arrays = {r: [1.0, 2.0] for r in ROLES} | {"second": [1.0]}
    with pytest.raises(DomainError):
        standing_marks_array(**arrays)


def _array_agrees(cases: list[dict[str, int]]) -> None:
    arrays = {r: [float(case.get(r, math.nan)) for case in cases] for r in ROLES}
    got = standing_marks_array(**arrays)
    assert got.shape == (len(cases),) and got.dtype == np.float64
    assert [None if math.isnan(v) else int(v) for v in got.tolist()] == [standing_mark(**case) for case in cases]


def test_array_form_is_the_scalar_form_for_every_set_of_roles() -> None:
    cases = []
    for present in itertools.product((False, True), repeat=len(ROLES)):
        for values in itertools.product((0, 1, 2), repeat=sum(present)):
            it = iter(values)
            cases.append({role: next(it) for role, has in zip(ROLES, present) if has})
    _array_agrees(cases)


ONE_ANSWER = st.fixed_dictionaries({}, optional={role: st.integers(min_value=0, max_value=100) for role in ROLES})


@given(st.lists(ONE_ANSWER, max_size=40))
def test_array_form_agrees_with_the_scalar_form_on_random_answers(
    cases: list[dict[str, int]],
) -> None:
    _array_agrees(cases)

"""Three statistics details: kappa undefined for constant marks, the low-discrimination threshold,
and no SEM from a negative reliability."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from testengine.domain.item_stats import LOW_DISCRIMINATION, ItemStats, flag_items, sem
from testengine.domain.marking import quadratic_weighted_kappa


@pytest.mark.parametrize("mark", [0, 1, 2])
def test_kappa_is_undefined_when_both_markers_give_one_constant_mark(mark: int) -> None:
    # scikit-learn's cohen_kappa_score gives nan here too (0/0): no evidence either way.
    assert math.isnan(quadratic_weighted_kappa([mark] * 5, [mark] * 5))


def test_kappa_is_still_defined_when_marks_vary() -> None:
    assert quadratic_weighted_kappa([0, 2, 2], [0, 2, 2]) == pytest.approx(1.0)
    assert quadratic_weighted_kappa([2, 2, 2], [1, 1, 1]) == 0.0  # constant but different


def _stats(discrimination: float) -> ItemStats:
    return ItemStats(
        n=np.array([100]),
        facility=np.array([0.5]),
        facility_ci=np.zeros((1, 2)),
        discrimination=np.array([discrimination]),
        upper_lower=np.zeros(1),
        mark_distribution=np.zeros((1, 3), dtype=np.int64),
    )


def test_low_discrimination_defaults_to_0_20() -> None:
    assert LOW_DISCRIMINATION == 0.20
    assert flag_items(_stats(0.18), None) == [["low_discrimination"]]
    assert flag_items(_stats(0.20), None) == [[]]


def test_low_discrimination_threshold_is_a_setting() -> None:
    assert flag_items(_stats(0.18), None, low_discrimination=0.15) == [[]]
    assert flag_items(_stats(0.28), None, low_discrimination=0.30) == [["low_discrimination"]]


def test_negative_reliability_has_no_sem() -> None:
    totals = [2.0, 1.0, 1.0, 2.0]
    assert math.isnan(sem(totals, -9.0))
    assert sem(totals, 0.0) == pytest.approx(float(np.std(totals, ddof=1)))


@given(
    st.lists(st.integers(0, 66), min_size=2, max_size=40),
    st.floats(-5.0, 1.0, allow_nan=False),
)
def test_sem_never_exceeds_the_sd(totals: list[int], reliability: float) -> None:
    value = sem(totals, reliability)
    sd = float(np.std(totals, ddof=1))
    assert math.isnan(value) or value <= sd + 1e-12
    assert math.isnan(value) == (reliability < 0)

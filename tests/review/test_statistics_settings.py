"""The statistics settings a spec carries, and a negative reliability flagged at the service level."""

from __future__ import annotations

import math

import numpy as np

from testengine.extensions import db
from testengine.services import statistics
from testengine.services.statistics import Reliability, bank_statistics
from tests.review.test_statistics import M1, S1, example  # noqa: F401  (fixture)


def test_low_discrimination_threshold_comes_from_the_spec(st0663, example):  # noqa: F811
    # M1's item-rest r is 0.447 in the hand-worked example; S1's is 1.
    flags = {i.info.external_id: i.flags for i in bank_statistics(st0663, min_responses=4).items}
    assert "low_discrimination" not in flags[M1]  # 0.447 is above the default 0.20
    st0663.spec = {**st0663.spec, "quality": {"low_discrimination": 0.5}}
    db.session.commit()
    flags = {i.info.external_id: i.flags for i in bank_statistics(st0663, min_responses=4).items}
    assert "low_discrimination" in flags[M1]
    assert "low_discrimination" not in flags[S1]


def test_negative_reliability_is_flagged_without_an_sem():
    # Two positions that rank the four scripts in opposite orders: alpha = -9.
    matrix = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 2.0]])
    group = statistics._reliability("All sittings", None, matrix, False, 4)
    assert group.coefficient == -9.0
    assert math.isnan(group.sem)  # the formula would give 1.83, over the SD of 0.58
    assert group.flags == ["negative_reliability"]
    assert group.as_dict()["flags"] == ["negative_reliability"]
    healthy = Reliability("x", None, 10, 5.0, 2.0, 0.8, "alpha", 0.9, [])
    assert healthy.flags == []

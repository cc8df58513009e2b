"""Parallel papers: what a live draw steers each paper's difficulty by, read from the item statistics.

Once a question version has enough marked responses (the spec's `quality.steer_min_responses`),
its facility (the share of its marks candidates gained) steers every live draw: the draw swaps
questions for other front-runners of the same type until the paper's expected score is within
`steer_tolerance_marks` of the target (domain.paper_steering). The target is the spec's
`target_facility`, or else the bank's own level: the mean facility of a paper drawn at random. So
two apprentices' papers are equally hard, not merely equally shaped. Versions without enough
responses are drawn as before and left out of the expected score.

Facilities are rounded to 1/10,000 before a draw sees them and recorded with the attempt at that
precision (two bytes an item), so the paper can be redrawn exactly for an appeal.
"""

from __future__ import annotations

import base64
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..domain.papers import DifficultyTarget, Item, bank_target
from ..domain.standards import StandardSpec
from ..models import Standard
from .statistics import BankStatistics, bank_statistics

if TYPE_CHECKING:
    from .papers import PoolSnapshot

_SCALE = 10_000  # facilities are kept as whole ten-thousandths
_UNKNOWN = 0xFFFF  # the packed value of an item without a facility

# The last target built per bank state: (pool key, the statistics it came from) -> target. The
# statistics object is the cached one while nothing new is marked, so draws in a row share one
# target (and the pool keeps its array of facilities) instead of rebuilding it per paper.
_targets: dict[tuple[int, str], tuple[BankStatistics, DifficultyTarget | None]] = {}


def steering_for(standard: Standard, spec: StandardSpec, snapshot: PoolSnapshot) -> DifficultyTarget | None:
    """The difficulty target for a live draw from `snapshot`, or None when nothing steers yet
    (steering turned off, no knowledge test, or no drawable version with enough responses)."""
    quality = spec.quality
    test = spec.knowledge_test
    if quality.steer_min_responses <= 0 or test is None:
        return None
    stats = bank_statistics(standard)
    slot = (standard.id, snapshot.key)
    kept = _targets.get(slot)
    if kept is not None and kept[0] is stats:
        return kept[1]
    by_version = stats.by_version()
    facility: dict[str, float] = {}
    for external_id, version_id in snapshot.version_ids.items():
        result = by_version.get(version_id)
        if result is not None and result.n >= quality.steer_min_responses and not math.isnan(result.facility):
            facility[external_id] = round(min(max(result.facility, 0.0), 1.0) * _SCALE) / _SCALE
    target = _target(spec, snapshot, facility)
    while len(_targets) >= 8:
        _targets.pop(next(iter(_targets)))
    _targets[slot] = (stats, target)
    return target


def _target(spec: StandardSpec, snapshot: PoolSnapshot, facility: dict[str, float]) -> DifficultyTarget | None:
    test = spec.knowledge_test
    if test is None or not facility:
        return None
    aim = spec.quality.target_facility
    if aim is None:
        aim = bank_target(snapshot.pool, test.blueprint, facility)
    if aim is None:
        return None
    paper_marks = sum(q.count * q.marks for q in test.blueprint.quotas.values())
    tolerance = min(spec.quality.steer_tolerance_marks / paper_marks, 0.99) if paper_marks else 0.0
    return DifficultyTarget(mean_facility=aim, facility=facility, tolerance=tolerance)


def pack(items: list[Item], target: DifficultyTarget) -> dict[str, Any]:
    """What the attempt records of the steering: target, tolerance and each pool item's facility."""
    values = np.array(
        [round(target.facility[i.id] * _SCALE) if i.id in target.facility else _UNKNOWN for i in items], dtype="<u2"
    )
    return {
        "target": target.mean_facility,
        "tolerance": target.tolerance,
        "facility": base64.b64encode(values.tobytes()).decode(),
    }


def unpack(items: list[Item], packed: dict[str, Any]) -> DifficultyTarget:
    """The target a recorded draw steered by, exactly as the draw saw it."""
    values = np.frombuffer(base64.b64decode(packed["facility"]), dtype="<u2")
    facility = {item.id: int(v) / _SCALE for item, v in zip(items, values.tolist()) if v != _UNKNOWN}
    return DifficultyTarget(mean_facility=float(packed["target"]), facility=facility, tolerance=float(packed["tolerance"]))

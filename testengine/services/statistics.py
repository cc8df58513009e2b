"""Item statistics from the marks that stand: load responses from the database, compute with NumPy.

The numbers themselves are domain.item_stats (facility, discrimination, distractors, alpha, SEM)
and domain.marking (marker agreement); statistics_load reads the rows into arrays, this module turns them into results.

What counts:
- Scripts are SUBMITTED attempts of one standard whose every question has a mark that stands.
  A script still waiting for a marker or a moderator is left out whole (and counted in
  `awaiting_marking`), because a half-marked total would make every item on it look worse.
- The mark that stands for a response is domain.mark_standing's, from each role's latest mark:
  the same rule that marking progress and results apply to one script.
- An item is a question VERSION: a revised wording is a different item with its own evidence.
- MCQ choices are the ORIGINAL option index the apprentice picked (Answer.response "0".."3"),
  so shares describe the option as written, whatever order it was shown in.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select

from ..domain import item_stats
from ..domain.marking import agreement_by_item
from ..extensions import db
from ..models import Attempt, Mark, Sitting, Standard
from .banks import spec_of
from .statistics_load import (  # noqa: F401  (the loader's names, importable from here as before)
    BLANK,
    FIRST,
    NO_CHOICE,
    ROLES,
    SECOND,
    SUBMITTED,
    ItemInfo,
    _choice,
    _Loaded,
    load,
    stands_array,
)

MIN_RESPONSES = 30  # below this an item earns no flags: with a handful of responses it is noise


@dataclass
class ItemResult:
    info: ItemInfo
    n: int
    facility: float
    facility_ci: tuple[float, float]
    discrimination: float
    upper_lower: float
    mark_distribution: list[int]  # responses earning 0, 1, ... marks
    issued: int  # times this version was issued (AttemptQuestion rows)
    exposure: int  # times the question (any version) was issued (ItemExposure)
    double_marked: int  # responses with both a first and a second mark
    marker_agreement: float  # exact agreement first vs second; NaN when none were double marked
    option_n: int = 0  # MCQ responses counted in the shares
    option_shares: dict[str, list[float]] = field(default_factory=dict)  # overall/upper/lower per option + blank
    flags: list[str] = field(default_factory=list)
    last_response_at: dt.datetime | None = None  # the latest submission that included it

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.info.external_id,
            "version": self.info.version,
            "type": self.info.type,
            "ksb": list(self.info.ksb),
            "marks": self.info.marks,
            "n": self.n,
            "facility": _num(self.facility),
            "facility_ci": [_num(v) for v in self.facility_ci],
            "discrimination": _num(self.discrimination),
            "upper_lower": _num(self.upper_lower),
            "mark_distribution": self.mark_distribution,
            "issued": self.issued,
            "exposure": self.exposure,
            "double_marked": self.double_marked,
            "marker_agreement": _num(self.marker_agreement),
            "flags": self.flags,
        }
        if self.info.options:
            out["key"] = self.info.key
            out["options"] = {
                "n": self.option_n,
                **{group: [_num(v) for v in shares] for group, shares in self.option_shares.items()},
            }
        return out


@dataclass
class Reliability:
    """A group of scripts (one sitting, or all of them): reliability over paper positions."""

    label: str
    sitting_id: int | None
    scripts: int
    mean: float
    sd: float
    coefficient: float  # Cronbach's alpha (KR-20 when every position is worth 1 mark)
    method: str  # "alpha" | "KR-20"
    sem: float  # NaN when the coefficient is undefined or negative (see item_stats.sem)
    distribution: list[int]  # scripts with each total 0..max_total

    @property
    def flags(self) -> list[str]:
        """A negative coefficient is a finding in itself: the positions disagree about who is
        stronger (a miskeyed item, or too few scripts), and it has no meaningful SEM."""
        return ["negative_reliability"] if self.coefficient < 0 else []

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "sitting": self.sitting_id,
            "scripts": self.scripts,
            "mean": _num(self.mean),
            "sd": _num(self.sd),
            "reliability": _num(self.coefficient),
            "method": self.method,
            "sem": _num(self.sem),
            "flags": self.flags,
            "distribution": self.distribution,
        }


@dataclass
class BankStatistics:
    standard: str
    max_total: int
    boundaries: list[tuple[str, int, int]]  # (grade, min, max) lowest grade first
    scripts: int
    awaiting_marking: int
    min_responses: int
    items: list[ItemResult]
    overall: Reliability | None
    sittings: list[Reliability]

    def by_version(self) -> dict[int, ItemResult]:
        return {item.info.version_id: item for item in self.items}

    def as_dict(self) -> dict[str, Any]:
        return {
            "standard": self.standard,
            "scripts": self.scripts,
            "awaiting_marking": self.awaiting_marking,
            "min_responses_for_flags": self.min_responses,
            "max_total": self.max_total,
            "boundaries": [{"grade": g, "min": lo, "max": hi} for g, lo, hi in self.boundaries],
            "items": [item.as_dict() for item in self.items],
            "overall": self.overall.as_dict() if self.overall else None,
            "sittings": [s.as_dict() for s in self.sittings],
        }


def _num(value: float) -> float | None:
    """JSON has no NaN: an undefined statistic is null."""
    return None if value is None or math.isnan(value) else round(float(value), 4)


# --- computing -------------------------------------------------------------------------------


def _freshness(standard: Standard) -> tuple[Any, ...]:
    """What the statistics depend on, read cheaply: the submitted scripts of the standard (count,
    largest id, sum of ids, latest submission) and the newest mark anywhere (marks are only ever
    added, so a new mark means a larger id). Any change there changes this key."""
    scripts = db.session.execute(
        select(func.count(Attempt.id), func.max(Attempt.id), func.sum(Attempt.id), func.max(Attempt.submitted_at)).where(
            Attempt.standard_id == standard.id, Attempt.state == SUBMITTED
        )
    ).one()
    newest_mark = db.session.scalar(select(func.max(Mark.id)))
    return (*tuple(scripts), newest_mark, json.dumps(standard.spec, sort_keys=True, default=str))


# Per database (its engine; an engine gone takes its entries with it) and bank. A cache only: every
# entry is checked against the database's freshness key before use, so several processes agree.
_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[int, int], tuple[Any, BankStatistics]]] = weakref.WeakKeyDictionary()


def bank_statistics(
    standard: Standard, *, min_responses: int = MIN_RESPONSES, progress: Callable[[int, int], None] | None = None
) -> BankStatistics:
    """Item statistics for every question version of `standard` that has marked responses, and
    the reliability of each sitting and of all scripts together.

    Kept per app and bank, and recomputed when a script is submitted or a mark is added (the
    key is a few aggregate reads, milliseconds at a million responses, where the statistics
    themselves take over a second to load): the review pages then open at once. The key is
    read from the database, so a mark written by another worker process is seen too.
    `progress(done, 3)` hears of each stage done: reading the responses, the items, the reliabilities.
    """
    cache = _CACHE.setdefault(db.engine, {})
    key = _freshness(standard)
    slot = (standard.id, min_responses)
    cached = cache.get(slot)
    if cached is not None and cached[0] == key:
        kept: BankStatistics = cached[1]
        if progress is not None:
            progress(3, 3)
        return kept
    result = _compute_bank_statistics(standard, min_responses, progress)
    cache[slot] = (key, result)
    return result


def _compute_bank_statistics(
    standard: Standard, min_responses: int, progress: Callable[[int, int], None] | None = None
) -> BankStatistics:
    step = progress or (lambda done, total: None)
    step(0, 3)
    spec = spec_of(standard)
    test = spec.knowledge_test
    max_total = test.total_marks if test else 0
    per_paper = sum(q.count for q in test.blueprint.quotas.values()) if test else 0
    boundaries = [(b.grade, b.min, b.max) for b in test.boundaries] if test else []
    data = load(standard)
    step(1, 3)
    r, n_items = data.responses, len(data.items)
    results: list[ItemResult] = []
    overall = None
    sittings: list[Reliability] = []
    if n_items:
        results = _item_results(data, min_responses, spec.quality.low_discrimination)
        step(2, 3)
        overall, sittings = _reliabilities(data, per_paper, max_total)
    step(3, 3)
    results.sort(key=lambda item: (item.info.external_id, item.info.version))
    return BankStatistics(
        standard=standard.code,
        max_total=max_total,
        boundaries=boundaries,
        scripts=r.n_scripts,
        awaiting_marking=data.awaiting,
        min_responses=min_responses,
        items=results,
        overall=overall,
        sittings=sittings,
    )


def _item_results(data: _Loaded, min_responses: int, low_discrimination: float) -> list[ItemResult]:
    r, n_items = data.responses, len(data.items)
    stats = item_stats.item_statistics(r, n_items)
    n_options = max([info.options for info in data.items] + [1])
    key = np.asarray([info.key for info in data.items], dtype=np.int64)
    has_options = any(info.options for info in data.items)
    shares = item_stats.distractors(r, n_items, n_options, key=key) if has_options else None
    item, first, second = data.pairs
    agreement = agreement_by_item(item, first, second, n_items)
    doubled = np.bincount(np.asarray(item, dtype=np.int64), minlength=n_items)
    flags = item_stats.flag_items(
        stats,
        shares,
        min_responses=min_responses,
        marker_agreement=agreement,
        low_discrimination=low_discrimination,
    )
    # Python numbers once per column (tolist), not one NumPy scalar at a time: 2,000 items x 20.
    n, facility, ci = stats.n.tolist(), stats.facility.tolist(), stats.facility_ci.tolist()
    discrimination, upper_lower = stats.discrimination.tolist(), stats.upper_lower.tolist()
    distribution, doubled_n = stats.mark_distribution.tolist(), doubled.tolist()
    agreement_of = agreement.tolist()
    tables = (
        {
            "overall": shares.overall.tolist(),
            "upper": shares.upper.tolist(),
            "lower": shares.lower.tolist(),
        }
        if shares is not None
        else {}
    )
    out: list[ItemResult] = []
    for i, info in enumerate(data.items):
        result = ItemResult(
            info=info,
            n=n[i],
            facility=facility[i],
            facility_ci=(ci[i][0], ci[i][1]),
            discrimination=discrimination[i],
            upper_lower=upper_lower[i],
            mark_distribution=_counts(distribution[i], info.marks),
            issued=data.issued.get(info.version_id, 0),
            exposure=data.exposure.get(info.question_id, 0),
            double_marked=doubled_n[i],
            marker_agreement=agreement_of[i],
            flags=flags[i],
            last_response_at=data.last_response_at.get(info.version_id),
        )
        if shares is not None and info.options:
            width = info.options
            result.option_n = int(shares.n[i])
            result.option_shares = {group: table[i][:width] + [table[i][-1]] for group, table in tables.items()}
        out.append(result)
    return out


def _counts(row: list[int], marks: int) -> list[int]:
    """Responses earning 0..marks, padded with zeros (the matrix is as wide as the largest mark seen)."""
    out = row[: marks + 1]
    return out + [0] * (marks + 1 - len(out))


def _reliabilities(data: _Loaded, per_paper: int, max_total: int) -> tuple[Reliability | None, list[Reliability]]:
    r = data.responses
    if not per_paper or r.n_scripts == 0:
        return None, []
    matrix = item_stats.position_matrix(r, per_paper)
    matrix = matrix[:, ~np.isnan(matrix).all(axis=0)]  # positions no script reached (a shorter paper)
    complete = ~np.isnan(matrix).any(axis=1)
    sitting_of = data.script_sittings
    # KR-20 where every question on the scripts is worth 1 mark (an all-MCQ paper), alpha otherwise.
    one_mark = np.bincount(r.script, weights=(r.max_marks != 1).astype(np.float64), minlength=r.n_scripts) == 0
    overall = _reliability("All sittings", None, matrix[complete], bool(one_mark[complete].all()), max_total)
    present = sorted({int(s) for s in sitting_of.tolist() if s >= 0})
    titles = {
        sid: f"{title}, {start:%d %b %Y}"
        for sid, title, start in db.session.execute(
            select(Sitting.id, Sitting.title, Sitting.window_start).where(Sitting.id.in_(present))
        )
    }
    sittings = [
        _reliability(
            titles.get(sid, f"Sitting {sid}"),
            sid,
            matrix[complete & (sitting_of == sid)],
            bool(one_mark[complete & (sitting_of == sid)].all()),
            max_total,
        )
        for sid in present
    ]
    return overall, sittings


def _reliability(label: str, sitting_id: int | None, matrix: np.ndarray, all_one_mark: bool, max_total: int) -> Reliability:
    totals = matrix.sum(axis=1) if matrix.size else np.zeros(0)
    scripts = int(matrix.shape[0])
    distribution = item_stats.score_distribution(totals, max_total).tolist() if max_total else []
    if scripts < 2 or matrix.shape[1] < 2:  # reliability needs two scripts and two positions
        nan = math.nan
        mean = float(totals.mean()) if scripts else nan
        sd = float(totals.std(ddof=1)) if scripts >= 2 else nan
        return Reliability(label, sitting_id, scripts, mean, sd, nan, "alpha", nan, distribution)
    coefficient = item_stats.kr20(matrix) if all_one_mark else item_stats.cronbach_alpha(matrix)
    sem = item_stats.sem(totals, coefficient) if not math.isnan(coefficient) else math.nan
    return Reliability(
        label=label,
        sitting_id=sitting_id,
        scripts=scripts,
        mean=float(totals.mean()),
        sd=float(totals.std(ddof=1)),
        coefficient=coefficient,
        method="KR-20" if all_one_mark else "alpha",
        sem=sem,
        distribution=distribution,
    )

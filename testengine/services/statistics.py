"""Item statistics from the marks that stand: load responses from the database, compute with NumPy.

The numbers themselves are domain.item_stats (facility, discrimination, distractors, alpha, SEM)
and domain.marking (marker agreement); this module only turns rows into arrays and back.

What counts:
- Scripts are SUBMITTED attempts of one standard whose every question has a mark that stands.
  A script still waiting for a marker or a moderator is left out whole (and counted in
  `awaiting_marking`), because a half-marked total would make every item on it look worse.
- The mark that stands for a response: a re-mark (after an appeal) if any; else the moderator's
  latest mark; else the latest first mark, checked by the latest second mark
  (domain.marking.resolve_marks: they must agree); else the automatic mark.
- An item is a question VERSION: a revised wording is a different item with its own evidence.
- MCQ choices are the ORIGINAL option index the apprentice picked (Answer.response "0".."3"),
  so shares describe the option as written, whatever order it was shown in.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select

from ..domain import item_stats
from ..domain.item_stats import Responses
from ..domain.marking import agreement_by_item, resolve_marks
from ..extensions import db
from ..models import (
    Answer,
    Attempt,
    AttemptQuestion,
    ItemExposure,
    Mark,
    Question,
    QuestionVersion,
    Sitting,
    Standard,
)
from .banks import spec_of

MIN_RESPONSES = 30  # below this an item earns no flags: with a handful of responses it is noise
SUBMITTED = "submitted"
NO_CHOICE, BLANK = -2, -1


@dataclass(frozen=True)
class ItemInfo:
    """One question version that has responses, and what a reviewer needs to read its numbers."""

    question_id: int
    external_id: str
    version_id: int
    version: int
    type: str
    ksb: tuple[str, ...]
    marks: int
    options: int  # 0 for a question without options
    key: int  # the correct option's original index, -1 without options


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
    option_shares: dict[str, list[float]] = field(
        default_factory=dict
    )  # overall/upper/lower per option + blank
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
                **{
                    group: [_num(v) for v in shares] for group, shares in self.option_shares.items()
                },
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
    sem: float
    distribution: list[int]  # scripts with each total 0..max_total

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


# --- loading ---------------------------------------------------------------------------------


def stands(latest: dict[str, int]) -> int | None:
    """The mark that stands, from each role's latest mark on one response (None: not decided yet)."""
    if "remark" in latest:
        return latest["remark"]
    if "first" in latest or "moderator" in latest:
        return resolve_marks(
            latest.get("first", 0), latest.get("second"), latest.get("moderator")
        ).final
    return latest.get("auto")


@dataclass
class _Loaded:
    items: list[ItemInfo]
    responses: Responses
    script_attempts: list[int]
    script_sittings: list[int | None]
    pairs: tuple[list[int], list[int], list[int]]  # item, first, second for double-marked responses
    issued: dict[int, int]  # version id -> times issued
    exposure: dict[int, int]  # question id -> times issued
    last_response_at: dict[int, dt.datetime]  # version id -> latest submission
    awaiting: int


def _latest_marks(scripts: Any) -> dict[int, dict[str, int]]:
    """Each response's latest mark per role (oldest first, so the last one written wins)."""
    latest: dict[int, dict[str, int]] = defaultdict(dict)
    rows = db.session.connection().execute(
        select(Mark.attempt_question_id, Mark.role, Mark.mark)
        .join(Attempt, Attempt.id == Mark.attempt_id)
        .where(*scripts)
        .order_by(Mark.created_at, Mark.id)
    )
    for aq_id, role, mark in rows:
        latest[aq_id][role] = mark
    return latest


def _choice(response: str | None, options: int) -> int:
    if not options:
        return NO_CHOICE
    text = (response or "").strip()
    if not text.isdecimal() or int(text) >= options:
        return BLANK
    return int(text)


def load(standard: Standard) -> _Loaded:
    """Every submitted script of `standard` with the marks that stand, as long-format arrays.

    Plain Core queries on the session's connection (no ORM objects): at a year of sittings the
    row handling, not the arithmetic, is what takes the time.
    """
    conn = db.session.connection()
    scripts = (Attempt.standard_id == standard.id, Attempt.state == SUBMITTED)
    attempts = {
        attempt_id: (sitting_id, submitted_at)
        for attempt_id, sitting_id, submitted_at in conn.execute(
            select(Attempt.id, Attempt.sitting_id, Attempt.submitted_at).where(*scripts)
        )
    }
    rows = conn.execute(
        select(
            AttemptQuestion.attempt_id,
            AttemptQuestion.id,
            AttemptQuestion.position,
            AttemptQuestion.marks,
            AttemptQuestion.question_version_id,
            Answer.response,
        )
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .outerjoin(Answer, Answer.attempt_question_id == AttemptQuestion.id)
        .where(*scripts)
        .order_by(AttemptQuestion.attempt_id, AttemptQuestion.position)
    ).all()
    latest = _latest_marks(scripts)
    final = {aq_id: stands(roles) for aq_id, roles in latest.items()}
    incomplete = {row[0] for row in rows if final.get(row[1]) is None}

    versions = _versions({row[4] for row in rows})
    item_index: dict[int, int] = {}
    script_index: dict[int, int] = {}
    script_sittings: list[int | None] = []
    cols: dict[str, list[Any]] = defaultdict(list)
    pairs: tuple[list[int], list[int], list[int]] = ([], [], [])
    last_at: dict[int, dt.datetime] = {}
    for attempt_id, aq_id, position, marks, version_id, response in rows:
        info = versions[version_id]
        item = item_index.setdefault(version_id, len(item_index))
        roles = latest.get(aq_id, {})
        if "first" in roles and "second" in roles:
            pairs[0].append(item)
            pairs[1].append(roles["first"])
            pairs[2].append(roles["second"])
        if attempt_id in incomplete:
            continue
        sitting_id, submitted_at = attempts[attempt_id]
        if submitted_at is not None and (
            version_id not in last_at or submitted_at > last_at[version_id]
        ):
            last_at[version_id] = submitted_at
        if attempt_id not in script_index:
            script_index[attempt_id] = len(script_index)
            script_sittings.append(sitting_id)
        cols["script"].append(script_index[attempt_id])
        cols["item"].append(item)
        cols["score"].append(final[aq_id])
        cols["max"].append(marks)
        cols["choice"].append(_choice(response, info.options))
        cols["position"].append(position - 1)  # papers number positions from 1

    items = [versions[v] for v, _i in sorted(item_index.items(), key=lambda pair: pair[1])]
    responses = Responses(
        script=np.asarray(cols["script"], dtype=np.int64),
        item=np.asarray(cols["item"], dtype=np.int64),
        score=np.asarray(cols["score"], dtype=np.float64),
        max_marks=np.asarray(cols["max"], dtype=np.float64),
        choice=np.asarray(cols["choice"], dtype=np.int64),
        position=np.asarray(cols["position"], dtype=np.int64),
    )
    issued = dict(
        db.session.execute(
            select(AttemptQuestion.question_version_id, func.count(AttemptQuestion.id))
            .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(Question.standard_id == standard.id)
            .group_by(AttemptQuestion.question_version_id)
        ).all()
    )
    exposure = dict(
        db.session.execute(
            select(ItemExposure.question_id, ItemExposure.issued)
            .join(Question, Question.id == ItemExposure.question_id)
            .where(Question.standard_id == standard.id)
        ).all()
    )
    return _Loaded(
        items=items,
        responses=responses,
        script_attempts=list(script_index),
        script_sittings=script_sittings,
        pairs=pairs,
        issued=issued,
        exposure=exposure,
        last_response_at=last_at,
        awaiting=len(incomplete),
    )


def _versions(version_ids: set[int]) -> dict[int, ItemInfo]:
    out: dict[int, ItemInfo] = {}
    ids = sorted(version_ids)
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(QuestionVersion, Question.external_id)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(QuestionVersion.id.in_(ids[start : start + 500]))
        ).all()
        for version, external_id in rows:
            options = version.content.get("options") or []
            key = next((i for i, option in enumerate(options) if option.get("correct")), -1)
            out[version.id] = ItemInfo(
                question_id=version.question_id,
                external_id=external_id,
                version_id=version.id,
                version=version.version,
                type=version.type,
                ksb=tuple(version.ksb),
                marks=version.marks,
                options=len(options),
                key=key,
            )
    return out


# --- computing -------------------------------------------------------------------------------


def bank_statistics(standard: Standard, *, min_responses: int = MIN_RESPONSES) -> BankStatistics:
    """Item statistics for every question version of `standard` that has marked responses, and
    the reliability of each sitting and of all scripts together."""
    spec = spec_of(standard)
    test = spec.knowledge_test
    max_total = test.total_marks if test else 0
    per_paper = sum(q.count for q in test.blueprint.quotas.values()) if test else 0
    boundaries = [(b.grade, b.min, b.max) for b in test.boundaries] if test else []
    data = load(standard)
    r, n_items = data.responses, len(data.items)
    results: list[ItemResult] = []
    overall = None
    sittings: list[Reliability] = []
    if n_items:
        results = _item_results(data, min_responses)
        overall, sittings = _reliabilities(data, per_paper, max_total)
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


def _item_results(data: _Loaded, min_responses: int) -> list[ItemResult]:
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
        stats, shares, min_responses=min_responses, marker_agreement=agreement
    )
    out: list[ItemResult] = []
    for i, info in enumerate(data.items):
        result = ItemResult(
            info=info,
            n=int(stats.n[i]),
            facility=float(stats.facility[i]),
            facility_ci=(float(stats.facility_ci[i, 0]), float(stats.facility_ci[i, 1])),
            discrimination=float(stats.discrimination[i]),
            upper_lower=float(stats.upper_lower[i]),
            mark_distribution=_counts(stats.mark_distribution[i], info.marks),
            issued=data.issued.get(info.version_id, 0),
            exposure=data.exposure.get(info.question_id, 0),
            double_marked=int(doubled[i]),
            marker_agreement=float(agreement[i]),
            flags=flags[i],
            last_response_at=data.last_response_at.get(info.version_id),
        )
        if shares is not None and info.options:
            width = info.options
            result.option_n = int(shares.n[i])
            result.option_shares = {
                group: [float(v) for v in np.append(table[i, :width], table[i, -1])]
                for group, table in (
                    ("overall", shares.overall),
                    ("upper", shares.upper),
                    ("lower", shares.lower),
                )
            }
        out.append(result)
    return out


def _counts(row: np.ndarray, marks: int) -> list[int]:
    """Responses earning 0..marks, padded with zeros (the matrix is as wide as the largest mark seen)."""
    out = [int(c) for c in row[: marks + 1]]
    return out + [0] * (marks + 1 - len(out))


def _reliabilities(
    data: _Loaded, per_paper: int, max_total: int
) -> tuple[Reliability | None, list[Reliability]]:
    r = data.responses
    if not per_paper or r.n_scripts == 0:
        return None, []
    matrix = item_stats.position_matrix(r, per_paper)
    matrix = matrix[
        :, ~np.isnan(matrix).all(axis=0)
    ]  # positions no script reached (a shorter paper)
    complete = ~np.isnan(matrix).any(axis=1)
    sitting_of = np.asarray(
        [s if s is not None else -1 for s in data.script_sittings], dtype=np.int64
    )
    # KR-20 where every question on the scripts is worth 1 mark (an all-MCQ paper), alpha otherwise.
    one_mark = (
        np.bincount(r.script, weights=(r.max_marks != 1).astype(np.float64), minlength=r.n_scripts)
        == 0
    )
    overall = _reliability(
        "All sittings", None, matrix[complete], bool(one_mark[complete].all()), max_total
    )
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


def _reliability(
    label: str, sitting_id: int | None, matrix: np.ndarray, all_one_mark: bool, max_total: int
) -> Reliability:
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

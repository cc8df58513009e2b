"""Issuing papers: draw from the eligible bank, record the draw so it can be reproduced for an appeal."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import String, cast, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ..domain.attempt_states import AttemptState
from ..domain.errors import DomainError
from ..domain.papers import DifficultyTarget, Item, ItemPool, Paper, draw_paper, new_seed
from ..extensions import db
from ..models import (
    Apprentice,
    Attempt,
    AttemptQuestion,
    DrawPool,
    ItemExposure,
    Question,
    QuestionVersion,
    Standard,
    User,
)
from . import audit, eligibility, paper_steering
from .banks import eligible_rows, spec_of, to_item


class NoKnowledgeTest(DomainError):
    code = "no_knowledge_test"


@dataclass(frozen=True)
class PoolSnapshot:
    key: str
    items: list[Item]
    version_ids: dict[str, int]  # external id -> question_versions.id
    question_ids: dict[str, int]  # external id -> questions.id
    pool: ItemPool  # built once per snapshot: what draw_paper draws from


# Built pools, per process, by the key of their eligible versions (`_eligible_key`). A version's row
# never changes once written and its fingerprint hashes its content, so an entry can never go stale:
# a review, an import or a new day that changes what is eligible gives a new key and a new entry.
# Only the last few are kept (a bank changes a few times a day at most).
_snapshots: dict[str, PoolSnapshot] = {}
_SNAPSHOTS_KEPT = 4
_building = threading.Lock()


def _pool_key(items: list[Item]) -> str:
    payload = json.dumps([[i.id, i.version] for i in items], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _item_row(item: Item, version_id: int) -> list[Any]:
    return [item.id, item.version, item.type, list(item.ksb), item.marks, item.option_count, sorted(item.enemies), version_id]


def _items_from_rows(rows: list[Any]) -> list[Item]:
    return [
        Item(id=r[0], version=r[1], type=r[2], ksb=tuple(r[3]), marks=r[4], option_count=r[5], enemies=frozenset(r[6]))
        for r in rows
    ]


def _key_of(versions: list[str]) -> str:
    return ",".join(sorted(versions))


def _eligible_key(standard: Standard, today: dt.date) -> str:
    """Which versions are eligible now: "version id:fingerprint" of each, sorted, as one string.

    The database joins the strings in one aggregate, so a draw learns whether its cached pool still
    holds without a Python row per question (10,000 of those cost more than the draw itself).
    """
    label = cast(QuestionVersion.id, String) + ":" + QuestionVersion.fingerprint
    joined = eligible_rows(standard, today, _joined(label))[0][0]
    return _key_of(joined.split(",")) if joined else ""


def _joined(label: Any) -> Any:
    """Every row's label joined with commas, in one value (string_agg / group_concat)."""
    return func.string_agg(label, ",") if db.engine.dialect.name == "postgresql" else func.group_concat(label, ",")


def _build_snapshot(standard: Standard, today: dt.date) -> tuple[str, PoolSnapshot]:
    rows = eligible_rows(standard, today)
    items = [to_item(q, v) for q, v in rows]
    snapshot = PoolSnapshot(
        key=_pool_key(items),
        items=items,
        version_ids={q.external_id: v.id for q, v in rows},
        question_ids={q.external_id: q.id for q, _v in rows},
        pool=ItemPool(items),
    )
    # Keyed by what these rows say (not by the earlier read), so an entry always matches its content.
    return _key_of([f"{v.id}:{v.fingerprint}" for _q, v in rows]), snapshot


def _store_pool(snapshot: PoolSnapshot, now: dt.datetime) -> None:
    """The pool's row, written by the first draw from it (content-addressed: many attempts share it)."""
    if db.session.scalar(select(DrawPool.key).where(DrawPool.key == snapshot.key)) is not None:
        return
    rows = [_item_row(item, snapshot.version_ids[item.id]) for item in snapshot.items]
    # Two first draws at once (two rooms checking in) write the same row: the second one is a no-op.
    db.session.execute(_insert()(DrawPool).values(key=snapshot.key, items=rows, created_at=now).on_conflict_do_nothing())


def _eligible_pool(standard: Standard, today: dt.date) -> PoolSnapshot:
    """The eligible items now, as a built pool (reads only): built once per process per bank state."""
    key = _eligible_key(standard, today)
    snapshot = _snapshots.get(key)
    if snapshot is None:
        with _building:  # the threads of a worker build a new pool once, not once each
            snapshot = _snapshots.get(key)
            if snapshot is None:
                key, snapshot = _build_snapshot(standard, today)
                while len(_snapshots) >= _SNAPSHOTS_KEPT:
                    _snapshots.pop(next(iter(_snapshots)))
                _snapshots[key] = snapshot
    return snapshot


def current_pool(standard: Standard, today: dt.date, now: dt.datetime) -> PoolSnapshot:
    """The eligible items now, stored as a content-addressed pool (one row per distinct bank state).

    The bank's content is loaded and the pool built once per process for each distinct set of
    eligible versions; later draws read only the ids that say which set is eligible now.
    """
    snapshot = _eligible_pool(standard, today)
    _store_pool(snapshot, now)
    return snapshot


def _insert() -> Callable[..., Any]:
    return postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert


def seen_questions(apprentice: Apprentice, standard: Standard) -> set[str]:
    """Every question this apprentice was ever issued for this standard: first attempt, re-sits, re-takes."""
    return set(
        db.session.scalars(
            select(Question.external_id)
            .join(QuestionVersion, QuestionVersion.question_id == Question.id)
            .join(AttemptQuestion, AttemptQuestion.question_version_id == QuestionVersion.id)
            .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
            .where(Attempt.apprentice_id == apprentice.id, Attempt.standard_id == standard.id)
        )
    )


def _exposure(standard: Standard, snapshot: PoolSnapshot) -> dict[str, int]:
    """How often each pool item has been issued, read now (it changes with every paper issued).

    The standard's counts come as one "question id:count,..." string, for the reason in _eligible_key.
    """
    label = cast(ItemExposure.question_id, String) + ":" + cast(ItemExposure.issued, String)
    joined = db.session.scalar(
        select(_joined(label)).join(Question, Question.id == ItemExposure.question_id).where(Question.standard_id == standard.id)
    )
    counts: dict[int, int] = {}
    if joined:
        pairs = np.array(joined.replace(":", ",").split(","), dtype=np.int64).reshape(-1, 2)
        counts = dict(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist()))
    return {ext: counts.get(qid, 0) for ext, qid in snapshot.question_ids.items()}


def _pack_exposure(items: list[Item], exposure: dict[str, int]) -> str:
    array = np.array([exposure.get(i.id, 0) for i in items], dtype="<u4")
    return base64.b64encode(array.tobytes()).decode()


def _unpack_exposure(items: list[Item], packed: str) -> dict[str, int]:
    array = np.frombuffer(base64.b64decode(packed), dtype="<u4")
    return {item.id: int(count) for item, count in zip(items, array)}


@dataclass(frozen=True)
class DrawnPaper:
    """A paper drawn for one apprentice and not yet issued, with what the draw saw (to record it)."""

    apprentice_id: int
    standard_id: int
    snapshot: PoolSnapshot
    seen: set[str]
    exposure: dict[str, int]
    seed: int
    paper: Paper
    difficulty: DifficultyTarget | None = None  # what steered the paper's difficulty, if anything


def draw_for(apprentice: Apprentice, standard: Standard, *, now: dt.datetime, seed: int | None = None) -> DrawnPaper:
    """Draw a paper (reads only): done before a write lock is taken, then issued by issue_paper.

    Once items have statistics the paper is steered to the bank's difficulty target
    (services.paper_steering). Raises PaperShortfall (naming what ran out) rather than relax any rule.
    """
    spec = spec_of(standard)
    if spec.knowledge_test is None:
        raise NoKnowledgeTest(f"{standard.code} has no knowledge test to draw a paper for.")
    snapshot = _eligible_pool(standard, now.date())
    seen = seen_questions(apprentice, standard)
    exposure = _exposure(standard, snapshot)
    seed = new_seed() if seed is None else int(seed)
    difficulty = paper_steering.steering_for(standard, spec, snapshot)
    paper = draw_paper(
        snapshot.pool, spec.knowledge_test.blueprint, seed=seed, seen=seen, exposure=exposure, difficulty_target=difficulty
    )
    return DrawnPaper(apprentice.id, standard.id, snapshot, seen, exposure, seed, paper, difficulty)


def issue_paper(
    apprentice: Apprentice,
    standard: Standard,
    *,
    now: dt.datetime,
    actor: User | None,
    sitting_id: int | None = None,
    seed: int | None = None,
    extra_percent: int = 0,
    extra_minutes: int = 0,
    drawn: DrawnPaper | None = None,
) -> Attempt:
    """Draw a paper for this apprentice (or take the one `draw_for` drew) and record it as a not-yet-started attempt.

    Only for an apprentice eligible for the knowledge test now (services.eligibility; Ineligible
    names the rule otherwise), and the attempt's kind (first, resit, retake) is the one eligibility
    derives from the history, never chosen by the caller. Raises PaperShortfall (naming what ran
    out) rather than relax any rule. The caller commits.
    """
    spec = spec_of(standard)
    if spec.knowledge_test is None:
        raise NoKnowledgeTest(f"{standard.code} has no knowledge test to draw a paper for.")
    kind = eligibility.check(apprentice, standard, spec.knowledge_test.method, today=now.date()).kind.value
    if drawn is None or (drawn.apprentice_id, drawn.standard_id) != (apprentice.id, standard.id):
        drawn = draw_for(apprentice, standard, now=now, seed=seed)
    snapshot = drawn.snapshot
    _store_pool(snapshot, now)
    inputs: dict[str, Any] = {
        "pool": snapshot.key,
        "seen": sorted(drawn.seen),
        "exposure": _pack_exposure(snapshot.items, drawn.exposure),
        "blueprint": {t: [q.count, q.marks] for t, q in spec.knowledge_test.blueprint.quotas.items()},
        "required_ksbs": list(spec.knowledge_test.blueprint.required_ksbs),
    }
    if drawn.difficulty is not None:
        inputs["difficulty"] = paper_steering.pack(snapshot.items, drawn.difficulty)
    attempt = Attempt(
        apprentice_id=apprentice.id,
        standard_id=standard.id,
        sitting_id=sitting_id,
        kind=kind,
        state=AttemptState.NOT_STARTED.value,
        seed=drawn.seed,
        draw_inputs=inputs,
        issued_at=now,
        base_minutes=spec.knowledge_test.duration_minutes,
        extra_percent=extra_percent,
        extra_minutes=extra_minutes,
    )
    db.session.add(attempt)
    db.session.flush()
    db.session.execute(
        insert(AttemptQuestion),
        [
            {
                "attempt_id": attempt.id,
                "position": position,
                "question_version_id": snapshot.version_ids[question.item_id],
                "option_order": list(question.option_order) if question.option_order is not None else None,
                "marks": question.marks,
            }
            for position, question in enumerate(drawn.paper.questions, start=1)
        ],
    )
    _count_exposure([snapshot.question_ids[q.item_id] for q in drawn.paper.questions])
    db.session.flush()
    audit.record(
        actor,
        "paper.issue",
        attempt,
        after={"apprentice": apprentice.candidate_number, "standard": standard.code, "seed": drawn.seed, "kind": kind},
    )
    return attempt


def _count_exposure(question_ids: list[int]) -> None:
    """Count each issued question once more (a question issued for the first time gets its row)."""
    statement = _insert()(ItemExposure).on_conflict_do_update(
        index_elements=[ItemExposure.question_id], set_={"issued": ItemExposure.issued + 1}
    )
    db.session.execute(statement, [{"question_id": qid, "issued": 1} for qid in question_ids])


def reproduce_paper(attempt: Attempt) -> tuple[Paper, bool]:
    """Redraw an attempt's paper from its stored seed and inputs; say whether it matches what was issued."""
    from ..domain.standards import Blueprint, TypeQuota

    inputs = attempt.draw_inputs
    pool = db.session.get(DrawPool, inputs["pool"])
    if pool is None:
        raise DomainError("The draw pool for this attempt is missing.", code="pool_missing")
    items = _items_from_rows(pool.items)
    blueprint = Blueprint(
        quotas={t: TypeQuota(count=c, marks=m) for t, (c, m) in inputs["blueprint"].items()},
        required_ksbs=tuple(inputs["required_ksbs"]),
    )
    difficulty = paper_steering.unpack(items, inputs["difficulty"]) if "difficulty" in inputs else None
    paper = draw_paper(
        items,
        blueprint,
        seed=attempt.seed,
        seen=set(inputs["seen"]),
        exposure=_unpack_exposure(items, inputs["exposure"]),
        difficulty_target=difficulty,
    )
    version_ids = {row[0]: row[7] for row in pool.items}
    issued = [(aq.question_version_id, aq.option_order) for aq in attempt.questions]
    redrawn = [(version_ids[q.item_id], list(q.option_order) if q.option_order is not None else None) for q in paper.questions]
    return paper, issued == redrawn

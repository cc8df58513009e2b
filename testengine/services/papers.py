"""Issuing papers: draw from the eligible bank, record the draw so it can be reproduced for an appeal."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select

from ..domain.errors import DomainError
from ..domain.papers import Item, ItemPool, Paper, draw_paper, new_seed
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
from . import audit
from .banks import eligible_rows, spec_of, to_item


class NoKnowledgeTest(DomainError):
    code = "no_knowledge_test"


@dataclass(frozen=True)
class PoolSnapshot:
    key: str
    items: list[Item]
    version_ids: dict[str, int]  # external id -> question_versions.id
    question_ids: dict[str, int]  # external id -> questions.id


_pool_cache: dict[str, ItemPool] = {}


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


def current_pool(standard: Standard, today: dt.date, now: dt.datetime) -> PoolSnapshot:
    """The eligible items now, stored as a content-addressed pool (one row per distinct bank state)."""
    rows = eligible_rows(standard, today)
    items = [to_item(q, v) for q, v in rows]
    key = _pool_key(items)
    if db.session.get(DrawPool, key) is None:
        db.session.add(DrawPool(key=key, items=[_item_row(to_item(q, v), v.id) for q, v in rows], created_at=now))
        db.session.flush()
    return PoolSnapshot(
        key=key,
        items=items,
        version_ids={q.external_id: v.id for q, v in rows},
        question_ids={q.external_id: q.id for q, _v in rows},
    )


def _item_pool(key: str, items: list[Item]) -> ItemPool:
    # Immutable content addressed by its hash, so a per-process cache cannot go stale.
    pool = _pool_cache.get(key)
    if pool is None:
        pool = _pool_cache[key] = ItemPool(items)
    return pool


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


def _exposure(snapshot: PoolSnapshot) -> dict[str, int]:
    counts = dict(
        db.session.execute(
            select(ItemExposure.question_id, ItemExposure.issued).where(
                ItemExposure.question_id.in_(list(snapshot.question_ids.values()))
            )
        ).all()
    )
    return {ext: counts.get(qid, 0) for ext, qid in snapshot.question_ids.items()}


def _pack_exposure(items: list[Item], exposure: dict[str, int]) -> str:
    array = np.array([exposure.get(i.id, 0) for i in items], dtype="<u4")
    return base64.b64encode(array.tobytes()).decode()


def _unpack_exposure(items: list[Item], packed: str) -> dict[str, int]:
    array = np.frombuffer(base64.b64decode(packed), dtype="<u4")
    return {item.id: int(count) for item, count in zip(items, array)}


def issue_paper(
    apprentice: Apprentice,
    standard: Standard,
    *,
    now: dt.datetime,
    actor: User | None,
    sitting_id: int | None = None,
    kind: str = "first",
    seed: int | None = None,
    extra_percent: int = 0,
    extra_minutes: int = 0,
) -> Attempt:
    """Draw a paper for this apprentice and record it as a not-yet-started attempt.

    Raises PaperShortfall (naming what ran out) rather than relax any rule. The caller commits.
    """
    spec = spec_of(standard)
    if spec.knowledge_test is None:
        raise NoKnowledgeTest(f"{standard.code} has no knowledge test to draw a paper for.")
    snapshot = current_pool(standard, now.date(), now)
    seen = seen_questions(apprentice, standard)
    exposure = _exposure(snapshot)
    seed = new_seed() if seed is None else int(seed)
    paper = draw_paper(
        _item_pool(snapshot.key, snapshot.items), spec.knowledge_test.blueprint, seed=seed, seen=seen, exposure=exposure
    )
    attempt = Attempt(
        apprentice_id=apprentice.id,
        standard_id=standard.id,
        sitting_id=sitting_id,
        kind=kind,
        state="not_started",
        seed=seed,
        draw_inputs={
            "pool": snapshot.key,
            "seen": sorted(seen),
            "exposure": _pack_exposure(snapshot.items, exposure),
            "blueprint": {t: [q.count, q.marks] for t, q in spec.knowledge_test.blueprint.quotas.items()},
            "required_ksbs": list(spec.knowledge_test.blueprint.required_ksbs),
        },
        issued_at=now,
        base_minutes=spec.knowledge_test.duration_minutes,
        extra_percent=extra_percent,
        extra_minutes=extra_minutes,
    )
    db.session.add(attempt)
    db.session.flush()
    db.session.add_all(
        AttemptQuestion(
            attempt_id=attempt.id,
            position=position,
            question_version_id=snapshot.version_ids[question.item_id],
            option_order=list(question.option_order) if question.option_order is not None else None,
            marks=question.marks,
        )
        for position, question in enumerate(paper.questions, start=1)
    )
    _count_exposure([snapshot.question_ids[q.item_id] for q in paper.questions])
    db.session.flush()
    audit.record(
        actor, "paper.issue", attempt,
        after={"apprentice": apprentice.candidate_number, "standard": standard.code, "seed": seed, "kind": kind},
    )
    return attempt


def _count_exposure(question_ids: list[int]) -> None:
    existing = set(
        db.session.scalars(select(ItemExposure.question_id).where(ItemExposure.question_id.in_(question_ids)))
    )
    for qid in question_ids:
        if qid not in existing:
            db.session.add(ItemExposure(question_id=qid, issued=0))
    db.session.flush()
    db.session.execute(
        ItemExposure.__table__.update()
        .where(ItemExposure.question_id.in_(question_ids))
        .values(issued=ItemExposure.issued + 1)
    )


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
    paper = draw_paper(
        items, blueprint, seed=attempt.seed, seen=set(inputs["seen"]), exposure=_unpack_exposure(items, inputs["exposure"])
    )
    version_ids = {row[0]: row[7] for row in pool.items}
    issued = [(aq.question_version_id, aq.option_order) for aq in attempt.questions]
    redrawn = [
        (version_ids[q.item_id], list(q.option_order) if q.option_order is not None else None) for q in paper.questions
    ]
    return paper, issued == redrawn

"""The vectorised loader of services.statistics against a plain per-row reading of the same rows.

`statistics.load` reads integer columns straight into NumPy and decides the mark that stands with
array operations. `reference_load` below is the straightforward version: ORM rows, one response
at a time, the latest mark per role by (created_at, id) in a dict, `standing_mark` and `_choice` per
response. On a generated set of scripts with re-marks, moderation, disagreements still waiting,
markers who changed their mark (in and out of id order), odd MCQ answers and unmarked responses,
both must give the same arrays and the same statistics, number for number.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from testengine.domain.item_stats import Responses
from testengine.domain.mark_standing import standing_mark
from testengine.extensions import db
from testengine.models import (
    Answer,
    Attempt,
    AttemptQuestion,
    ItemExposure,
    Mark,
    Question,
    QuestionVersion,
)
from testengine.services import int_columns, statistics, statistics_load
from testengine.services.statistics import ItemInfo, bank_statistics

# --- the reference: one response at a time ----------------------------------------------------


def reference_load(standard: Any) -> statistics._Loaded:
    scripts = (Attempt.standard_id == standard.id, Attempt.state == "submitted")
    latest: dict[int, dict[str, int]] = defaultdict(dict)
    for mark in db.session.scalars(
        select(Mark).join(Attempt, Attempt.id == Mark.attempt_id).where(*scripts).order_by(Mark.created_at, Mark.id)
    ):
        latest[mark.attempt_question_id][mark.role] = mark.mark
    attempts = db.session.scalars(select(Attempt).where(*scripts).order_by(Attempt.id)).all()
    rows = []
    for attempt in attempts:
        for aq in attempt.questions:  # by position
            answer = db.session.scalar(select(Answer).where(Answer.attempt_question_id == aq.id))
            rows.append((attempt, aq, answer.response if answer else None))
    known = set(statistics.ROLES)  # a role the rule does not know is ignored
    final = {aq.id: standing_mark(**{r: m for r, m in latest.get(aq.id, {}).items() if r in known}) for _a, aq, _r in rows}
    waiting = {attempt.id for attempt, aq, _r in rows if final[aq.id] is None}

    items: list[ItemInfo] = []
    item_of: dict[int, int] = {}
    script_of: dict[int, int] = {}
    sittings: list[int] = []
    cols: dict[str, list[Any]] = defaultdict(list)
    pairs: tuple[list[int], list[int], list[int]] = ([], [], [])
    last_at: dict[int, dt.datetime] = {}
    for attempt, aq, response in rows:
        version = aq.version
        if version.id not in item_of:
            item_of[version.id] = len(items)
            items.append(_info(version))
        info = items[item_of[version.id]]
        roles = latest.get(aq.id, {})
        if "first" in roles and "second" in roles:
            pairs[0].append(item_of[version.id])
            pairs[1].append(roles["first"])
            pairs[2].append(roles["second"])
        if attempt.id in waiting:
            continue
        if attempt.submitted_at is not None and (version.id not in last_at or attempt.submitted_at > last_at[version.id]):
            last_at[version.id] = attempt.submitted_at
        if attempt.id not in script_of:
            script_of[attempt.id] = len(script_of)
            sittings.append(attempt.sitting_id if attempt.sitting_id is not None else -1)
        cols["script"].append(script_of[attempt.id])
        cols["item"].append(item_of[version.id])
        cols["score"].append(final[aq.id])
        cols["max"].append(aq.marks)
        cols["choice"].append(statistics._choice(response, info.options))
        cols["position"].append(aq.position - 1)
    issued: dict[int, int] = defaultdict(int)
    for aq in db.session.scalars(select(AttemptQuestion)):
        if aq.version.question.standard_id == standard.id:
            issued[aq.question_version_id] += 1
    exposure = {
        row.question_id: row.issued
        for row in db.session.scalars(select(ItemExposure))
        if db.session.get(Question, row.question_id).standard_id == standard.id
    }
    return statistics._Loaded(
        items=items,
        responses=Responses(
            script=np.asarray(cols["script"], dtype=np.int64),
            item=np.asarray(cols["item"], dtype=np.int64),
            score=np.asarray(cols["score"], dtype=np.float64),
            max_marks=np.asarray(cols["max"], dtype=np.float64),
            choice=np.asarray(cols["choice"], dtype=np.int64),
            position=np.asarray(cols["position"], dtype=np.int64),
        ),
        script_attempts=list(script_of),
        script_sittings=np.asarray(sittings, dtype=np.int64),
        pairs=tuple(np.asarray(p, dtype=np.int64) for p in pairs),
        issued=dict(issued),
        exposure=exposure,
        last_response_at=last_at,
        awaiting=len(waiting),
    )


def _info(version: QuestionVersion) -> ItemInfo:
    options = version.content.get("options") or []
    return ItemInfo(
        question_id=version.question_id,
        external_id=version.question.external_id,
        version_id=version.id,
        version=version.version,
        type=version.type,
        ksb=tuple(version.ksb),
        marks=version.marks,
        options=len(options),
        key=next((i for i, o in enumerate(options) if o.get("correct")), -1),
    )


def by_response(data: statistics._Loaded) -> dict[tuple[int, int], tuple[Any, ...]]:
    """Each counted response by (attempt, position), whatever the order of items and rows."""
    r = data.responses
    assert r.choice is not None and r.position is not None
    return {
        (data.script_attempts[s], p): (data.items[i].version_id, score, top, choice)
        for s, i, score, top, choice, p in zip(
            r.script.tolist(),
            r.item.tolist(),
            r.score.tolist(),
            r.max_marks.tolist(),
            r.choice.tolist(),
            r.position.tolist(),
        )
    }


def assert_same_load(got: statistics._Loaded, want: statistics._Loaded) -> None:
    assert {i.version_id: i for i in got.items} == {i.version_id: i for i in want.items}
    assert by_response(got) == by_response(want)
    # Same rows in the same (paper) order, so every sum in the statistics adds up alike.
    order = [(got.script_attempts[s], p) for s, p in zip(got.responses.script.tolist(), got.responses.position.tolist())]
    assert order == sorted(order)
    assert got.script_attempts == want.script_attempts
    assert got.script_sittings.tolist() == want.script_sittings.tolist()

    def pairs(data: statistics._Loaded) -> list[tuple[int, int, int]]:
        item, first, second = data.pairs
        return sorted(zip((data.items[i].version_id for i in item.tolist()), first.tolist(), second.tolist()))

    assert pairs(got) == pairs(want)
    assert got.issued == want.issued and got.exposure == want.exposure
    assert got.last_response_at == want.last_response_at
    assert got.awaiting == want.awaiting


# --- a generated set of scripts --------------------------------------------------------------

MCQ_ANSWERS = ["key", "wrong", None, "", "0", " 1", "01", "\u0661", "9", "x", "2 ", "3", "\uff12"]
SA_ANSWERS = ["The employer's duty", "42", None, "", "  7 ", "£5"]
SA_MARKS: list[dict[str, int]] = [
    {"first": 2},
    {"first": 1},
    {"first": 0, "second": 0},
    {"first": 2, "second": 1},  # disagreement: waits for a moderator
    {"first": 2, "second": 0, "moderator": 1},
    {"first": 1, "remark": 2},
    {"first": 1, "second": 2, "moderator": 0, "remark": 1},
    {"moderator": 2},
    {"second": 1},  # a second mark alone decides nothing
    {"auto": 0, "second": 2},
    {"auto": 0},
    {},  # not marked yet
]


def _versions(standard: Any, type_: str, n: int) -> list[QuestionVersion]:
    return list(
        db.session.scalars(
            select(QuestionVersion)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(
                Question.standard_id == standard.id,
                QuestionVersion.version == Question.current_version,
                QuestionVersion.type == type_,
            )
            .order_by(Question.external_id)
            .limit(n)
        )
    )


@pytest.fixture
def generated(st0663: Any, scripts: Any, sittings: Any, clock: Any) -> dict[str, Any]:
    rng = random.Random(20_240_611)
    mcqs, sas = _versions(st0663, "mcq", 4), _versions(st0663, "short_answer", 3)
    assert len(mcqs) == 4 and len(sas) == 3
    attempts = []
    for n in range(40):
        chosen = rng.sample(mcqs + sas, rng.randint(4, 7))
        answers = []
        for version in chosen:
            if version.type == "mcq":
                key = next(i for i, o in enumerate(version.content["options"]) if o["correct"])
                picked = rng.choice(MCQ_ANSWERS)
                response = {"key": str(key), "wrong": str((key + 1) % 4)}.get(picked, picked)
                marks = rng.choice([{"auto": int(response == str(key))}] * 6 + [{"auto": 0, "remark": 1}, {}])
            else:
                response = rng.choice(SA_ANSWERS)
                marks = rng.choice(SA_MARKS[:3] * 3 + SA_MARKS)
            answers.append((version, response, marks))
        state = "in_progress" if n % 13 == 5 else "submitted"
        sitting = [sittings[0], sittings[1], None][n % 3]
        attempts.append(scripts.add(answers, sitting=sitting, state=state))
    # Markers who changed their mark: more rows of one role, not always written in time order.
    now = clock.now()
    aq_ids = [aq.id for a in attempts for aq in a.questions if aq.version.type == "short_answer"]
    for aq_id in rng.sample(aq_ids, 25):
        aq = db.session.get(AttemptQuestion, aq_id)
        for role in rng.sample(["first", "second", "moderator", "remark"], 2):
            for _ in range(rng.randint(1, 3)):
                created = now + dt.timedelta(seconds=rng.choice([-60, 0, 0, 30, 600]))
                db.session.add(
                    Mark(
                        attempt_question_id=aq.id,
                        attempt_id=aq.attempt_id,
                        role=role,
                        mark=rng.randint(0, 2),
                        created_at=created,
                    )
                )
        db.session.add(
            Mark(
                attempt_question_id=aq.id,
                attempt_id=aq.attempt_id,
                role="auditor",
                mark=0,
                created_at=now,
            )
        )
    attempts[1].submitted_at = None  # a submitted attempt without its time recorded
    db.session.commit()
    return {"attempts": attempts}


# --- the tests -------------------------------------------------------------------------------


def test_generated_data_has_what_the_comparison_needs(st0663, generated):
    data = reference_load(st0663)
    assert data.awaiting >= 3 and len(data.script_attempts) >= 15
    choices = set(data.responses.choice.tolist())
    assert {
        -2,
        -1,
        0,
        1,
        2,
    } <= choices  # short answers, blanks and options, " 1" and "\u0661" among them
    repeated = db.session.execute(
        select(func.count()).select_from(
            select(Mark.attempt_question_id, Mark.role)
            .group_by(Mark.attempt_question_id, Mark.role)
            .having(func.count() > 1)
            .subquery()
        )
    ).scalar()
    assert repeated >= 20
    roles = set(db.session.scalars(select(Mark.role).distinct()))
    assert roles == {"auto", "first", "second", "moderator", "remark", "auditor"}


def test_fast_loader_gives_the_same_arrays_as_the_per_row_reading(st0663, generated):
    assert_same_load(statistics.load(st0663), reference_load(st0663))


def test_fast_loader_gives_the_same_statistics_as_the_per_row_reading(st0663, generated, monkeypatch):
    got = bank_statistics(st0663, min_responses=5)
    monkeypatch.setattr(statistics, "load", reference_load)
    want = bank_statistics(st0663, min_responses=5)
    assert got.as_dict() == want.as_dict()
    assert [i.info.external_id for i in got.items] == [i.info.external_id for i in want.items]
    for mine, theirs in zip(got.items, want.items):
        assert mine.last_response_at == theirs.last_response_at
        for a, b in (
            (mine.facility, theirs.facility),
            (mine.discrimination, theirs.discrimination),
            (mine.upper_lower, theirs.upper_lower),
            (mine.marker_agreement, theirs.marker_agreement),
        ):
            assert a == b or (math.isnan(a) and math.isnan(b))
        assert mine.option_shares == theirs.option_shares


def test_values_too_wide_to_pack_are_read_one_column_at_a_time(st0663, generated, clock):
    """A mark, allocation or position beyond 16 bits cannot be packed: the select is read plainly."""
    counted = reference_load(st0663).script_attempts[0]
    aq = db.session.get(Attempt, counted).questions[0]
    aq.position, aq.marks = 70_000, 70_000
    db.session.add(
        Mark(
            attempt_question_id=aq.id,
            attempt_id=aq.attempt_id,
            role="remark",
            mark=69_999,
            created_at=clock.now() + dt.timedelta(hours=1),
        )
    )
    db.session.commit()
    got = statistics.load(st0663)
    assert 69_999.0 in got.responses.score.tolist()
    assert_same_load(got, reference_load(st0663))


def test_packed_columns_equal_plain_ones(st0663, generated):
    stmt = select(AttemptQuestion.id).where(AttemptQuestion.position > 0)
    plain = sorted(db.session.execute(select(AttemptQuestion.id, AttemptQuestion.position, AttemptQuestion.marks)).all())
    for width in (16, 1):  # positions above 1 do not fit 1 bit: read again, plainly
        columns = int_columns.int_columns(
            stmt,
            [
                statistics_load.Field(AttemptQuestion.id, statistics_load.ID_BITS),
                statistics_load.Field(AttemptQuestion.position, width),
            ],
            [statistics_load.Field(AttemptQuestion.marks, 16)],
        )
        assert sorted(zip(*(c.tolist() for c in columns))) == plain


def test_stands_array_is_the_domain_rule_for_every_set_of_roles():
    cases = []
    for given in itertools.product((False, True), repeat=len(statistics.ROLES)):
        for values in itertools.product((0, 2), repeat=sum(given)):
            it = iter(values)
            cases.append({role: next(it) for role, has in zip(statistics.ROLES, given) if has})
    latest = np.zeros((len(statistics.ROLES), len(cases)), dtype=np.int64)
    given_array = np.zeros_like(latest, dtype=bool)
    for k, case in enumerate(cases):
        for role, mark in case.items():
            latest[statistics.ROLES.index(role), k] = mark
            given_array[statistics.ROLES.index(role), k] = True
    got = statistics.stands_array(latest, given_array).tolist()
    assert [None if math.isnan(v) else v for v in got] == [standing_mark(**c) for c in cases]

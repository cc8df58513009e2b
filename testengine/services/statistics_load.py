"""Loading item statistics' inputs: every submitted script of a standard with the marks that stand,
read as integer columns straight into NumPy (see `load`).

What counts (the rules services.statistics computes on):
- Scripts are SUBMITTED attempts of one standard whose every question has a mark that stands.
  A script still waiting for a marker or a moderator is left out whole (and counted in
  `awaiting`), because a half-marked total would make every item on it look worse.
- The mark that stands for a response is domain.mark_standing's, from each role's latest mark.
- An item is a question VERSION: a revised wording is a different item with its own evidence.
- MCQ choices are the ORIGINAL option index the apprentice picked (Answer.response "0".."3").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Integer, and_, case, cast, func, or_, select

from ..domain.attempt_states import AttemptState
from ..domain.item_stats import Responses
from ..domain.mark_standing import MarkRole, standing_marks_array
from ..extensions import db
from ..models import Answer, Attempt, AttemptQuestion, ItemExposure, Mark, Question, QuestionVersion, Standard
from .int_columns import Field, Lookup, chunks, dense, int_columns, int_rows

SUBMITTED = AttemptState.SUBMITTED.value
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


# Mark.role as a small integer, so that the database hands back numbers rather than strings.
ROLES = tuple(role.value for role in MarkRole)
FIRST, SECOND = ROLES.index(MarkRole.FIRST), ROLES.index(MarkRole.SECOND)
OTHER_ROLE = len(ROLES)  # a role the rule does not know, so ignores
# An answer as SQL reads it: a plain digit "0".."9" is its own code, other text OTHER_TEXT (left
# to _choice in Python; rare, as the browser saves an option index).
OTHER_TEXT = 10
ID_BITS = 31  # ids fit PostgreSQL's INTEGER
SMALL_BITS = 16  # paper positions, marks and codes


def stands_array(latest: np.ndarray, given: np.ndarray) -> np.ndarray:
    """The mark that stands for many responses (domain.mark_standing): `latest[role, k]` is
    response k's latest mark of the role ROLES[role] and `given[role, k]` whether it has one.
    NaN where nothing stands yet."""
    return standing_marks_array(**{role: np.where(given[code], latest[code], np.nan) for code, role in enumerate(ROLES)})


@dataclass
class _Loaded:
    items: list[ItemInfo]
    responses: Responses
    script_attempts: list[int]
    script_sittings: np.ndarray  # sitting id per script, -1 for a script outside any sitting
    # item, first and second mark of every double-marked response (scripts still marked included)
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]
    issued: dict[int, int]  # version id -> times issued
    exposure: dict[int, int]  # question id -> times issued
    last_response_at: dict[int, dt.datetime | None]  # version id -> latest submission
    awaiting: int


def _latest_marks(scripts: Any, aq_ids: np.ndarray, find: Lookup) -> tuple[np.ndarray, np.ndarray]:
    """Each response's latest mark per role, as (latest[role, k], given[role, k]) for the
    responses `aq_ids`, the last one written winning (by creation time, then id).

    Most responses carry one mark per role, which needs no order: all marks are read unordered,
    and only the responses with two marks of one role (a marker who changed their mark) again in
    order.
    """
    role = case(*((Mark.role == name, code) for code, name in enumerate(ROLES)), else_=OTHER_ROLE)
    aq_id, r, value = int_columns(
        select(Mark.id).join(Attempt, Attempt.id == Mark.attempt_id).where(*scripts),
        [
            Field(Mark.attempt_question_id, ID_BITS),
            Field(role, 3, checked=False),
            Field(Mark.mark, SMALL_BITS),
        ],
    )
    k = find(aq_id)
    keep = (k >= 0) & (r != OTHER_ROLE)
    k, r, value = k[keep], r[keep], value[keep]
    latest = np.zeros((len(ROLES), aq_ids.size), dtype=np.int64)
    given = np.zeros((len(ROLES), aq_ids.size), dtype=bool)
    latest[r, k], given[r, k] = value, True
    if int(given.sum()) == k.size:  # one mark per role and response: nothing to order
        return latest, given
    cells, counts = np.unique(k * len(ROLES) + r, return_counts=True)
    repeated = np.unique(cells[counts > 1] // len(ROLES))
    response_of = dict(zip(aq_ids[repeated].tolist(), repeated.tolist()))
    for chunk in chunks(response_of):
        for one_aq, role_name, mark in db.session.execute(
            select(Mark.attempt_question_id, Mark.role, Mark.mark)
            .join(Attempt, Attempt.id == Mark.attempt_id)
            .where(*scripts, Mark.attempt_question_id.in_(chunk))
            .order_by(Mark.created_at, Mark.id)
        ):
            if role_name in ROLES:
                latest[ROLES.index(role_name), response_of[one_aq]] = mark
    return latest, given


def _choice(response: str | None, options: int) -> int:
    if not options:
        return NO_CHOICE
    text = (response or "").strip()
    if not text.isdecimal() or int(text) >= options:
        return BLANK
    return int(text)


def _choices(scripts: Any, aq_ids: np.ndarray, options: np.ndarray) -> np.ndarray:
    """`_choice` for the responses `aq_ids`, `options[k]` being the option count of response k's
    question. A plain digit is read in SQL, and text with a letter in it (lower and upper case
    differ) is no option index: only what is left, rare, goes through Python."""
    plain = Answer.response.in_([str(d) for d in range(10)])
    no_letter = and_(Answer.response != "", func.lower(Answer.response) == func.upper(Answer.response))
    aq_id, code = int_columns(
        select(Answer.id).join(Attempt, Attempt.id == Answer.attempt_id).where(*scripts, or_(plain, no_letter)),
        [
            Field(Answer.attempt_question_id, ID_BITS),
            Field(case((plain, cast(Answer.response, Integer)), else_=OTHER_TEXT), 4, checked=False),
        ],
    )
    read = np.full(aq_ids.size, BLANK, dtype=np.int64)  # no answer, or not an option index
    at = Lookup(aq_ids)(aq_id)
    read[at[at >= 0]] = code[at >= 0]
    choice = np.where((read >= 0) & (read < OTHER_TEXT) & (read < options), read, BLANK)
    odd = np.flatnonzero((read == OTHER_TEXT) & (options > 0))
    response_of = dict(zip(aq_ids[odd].tolist(), odd.tolist()))
    for chunk in chunks(response_of):
        for one_aq, response in db.session.execute(
            select(Answer.attempt_question_id, Answer.response).where(Answer.attempt_question_id.in_(chunk))
        ):
            k = response_of[one_aq]
            choice[k] = _choice(response, int(options[k]))
    return np.where(options > 0, choice, NO_CHOICE)


def load(standard: Standard) -> _Loaded:
    """Every submitted script of `standard` with the marks that stand, as long-format arrays.

    Integer columns only, from the driver straight into NumPy (no ORM objects, no Rows, no Python
    loop over responses): at a year of sittings the row handling, not the arithmetic, is what
    takes the time. Marks and answers are those written for a script (Mark.attempt_id,
    Answer.attempt_id), matched to their response by its id.
    """
    scripts = (Attempt.standard_id == standard.id, Attempt.state == SUBMITTED)
    attempt, aq_ids, version, position, max_marks = int_columns(
        select(AttemptQuestion.id).join(Attempt, Attempt.id == AttemptQuestion.attempt_id).where(*scripts),
        [Field(AttemptQuestion.attempt_id, ID_BITS), Field(AttemptQuestion.id, ID_BITS)],
        [
            Field(AttemptQuestion.question_version_id, ID_BITS),
            Field(AttemptQuestion.position, SMALL_BITS),
            Field(AttemptQuestion.marks, SMALL_BITS),
        ],
    )
    # Paper order, by attempt and position: the order the statistics have always summed in.
    step = np.diff(attempt)
    if (step < 0).any() or ((step == 0) & (np.diff(position) <= 0)).any():
        order = np.lexsort((position, attempt))
        attempt, aq_ids, version = attempt[order], aq_ids[order], version[order]
        position, max_marks = position[order], max_marks[order]

    latest, given = _latest_marks(scripts, aq_ids, Lookup(aq_ids))
    final = stands_array(latest, given)
    waiting = np.unique(attempt[np.isnan(final)])
    complete = ~np.isin(attempt, waiting)

    version_ids, item = dense(version)
    versions = _versions(set(version_ids.tolist()))
    items = [versions[v] for v in version_ids.tolist()]  # item i is version_ids[i]
    doubled = given[FIRST] & given[SECOND]
    pairs = (item[doubled], latest[FIRST][doubled], latest[SECOND][doubled])

    options = np.asarray([info.options for info in items], dtype=np.int64)
    choice = _choices(scripts, aq_ids[complete], options[item[complete]])
    script_attempts, script = dense(attempt[complete])
    sittings, submitted_rank, by_rank = _attempts(scripts)
    at = Lookup(by_rank)(script_attempts)  # -1 (not found) picks the -1 appended
    responses = Responses(
        script=script,
        item=item[complete],
        score=final[complete],
        max_marks=max_marks[complete].astype(np.float64),
        choice=choice,
        position=position[complete] - 1,  # papers number positions from 1
    )
    last_at = _last_response_at(
        version_ids.tolist(),
        responses.item,
        np.append(submitted_rank, -1)[at][responses.script],
        by_rank,
    )
    return _Loaded(
        items=items,
        responses=responses,
        script_attempts=script_attempts.tolist(),
        script_sittings=np.append(sittings, -1)[at],
        pairs=pairs,
        issued=_issued(standard),
        exposure=dict(
            db.session.execute(
                select(ItemExposure.question_id, ItemExposure.issued)
                .join(Question, Question.id == ItemExposure.question_id)
                .where(Question.standard_id == standard.id)
            ).all()
        ),
        last_response_at=last_at,
        awaiting=int(waiting.size),
    )


def _issued(standard: Standard) -> dict[int, int]:
    """Times each version of the standard's questions was issued, on any paper."""
    return dict(
        db.session.execute(
            select(AttemptQuestion.question_version_id, func.count())
            .where(
                AttemptQuestion.question_version_id.in_(
                    select(QuestionVersion.id)
                    .join(Question, Question.id == QuestionVersion.question_id)
                    .where(Question.standard_id == standard.id)
                )
            )
            .group_by(AttemptQuestion.question_version_id)
        ).all()
    )


def _attempts(scripts: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The scripts in order of submission: (sitting or -1, place in that order or -1 where no
    time was recorded, attempt id)."""
    rows = int_rows(
        select(
            func.coalesce(Attempt.sitting_id, -1),
            case((Attempt.submitted_at.is_(None), 0), else_=1),
            Attempt.id,
        )
        .where(*scripts)
        .order_by(Attempt.submitted_at, Attempt.id)
    )
    return rows[:, 0], np.where(rows[:, 1] == 1, np.arange(rows.shape[0]), -1), rows[:, 2]


def _last_response_at(
    version_ids: list[int], item: np.ndarray, rank: np.ndarray, by_rank: np.ndarray
) -> dict[int, dt.datetime | None]:
    """Per version, the latest submission among the counted scripts that included it."""
    latest = np.full(len(version_ids), -1, dtype=np.int64)
    np.maximum.at(latest, item, rank)
    has = np.flatnonzero(latest >= 0)
    winners = by_rank[latest[has]]
    when: dict[int, dt.datetime | None] = {}
    for chunk in chunks(winners):
        when.update(db.session.execute(select(Attempt.id, Attempt.submitted_at).where(Attempt.id.in_(chunk))).all())
    return {version_ids[i]: when[a] for i, a in zip(has.tolist(), winners.tolist())}


# A version's option count and correct option, per process, by the version's fingerprint (a
# hash of its type, KSBs, marks, stem and content: banks.questions): an entry never goes stale,
# and each version's content JSON is read once, not on every look at the statistics.
_OPTIONS: dict[str, tuple[int, int]] = {}


def _versions(version_ids: set[int]) -> dict[int, ItemInfo]:
    rows: list[Any] = []
    for chunk in chunks(version_ids):
        rows += db.session.execute(
            select(
                QuestionVersion.id,
                QuestionVersion.question_id,
                QuestionVersion.version,
                QuestionVersion.type,
                QuestionVersion.ksb,
                QuestionVersion.marks,
                QuestionVersion.fingerprint,
                Question.external_id,
            )
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(QuestionVersion.id.in_(chunk))
        ).all()
    unread = [row[0] for row in rows if row[6] not in _OPTIONS]
    for chunk in chunks(unread):
        for fingerprint, content in db.session.execute(
            select(QuestionVersion.fingerprint, QuestionVersion.content).where(QuestionVersion.id.in_(chunk))
        ):
            options = content.get("options") or []
            key = next((i for i, option in enumerate(options) if option.get("correct")), -1)
            _OPTIONS[fingerprint] = (len(options), key)
    out: dict[int, ItemInfo] = {}
    for version_id, question_id, version, type_, ksb, marks, fingerprint, external_id in rows:
        options, key = _OPTIONS[fingerprint]
        out[version_id] = ItemInfo(
            question_id=question_id,
            external_id=external_id,
            version_id=version_id,
            version=version,
            type=type_,
            ksb=tuple(ksb),
            marks=marks,
            options=options,
            key=key,
        )
    return out

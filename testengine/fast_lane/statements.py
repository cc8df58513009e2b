"""The fast lane's SQL: each sitting request in one statement, built once, run through SQLAlchemy Core.

Every statement carries the same gate: the attempt belongs to the capability's user, whose account
is active and whose session version is still the capability's. Writes add the attempt's state, its
deadline with the grace, the browser token and the position. So whatever committed a moment ago
(a logout, a password reset, a pause, a submit, a newer window) is seen by the statement that
writes, with no earlier read to go stale.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Integer, String, and_, bindparam, func, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from ..domain.attempt_states import AttemptState
from ..models import Answer, Apprentice, Attempt, AttemptQuestion, InvigilatorMessage, QuestionVersion, User
from ..models import AttemptEvent as AttemptEventRow
from ..models.types import UTCDateTime

attempts = Attempt.__table__
questions = AttemptQuestion.__table__
answers = Answer.__table__
versions = QuestionVersion.__table__
users = User.__table__
apprentices = Apprentice.__table__
events = AttemptEventRow.__table__
messages = InvigilatorMessage.__table__

OPEN_STATES = (AttemptState.IN_PROGRESS.value, AttemptState.PAUSED.value, AttemptState.ON_BREAK.value)

_ATTEMPT = bindparam("attempt_id", type_=Integer())
_BROWSER = bindparam("browser_token", type_=String())


def _gate() -> list[Any]:
    """The attempt is the capability's user's, and the account and its session version still stand."""
    return [
        attempts.c.id == _ATTEMPT,
        apprentices.c.id == attempts.c.apprentice_id,
        users.c.id == apprentices.c.user_id,
        users.c.id == bindparam("user_id", type_=Integer()),
        users.c.active == true(),
        users.c.session_version == bindparam("session_version", type_=Integer()),
    ]


def _writable() -> list[Any]:
    """Open to this browser window and in time (the cutoff is now minus the grace)."""
    return [
        attempts.c.state == AttemptState.IN_PROGRESS.value,
        or_(attempts.c.deadline_at.is_(None), attempts.c.deadline_at >= bindparam("cutoff", type_=UTCDateTime())),
        attempts.c.client_token == _BROWSER,
    ]


def _answer_write(dialect: str, *, flag_only: bool) -> Executable:
    source = (
        select(
            questions.c.id,
            questions.c.attempt_id,
            bindparam("response", type_=String()),
            bindparam("revision", type_=Integer()),
            bindparam("saved_at", type_=UTCDateTime()),
            bindparam("flagged", type_=Boolean()),
        )
        .select_from(questions.join(attempts, attempts.c.id == questions.c.attempt_id))
        .where(
            questions.c.attempt_id == _ATTEMPT,
            questions.c.position == bindparam("position", type_=Integer()),
            *_gate()[1:],
            *_writable(),
        )
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(answers).from_select(
        ["attempt_question_id", "attempt_id", "response", "revision", "saved_at", "flagged"], source
    )
    if flag_only:
        statement = statement.on_conflict_do_update(
            index_elements=[answers.c.attempt_question_id], set_={"flagged": statement.excluded.flagged}
        )
    else:
        statement = statement.on_conflict_do_update(
            index_elements=[answers.c.attempt_question_id],
            set_={
                "response": statement.excluded.response,
                "revision": statement.excluded.revision,
                "saved_at": statement.excluded.saved_at,
            },
            where=answers.c.revision < statement.excluded.revision,
        )
    return statement.returning(answers.c.revision)


def _event_write() -> Executable:
    source = select(
        attempts.c.id,
        bindparam("at", type_=UTCDateTime()),
        bindparam("kind", type_=String()),
        bindparam("detail", type_=String()),
    ).where(*_gate(), attempts.c.state.in_(OPEN_STATES), attempts.c.client_token == _BROWSER)
    return events.insert().from_select(["attempt_id", "at", "kind", "detail"], source).returning(events.c.id)


def _position_write() -> Executable:
    on_paper = select(questions.c.id).where(
        questions.c.attempt_id == attempts.c.id, questions.c.position == bindparam("position", type_=Integer())
    )
    owner = select(users.c.id).where(*_gate()[1:])
    return (
        update(attempts)
        .where(
            attempts.c.id == _ATTEMPT,
            attempts.c.state.in_(OPEN_STATES),
            attempts.c.client_token == _BROWSER,
            on_paper.exists(),
            owner.exists(),
        )
        .values(current_position=bindparam("position"), last_seen_at=bindparam("seen_at", type_=UTCDateTime()))
        .returning(attempts.c.id)
    )


_CLOCK_COLUMNS = (
    attempts.c.state,
    attempts.c.deadline_at,
    attempts.c.started_at,
    attempts.c.base_minutes,
    attempts.c.extra_percent,
    attempts.c.extra_minutes,
)


def _navigator_read() -> Executable:
    """The whole navigator and the clock's inputs, for a window that still holds the attempt."""
    return (
        select(
            questions.c.position,
            versions.c.type,
            questions.c.marks,
            answers.c.response,
            answers.c.flagged,
            attempts.c.current_position,
            *_CLOCK_COLUMNS,
        )
        .select_from(
            questions.join(attempts, attempts.c.id == questions.c.attempt_id)
            .join(versions, versions.c.id == questions.c.question_version_id)
            .outerjoin(answers, answers.c.attempt_question_id == questions.c.id)
        )
        .where(*_gate(), questions.c.attempt_id == attempts.c.id, attempts.c.client_token == _BROWSER)
        .order_by(questions.c.position)
    )


def _question_read() -> Executable:
    count = select(func.count()).where(questions.c.attempt_id == _ATTEMPT).scalar_subquery()
    return (
        select(
            questions.c.position,
            questions.c.marks,
            questions.c.option_order,
            versions.c.type,
            versions.c.stem,
            versions.c.content,
            answers.c.response,
            answers.c.revision,
            answers.c.flagged,
            count.label("count"),
            *_CLOCK_COLUMNS,
        )
        .select_from(
            questions.join(attempts, attempts.c.id == questions.c.attempt_id)
            .join(versions, versions.c.id == questions.c.question_version_id)
            .outerjoin(answers, answers.c.attempt_question_id == questions.c.id)
        )
        .where(
            *_gate(),
            questions.c.attempt_id == attempts.c.id,
            questions.c.position == bindparam("position", type_=Integer()),
            attempts.c.client_token == _BROWSER,
        )
    )


def _clock_read() -> Executable:
    """The clock's inputs, whether this window still holds the attempt, and the new messages (a row each; none: one row)."""
    new_message = and_(
        messages.c.sitting_id == attempts.c.sitting_id,
        messages.c.id > bindparam("after", type_=Integer()),
        or_(messages.c.apprentice_id.is_(None), messages.c.apprentice_id == attempts.c.apprentice_id),
    )
    return (
        select(
            *_CLOCK_COLUMNS,
            (attempts.c.client_token == _BROWSER).label("current"),
            messages.c.id.label("message_id"),
            messages.c.body,
            messages.c.sent_at,
            messages.c.apprentice_id.label("message_to"),
        )
        .select_from(attempts.join(apprentices, apprentices.c.id == attempts.c.apprentice_id))
        .join(users, users.c.id == apprentices.c.user_id)
        .outerjoin(messages, new_message)
        .where(*_gate())
        .order_by(messages.c.id)
    )


def _why_read() -> Executable:
    """After a statement found no row: the attempt and its owner's account as they are now."""
    return (
        select(
            attempts.c.state,
            attempts.c.client_token,
            attempts.c.deadline_at,
            users.c.id.label("user_id"),
            users.c.active,
            users.c.session_version,
            select(literal(1))
            .where(questions.c.attempt_id == attempts.c.id, questions.c.position == bindparam("position", type_=Integer()))
            .exists()
            .label("on_paper"),
            select(answers.c.revision)
            .join(questions, questions.c.id == answers.c.attempt_question_id)
            .where(questions.c.attempt_id == attempts.c.id, questions.c.position == bindparam("position"))
            .scalar_subquery()
            .label("revision"),
        )
        .select_from(attempts.join(apprentices, apprentices.c.id == attempts.c.apprentice_id))
        .join(users, users.c.id == apprentices.c.user_id)
        .where(attempts.c.id == _ATTEMPT)
    )


_BUILT: dict[tuple[str, str], Executable] = {}
_BUILDERS = {
    "save": lambda dialect: _answer_write(dialect, flag_only=False),
    "flag": lambda dialect: _answer_write(dialect, flag_only=True),
    "event": lambda dialect: _event_write(),
    "position": lambda dialect: _position_write(),
    "navigator": lambda dialect: _navigator_read(),
    "question": lambda dialect: _question_read(),
    "clock": lambda dialect: _clock_read(),
    "why": lambda dialect: _why_read(),
}


def statement(name: str, dialect: str) -> Executable:
    """The named statement for this dialect, built once: building cost more than running it."""
    key = (name, dialect)
    built = _BUILT.get(key)
    if built is None:
        built = _BUILT[key] = _BUILDERS[name](dialect)
    return built

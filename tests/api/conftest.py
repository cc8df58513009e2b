"""Fixtures for the JSON API tests: the OpenAPI description, loaded once, and a database snapshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import Answer, Attempt, AttemptEvent, AuditEntry, Mark, Stoppage
from tests.conftest import REPO


@pytest.fixture(scope="session")
def openapi_document() -> dict[str, Any]:
    with (REPO / "docs" / "openapi.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def database_state() -> tuple[Any, ...]:
    """Everything an API request could change: answers, attempts, events, marks, stoppages, audit entries.

    Read in its own short transaction, so the app under test is never kept waiting for the lock.
    """
    answers = db.session.execute(
        select(Answer.id, Answer.attempt_question_id, Answer.response, Answer.revision, Answer.flagged, Answer.saved_at).order_by(
            Answer.id
        )
    ).all()
    attempts = db.session.execute(
        select(
            Attempt.id,
            Attempt.state,
            Attempt.submitted_at,
            Attempt.finish_reason,
            Attempt.client_token,
            Attempt.last_seen_at,
            Attempt.deadline_at,
            Attempt.marking_state,
            Attempt.total_marks,
        ).order_by(Attempt.id)
    ).all()
    counts = tuple(
        db.session.execute(
            select(
                *(
                    select(func.count()).select_from(model).scalar_subquery()
                    for model in (AttemptEvent, Mark, Stoppage, AuditEntry)
                )
            )
        ).one()
    )
    db.session.rollback()
    return (tuple(answers), tuple(attempts), counts)


@pytest.fixture
def snapshot() -> Callable[[], tuple[Any, ...]]:
    return database_state

"""Fixtures for results: the second standard, an admin, and attempts whose marking is complete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from testengine.extensions import db
from testengine.models import Attempt


@pytest.fixture
def st1379(app: Any, clock: Any) -> Any:
    from tests.factories import import_standard

    return import_standard("ST1379", clock.now())


@pytest.fixture
def admin(make_user: Callable[..., Any]) -> Any:
    return make_user("admin")


@pytest.fixture
def apprentice(make_user: Callable[..., Any]) -> Any:
    return make_user("apprentice").apprentice


@pytest.fixture
def st0663_spec(app: Any, clock: Any) -> Any:
    """ST0663 with its spec but none of its questions: all that grading reads, without the bank import."""
    from testengine.models import Standard
    from tests.factories import loaded_bank

    loaded = loaded_bank("ST0663")
    standard = Standard(code="ST0663", title=loaded.spec.title, spec=loaded.spec_raw, imported_at=clock.now())
    db.session.add(standard)
    db.session.commit()
    return standard


@pytest.fixture
def marked_attempt(st0663_spec: Any, clock: Any) -> Callable[..., Attempt]:
    """A submitted, fully marked knowledge-test attempt with the given total (no paper behind it).

    Enough for grading, which reads only the total; the end-to-end test sits a real paper.
    """

    def make(apprentice: Any, total: int, *, kind: str = "first", submitted_at: dt.datetime | None = None) -> Attempt:
        when = submitted_at or clock.now()
        attempt = Attempt(
            apprentice_id=apprentice.id,
            standard_id=st0663_spec.id,
            kind=kind,
            state="submitted",
            seed=1,
            draw_inputs={},
            issued_at=when - dt.timedelta(hours=2),
            started_at=when - dt.timedelta(hours=2),
            base_minutes=120,
            submitted_at=when,
            finish_reason="candidate",
            marking_state="complete",
            total_marks=total,
        )
        db.session.add(attempt)
        db.session.flush()
        return attempt

    return make

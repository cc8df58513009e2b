"""The sitting page's heartbeat: one conditional update, so the board can tell who is online."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import or_, update
from sqlalchemy.engine import CursorResult

from ..domain.attempt_states import ACTIVE_STATES
from ..extensions import db
from ..models import Attempt

_OPEN = tuple(state.value for state in ACTIVE_STATES)


def beat(attempt: Attempt, *, client_token: str, now: dt.datetime) -> bool:
    """Record that the browser window holding the attempt is open and reaches the server.

    Only that window counts (a window another one replaced is not the apprentice's screen any
    more), and only while the test is running, paused or on a break; checked in the statement
    that writes. Returns whether it was recorded.
    """
    result = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(Attempt)
            .where(
                Attempt.id == attempt.id,
                Attempt.state.in_(_OPEN),
                or_(Attempt.client_token.is_(None), Attempt.client_token == client_token),
            )
            .values(heartbeat_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1

"""The signed attempt capability: what the test page gives the browser for its sitting requests.

It says who may do what (this user, at this session version, in this browser window, on this
attempt, until the deadline and its grace) and is signed with the app's secret, so checking it
needs no database. It proves nothing that can be revoked: each request's statement re-checks the
account, the session version, the browser token and the attempt's state and deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

HEADER = "X-Attempt-Capability"
_SALT = "testengine.attempt-capability"


@dataclass(frozen=True)
class Capability:
    attempt_id: int
    user_id: int
    session_version: int
    browser_token: str
    expires_at: dt.datetime
    seed: int  # the paper's seed: with the attempt id, the key of what its questions accept
    closed: Mapping[int, frozenset[str]]  # position -> the responses a closed question accepts


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue(
    *,
    attempt_id: int,
    user_id: int,
    session_version: int,
    browser_token: str,
    expires_at: dt.datetime,
    seed: int,
    closed: Mapping[int, frozenset[str] | None],
) -> str:
    """A capability for one browser window's sitting requests, valid until `expires_at` (deadline + grace)."""
    payload = {
        "a": attempt_id,
        "u": user_id,
        "v": session_version,
        "b": browser_token,
        "e": int(expires_at.timestamp()),
        "s": seed,
        "c": {str(position): sorted(ids) for position, ids in closed.items() if ids is not None},
    }
    return str(_serializer().dumps(payload))


class Refused(Exception):
    """The capability is missing, forged, expired or for another attempt: `status` and `code` for the JSON answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def read(token: str | None, attempt_id: int | None, now: dt.datetime) -> Capability:
    """The capability in `token` if it is genuine, unexpired and for `attempt_id`; otherwise Refused."""
    if not token:
        raise Refused(401, "capability_required", "This request needs the test page's attempt capability.")
    try:
        payload = _serializer().loads(token)
        capability = Capability(
            attempt_id=int(payload["a"]),
            user_id=int(payload["u"]),
            session_version=int(payload["v"]),
            browser_token=str(payload["b"]),
            expires_at=dt.datetime.fromtimestamp(int(payload["e"]), dt.UTC),
            seed=int(payload["s"]),
            closed={int(position): frozenset(ids) for position, ids in payload["c"].items()},
        )
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
        raise Refused(401, "capability_invalid", "The attempt capability is not valid; reload the test page.") from None
    if now >= capability.expires_at:
        raise Refused(401, "capability_expired", "The attempt capability has expired; reload the test page.")
    if attempt_id is not None and capability.attempt_id != attempt_id:
        # Another person's attempt (or another of one's own) does not exist for this capability.
        raise Refused(404, "not_found", "No such attempt.")
    return capability

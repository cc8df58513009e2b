"""Online or offline: what the room board says about a sitting page from its heartbeat."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

# The page beats every HEARTBEAT_EVERY while it can reach the server; a page not heard from for
# OFFLINE_AFTER (two beats missed, and a margin for a slow request) is shown offline.
HEARTBEAT_EVERY = dt.timedelta(seconds=15)
OFFLINE_AFTER = dt.timedelta(seconds=40)


class Connection(StrEnum):
    UNKNOWN = "unknown"  # the page has not reported (not started, or a page from before heartbeats)
    ONLINE = "online"
    OFFLINE = "offline"


def connection(heartbeat_at: dt.datetime | None, now: dt.datetime) -> Connection:
    """Online while the last heartbeat is recent; a heartbeat "from the future" (a clock step) counts as recent."""
    if heartbeat_at is None:
        return Connection.UNKNOWN
    return Connection.ONLINE if now - heartbeat_at <= OFFLINE_AFTER else Connection.OFFLINE

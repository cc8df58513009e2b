"""A Flask-Limiter storage kept in the app's own database: `TESTENGINE_RATELIMIT_STORAGE_URI=database://`.

With the default in-memory storage each app host (and each worker) counts alone, so two hosts let
an address try twice as many passwords. Kept in the database, every host counts the same attempts,
with nothing more to run than the database the app already has. Fixed windows only (the limiter's
default strategy): one upsert per counted request, on the sign-in form only.
"""

from __future__ import annotations

import time

from limits.storage import Storage
from sqlalchemy import bindparam, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db, write_transaction
from .models.limits import RateLimitCounter

counters = RateLimitCounter.__table__


class DatabaseStorage(Storage):
    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return Exception

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Count `amount` in the key's window, starting a new window if the last one is over."""
        now = time.time()
        insert = (postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert)(counters)
        over = counters.c.expires_at <= bindparam("now")
        statement = (
            insert.values(key=bindparam("key"), count=bindparam("amount"), expires_at=bindparam("until"))
            .on_conflict_do_update(
                index_elements=[counters.c.key],
                set_={
                    "count": case((over, insert.excluded.count), else_=counters.c.count + insert.excluded.count),
                    "expires_at": case((over, insert.excluded.expires_at), else_=counters.c.expires_at),
                },
            )
            .returning(counters.c.count)
        )
        with write_transaction(), db.engine.begin() as connection:
            return int(
                connection.execute(statement, {"key": key, "amount": amount, "until": now + expiry, "now": now}).scalar_one()
            )

    def get(self, key: str) -> int:
        with db.engine.connect() as connection:
            found = connection.execute(
                select(counters.c.count).where(counters.c.key == key, counters.c.expires_at > time.time())
            ).scalar()
        return int(found or 0)

    def get_expiry(self, key: str) -> float:
        with db.engine.connect() as connection:
            found = connection.execute(select(counters.c.expires_at).where(counters.c.key == key)).scalar()
        return float(found) if found is not None else time.time()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with write_transaction(), db.engine.begin() as connection:
            return int(connection.execute(delete(counters)).rowcount)

    def clear(self, key: str) -> None:
        with write_transaction(), db.engine.begin() as connection:
            connection.execute(delete(counters).where(counters.c.key == key))

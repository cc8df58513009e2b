"""Fixtures: a migrated database per test (SQLite file or PostgreSQL), the app, clients, people.

Choose the database with TESTENGINE_TEST_DATABASE_URL (a postgresql+psycopg:// URL); SQLite otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from testengine import create_app
from testengine.extensions import db

PG_URL = os.environ.get("TESTENGINE_TEST_DATABASE_URL", "")
UTC = dt.UTC
PASSWORD = "correct horse battery"
REPO = Path(__file__).resolve().parent.parent

BASE_CONFIG = {
    "TESTING": True,
    "PROPAGATE_UNEXPECTED": True,
    "SECRET_KEY": "test-secret-key-0123456789abcdef",
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_KIB": 64,
    "BANKS_DIR": str(REPO / "question_banks"),
    # Test people live at example.org, a reserved domain; a test of the refusal turns this off.
    "ALLOW_TEST_EMAIL_DOMAINS": True,
    # A live-update stream reads for this long before it ends: short, so a test reading one is quick.
    "LIVE_STREAM_SECONDS": 1,
}


def _worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_database_name() -> str:
    # Per worker and per process, so two test runs on one server never share a database.
    return f"{sa.make_url(PG_URL).database}_{_worker_suffix()}_{os.getpid()}"


def _drop_pg_database() -> None:
    base = sa.make_url(PG_URL)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{_pg_database_name()}" WITH (FORCE)'))
    admin.dispose()


def _pg_url_for_worker() -> str:
    """Each xdist worker gets its own PostgreSQL database, created on first use."""
    base = sa.make_url(PG_URL)
    name = _pg_database_name()
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({**BASE_CONFIG, "DATABASE_URL": url})
    app.instance_path = str(instance)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run the migrations once per session; tests get a copy (SQLite) or a truncated database (PostgreSQL)."""
    instance = tmp_path_factory.mktemp("instance")
    if PG_URL:
        url = _pg_url_for_worker()
        _migrate(url, instance)
        yield url
        _drop_pg_database()
        return
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    url = f"sqlite:///{path}"
    _migrate(url, instance)
    yield url


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
        ]
        if tables:
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> str:
    if PG_URL:
        _truncate_all(template_database)
        return template_database
    source = Path(sa.make_url(template_database).database or "")
    target = tmp_path / "test.sqlite3"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app_config(database_url: str) -> dict[str, Any]:
    return {**BASE_CONFIG, "DATABASE_URL": database_url}


@pytest.fixture
def app(app_config: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    application = create_app(app_config)
    application.instance_path = str(tmp_path / "instance")

    def fresh_g() -> None:
        # The test holds an app context open, and Flask reuses it for each request, so `g`
        # (CSRF token, signed-in user) would leak between requests. In production it never does.
        from flask import g

        g.__dict__.clear()

    application.before_request_funcs.setdefault(None, []).insert(0, fresh_g)

    @application.teardown_request
    def end_transaction(_error: Any) -> None:
        # Likewise the session outlives each request here; end its transaction as production does.
        db.session.rollback()

    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def clock(app: Any) -> Any:
    """The app's clock, frozen; tests move it with clock.advance(...) instead of sleeping."""
    clock = app.extensions["testengine.clock"]
    clock.freeze(dt.datetime.now(UTC).replace(microsecond=0))
    return clock


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def csrf_app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return app_config


@pytest.fixture
def make_user(app: Any) -> Callable[..., Any]:
    """Create a user with roles; apprentices get a ULN and candidate number."""
    from testengine.services import accounts

    counter = {"n": 0}

    def factory(
        *roles: str, email: str | None = None, name: str | None = None, uln: str | None = None, moderator: bool = False
    ) -> Any:
        counter["n"] += 1
        n = counter["n"]
        user = accounts.create_user(
            allow_test_domains=True,
            email=email or f"{'-'.join(roles) or 'user'}{n}@example.org",
            display_name=name or f"Test {' '.join(roles).title()} {n}",
            password=PASSWORD,
            roles=list(roles),
            uln=uln or (f"{9000000000 + n}" if "apprentice" in roles else None),
            moderator=moderator,
        )
        db.session.commit()
        return user

    return factory


def csrf_token_from(html: str) -> str:
    import re

    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token in page"
    return match.group(1)


@pytest.fixture
def login(client: Any) -> Callable[..., Any]:
    """Sign a user in through the real login form (CSRF included)."""

    def do_login(user: Any, password: str = PASSWORD, test_client: Any = None) -> Any:
        c = test_client or client
        page = c.get("/login")
        token = csrf_token_from(page.get_data(as_text=True))
        return c.post("/login", data={"identifier": user.email, "password": password, "csrf_token": token})

    return do_login


@pytest.fixture
def login_as(make_user: Callable[..., Any], login: Callable[..., Any]) -> Callable[..., Any]:
    def do(*roles: str) -> Any:
        user = make_user(*roles)
        response = login(user)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return do


@pytest.fixture
def st0663(app: Any, clock: Any) -> Any:
    from tests.factories import import_standard

    return import_standard("ST0663", clock.now())


@pytest.fixture
def room(st0663: Any, make_user: Callable[..., Any], clock: Any) -> Any:
    """An open ST0663 sitting with one invigilator signed in and the venue confirmed."""
    from tests.factories import open_sitting

    invigilator = make_user("invigilator")
    sitting = open_sitting(st0663, [invigilator], clock.now())
    sitting.test_invigilator = invigilator
    return sitting


@pytest.fixture
def start_sitter(app: Any, room: Any, make_user: Callable[..., Any], login: Callable[..., Any], clock: Any) -> Callable[..., Any]:
    """Create an apprentice, check them in, sign in through the form, start, and open the test page."""
    from tests.factories import Sitter, book_and_check_in, csrf_of

    def start(user: Any = None, sitting: Any = None) -> Any:
        sitting = sitting or room
        user = user or make_user("apprentice")
        book_and_check_in(sitting, user, sitting.invigilators[0].user_id and room.test_invigilator, clock.now())
        browser = app.test_client()
        assert login(user, test_client=browser).status_code == 302
        home = browser.get("/apprentice/")
        booking_id = int(__import__("re").search(r"/apprentice/bookings/(\d+)/start", home.get_data(as_text=True)).group(1))
        response = browser.post(
            f"/apprentice/bookings/{booking_id}/start", data={"csrf_token": csrf_of(home.get_data(as_text=True))}
        )
        assert response.status_code == 302 and "/apprentice/attempts/" in response.headers["Location"], response.headers.get(
            "Location"
        )
        attempt_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
        sitter = Sitter(browser, attempt_id)
        sitter.user = user
        return sitter

    return start

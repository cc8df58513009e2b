"""Kill -9 in the middle of a sitting: no acknowledged save is lost or duplicated.

A real server (gunicorn, 2 workers x 4 threads, on loopback) serves simulated apprentices who save
answers continuously through the JSON API, each save a newer revision. The whole server, master and
workers, is killed with SIGKILL at random moments (sometimes while it is still starting) and started
again; the apprentices' browsers retry what did not get an answer. One apprentice's deadline falls while
the server is down; their browser stops there. Once the grace after that deadline is over,
`testengine sweep` submits the attempt at its deadline (the sweep runs on the app's clock moved past
the grace, rather than the test sleeping through it).

At the end, every save an apprentice saw acknowledged (HTTP 200) is in the database at that revision
or a newer one they sent, with that revision's text; there is one answer row per question; the SQLite
file passes its integrity and foreign-key checks; nobody saw a server error.

Runs on SQLite, and on PostgreSQL too when TESTENGINE_TEST_DATABASE_URL is set: about 40 seconds each
on an idle machine (most of it the server starting again after each kill).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from testengine import create_app
from testengine.domain.timing import GRACE
from testengine.extensions import db
from tests.conftest import BASE_CONFIG, PASSWORD, PG_URL, REPO, csrf_token_from

pytestmark = pytest.mark.slow

APPRENTICES = 6  # the last one's deadline falls during an outage
SECRET = "kill9-test-secret-key-0123456789abcdef"
GRACE_SECONDS = GRACE.total_seconds()  # the sweep submits only after the deadline plus this
KILLS = 7  # at least this many kills (the first outage included) ...
MIN_CHAOS_SECONDS = 20  # ... over at least this long after the first restart ...
MAX_CHAOS_SECONDS = 90  # ... unless the machine is so slow that this passes first
UTC = dt.UTC


# --- the database ---------------------------------------------------------------------------------


def _pg_database() -> Iterator[str]:
    base = sa.make_url(PG_URL)
    name = f"{base.database}_kill9_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"] if PG_URL else ["sqlite"])
def server_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        yield from _pg_database()
    else:
        yield f"sqlite:///{tmp_path / 'kill9.sqlite3'}"


@dataclass
class Prepared:
    attempts: dict[str, int]  # email -> attempt id, every attempt started
    questions: dict[int, list[tuple[int, str]]]  # attempt id -> [(position, type)]
    late_attempt: int


def _prepare(url: str, instance: Path) -> Prepared:
    """Migrations, the ST0663 bank, an open sitting, and apprentices checked in and started, in-process."""
    from flask_migrate import upgrade

    from testengine.models import AttemptQuestion, QuestionVersion
    from testengine.services import starts
    from testengine.services.accounts import create_user
    from tests.factories import book_and_check_in, import_standard, open_sitting

    app = create_app({**BASE_CONFIG, "PROPAGATE_UNEXPECTED": False, "DATABASE_URL": url, "SECRET_KEY": SECRET})
    app.instance_path = str(instance)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        now = dt.datetime.now(UTC)
        standard = import_standard("ST0663", now)
        invigilator = create_user(
            allow_test_domains=True,
            email="invigilator@kill9.test",
            display_name="Ivy Invigilator",
            password=PASSWORD,
            roles=["invigilator"],
        )
        sitting = open_sitting(standard, [invigilator], now)
        attempts: dict[str, int] = {}
        for n in range(APPRENTICES):
            user = create_user(
                allow_test_domains=True,
                email=f"apprentice{n}@kill9.test",
                display_name=f"Apprentice Number{n}",
                password=PASSWORD,
                roles=["apprentice"],
                uln=f"{8100000000 + n}",
            )
            booking = book_and_check_in(sitting, user, invigilator, now)
            attempts[user.email] = starts.start(booking, now=now, actor=user).id
            db.session.commit()
        questions = {
            attempt_id: [
                (position, kind)
                for position, kind in db.session.execute(
                    sa.select(AttemptQuestion.position, QuestionVersion.type)
                    .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
                    .where(AttemptQuestion.attempt_id == attempt_id)
                    .order_by(AttemptQuestion.position)
                ).all()
            ]
            for attempt_id in attempts.values()
        }
        db.session.remove()
        db.engine.dispose()
    return Prepared(attempts=attempts, questions=questions, late_attempt=attempts[f"apprentice{APPRENTICES - 1}@kill9.test"])


def _started_two_hours_ago(url: str, attempt_id: int, seconds_left: float) -> dt.datetime:
    """Move an attempt's start into the past so that its time runs out `seconds_left` from now."""
    from testengine.models import Attempt
    from testengine.services.attempts import compute_deadline
    from testengine.storage import write_transaction

    app = create_app({**BASE_CONFIG, "DATABASE_URL": url, "SECRET_KEY": SECRET})
    with app.app_context(), write_transaction():
        attempt = db.session.get(Attempt, attempt_id)
        now = dt.datetime.now(UTC)
        deadline = (now + dt.timedelta(seconds=seconds_left)).replace(microsecond=0)
        attempt.started_at = deadline - dt.timedelta(minutes=attempt.base_minutes)
        attempt.deadline_at = compute_deadline(attempt, now)
        assert attempt.deadline_at == deadline
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return deadline


def _state_of(url: str, attempt_id: int) -> str:
    from testengine.models import Attempt

    app = create_app({**BASE_CONFIG, "DATABASE_URL": url, "SECRET_KEY": SECRET})
    with app.app_context():
        state = db.session.get(Attempt, attempt_id).state
        db.session.remove()
        db.engine.dispose()
    return state


def _sweep_at(url: str, moment: dt.datetime) -> str:
    """`testengine sweep` as cron runs it, at a given moment on the app's clock."""
    app = create_app({**BASE_CONFIG, "PROPAGATE_UNEXPECTED": False, "DATABASE_URL": url, "SECRET_KEY": SECRET})
    clock = app.extensions["testengine.clock"]
    clock.advance(moment - clock.now())
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["sweep"])
        db.session.remove()
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    return result.output.strip()


# --- the server -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """gunicorn as production runs it; killed with SIGKILL, master and workers together."""

    def __init__(self, url: str, instance: Path, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("TESTENGINE_")}
        self.env.update(
            {
                "TESTENGINE_DATABASE_URL": url,
                "TESTENGINE_SECRET_KEY": SECRET,
                "TESTENGINE_INSTANCE_PATH": str(instance),
                "TESTENGINE_BANKS_DIR": str(REPO / "question_banks"),
                "TESTENGINE_ARGON2_TIME_COST": "1",
                "TESTENGINE_ARGON2_MEMORY_KIB": "64",
            }
        )

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-w",
                    "2",
                    "--threads",
                    "4",
                    "-b",
                    f"127.0.0.1:{self.port}",
                    "--graceful-timeout",
                    "1",
                    "--no-control-socket",
                    "testengine:create_app()",
                ],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.process is not None and self.process.poll() is None, f"gunicorn exited: {self.tail()}"
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"gunicorn did not become ready: {self.tail()}")

    def kill(self) -> None:
        """SIGKILL to the whole process group: the master and every worker die mid-request."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.process = None
        end = time.monotonic() + 10
        while time.monotonic() < end:  # workers are gone too once nothing answers on the port
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.05)
        raise AssertionError("the server still answers after SIGKILL")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


# --- the apprentices ------------------------------------------------------------------------------

RETRYABLE = (OSError, http.client.HTTPException)


@dataclass
class Browser:
    """One apprentice's browser: its own cookies, retrying through outages as the sitting page does."""

    port: int
    email: str
    attempt_id: int
    questions: list[tuple[int, str]]
    rng: random.Random
    stop: threading.Event
    deadline: dt.datetime | None = None  # for the late apprentice: no new answers once time is up
    cookies: dict[str, str] = field(default_factory=dict)
    conn: http.client.HTTPConnection | None = None
    sent: dict[tuple[int, int], str] = field(default_factory=dict)  # (position, revision) -> text
    acked: dict[int, int] = field(default_factory=dict)  # position -> latest revision answered 200
    connection_errors: int = 0
    unexpected: list[str] = field(default_factory=list)

    def _once(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        if self.cookies:
            headers = {**headers, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, dict(response.headers), text

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None, *, until: float
    ) -> tuple[int, dict[str, str], str] | None:
        """Send until the server answers (retrying through outages); None if it never did in time."""
        while time.monotonic() < until:
            try:
                return self._once(method, path, body, headers or {})
            except RETRYABLE:
                self.connection_errors += 1
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                time.sleep(0.05 + self.rng.random() * 0.1)
        return None

    def sign_in_and_open(self) -> None:
        until = time.monotonic() + 60
        answer = self.call("GET", "/login", until=until)
        assert answer and answer[0] == 200, answer
        form = urlencode({"identifier": self.email, "password": PASSWORD, "csrf_token": csrf_token_from(answer[2])})
        answer = self.call("POST", "/login", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}, until=until)
        assert answer and answer[0] == 302, answer
        answer = self.call("GET", f"/apprentice/attempts/{self.attempt_id}", until=until)
        assert answer and answer[0] == 200, answer
        self.token = re.search(r'data-token="([^"]+)"', answer[2]).group(1)  # type: ignore[union-attr]
        self.csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', answer[2]).group(1)  # type: ignore[union-attr]

    def _text(self, position: int, kind: str, revision: int) -> str:
        if kind == "mcq":
            return str(revision % 4)
        return f"{self.email} answer {position} revision {revision}: " + "x" * self.rng.randrange(0, 400)

    def save_continuously(self) -> None:
        revisions: dict[int, int] = {}
        while not self.stop.is_set():
            if self.deadline is not None and dt.datetime.now(UTC) > self.deadline:
                return  # this apprentice's time is up: the browser stops, the sweep must finish the attempt
            position, kind = self.rng.choice(self.questions)
            revision = revisions[position] = revisions.get(position, 0) + 1
            text = self.sent[(position, revision)] = self._text(position, kind, revision)
            body = json.dumps({"response": text, "revision": revision, "client_token": self.token}).encode()
            headers = {"Content-Type": "application/json", "X-CSRFToken": self.csrf}
            answer = self.call(
                "PUT", f"/api/attempts/{self.attempt_id}/answers/{position}", body, headers, until=time.monotonic() + 60
            )
            if answer is None:
                self.unexpected.append(f"save {position}/{revision}: no answer within 60 s")
                return
            status, _headers, payload = answer
            if status == 200:
                self.acked[position] = max(self.acked.get(position, 0), revision)
            elif status == 409 and self.deadline is not None and json.loads(payload).get("error") == "time_up":
                return  # past the deadline and its grace: refused, as it should be
            else:
                self.unexpected.append(f"save {position}/{revision}: {status} {payload[:300]}")
            time.sleep(self.rng.random() * 0.03)


# --- the test -------------------------------------------------------------------------------------


def test_kill9_loses_no_acknowledged_save(server_database: str, tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    print(f"kill9 seed {seed} on {server_database.split(':', 1)[0]}")
    instance = tmp_path / "instance"
    prepared = _prepare(server_database, instance)
    server = Server(server_database, instance, tmp_path / "gunicorn.log")
    stop = threading.Event()
    browsers = [
        Browser(server.port, email, attempt_id, prepared.questions[attempt_id], random.Random(rng.random()), stop)
        for email, attempt_id in prepared.attempts.items()
    ]
    late_browser = next(b for b in browsers if b.attempt_id == prepared.late_attempt)
    kills = 0
    threads: list[threading.Thread] = []
    try:
        server.start()
        server.wait_ready()
        for browser in browsers:
            browser.sign_in_and_open()
        # The last apprentice started two hours ago: their time runs out during the first outage.
        deadline = late_browser.deadline = _started_two_hours_ago(server_database, prepared.late_attempt, rng.uniform(4, 6))
        threads = [threading.Thread(target=browser.save_continuously, daemon=True) for browser in browsers]
        for thread in threads:
            thread.start()

        # The first outage covers the late apprentice's deadline.
        deadline_ts = deadline.timestamp()
        time.sleep(rng.uniform(0, max(0.0, deadline_ts - 1.5 - time.time())))
        server.kill()
        kills += 1
        assert time.time() < deadline_ts, "the first outage began after the deadline (machine too slow?)"
        time.sleep(max(0.0, deadline_ts - time.time()) + rng.uniform(0.2, 1.0))
        server.start()

        # Then at random moments, sometimes before the new server has even finished starting.
        began = time.monotonic()
        while (kills < KILLS or time.monotonic() < began + MIN_CHAOS_SECONDS) and time.monotonic() < began + MAX_CHAOS_SECONDS:
            if rng.random() < 0.2:
                time.sleep(rng.uniform(0.1, 0.8))
            else:
                server.wait_ready()
                time.sleep(rng.uniform(0.3, 3.0))
            server.kill()
            kills += 1
            time.sleep(rng.uniform(0.05, 1.0))
            server.start()
        server.wait_ready()
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "an apprentice's browser never finished"
        assert _state_of(server_database, prepared.late_attempt) == "in_progress"  # nobody has touched it since

        # The cron sweep, run once the grace after the deadline is over (the clock moved on, not slept
        # through), while the server runs: the late attempt is submitted at its deadline, not now.
        sweep = _sweep_at(server_database, deadline + dt.timedelta(seconds=GRACE_SECONDS + 1))
        assert sweep == "Submitted 1 attempt(s) whose time was up.", sweep
    finally:
        stop.set()
        server.kill()

    log = server.tail()
    saves = sum(len(b.sent) for b in browsers)
    print(f"kill9: {kills} kills, {saves} saves sent, {sum(b.connection_errors for b in browsers)} connection errors retried")
    context = f"seed {seed}, {kills} kills; server log tail:\n{log}"
    assert kills >= KILLS, f"only {kills} kills; {context}"
    assert sum(b.connection_errors for b in browsers) > 0, "no request ever met a dead server: " + context
    unexpected = [message for b in browsers for message in b.unexpected]
    assert unexpected == [], f"unexpected answers: {unexpected}; {context}"
    assert "database is locked" not in log and "unhandled error" not in log, f"errors in the server log; {context}"
    assert sum(len(b.acked) for b in browsers) >= 30, f"too few saves acknowledged to prove anything; {context}"
    _check_database(server_database, browsers, prepared, deadline, context)


def _check_database(url: str, browsers: list[Browser], prepared: Prepared, deadline: dt.datetime, context: str) -> None:
    from testengine.models import Answer, Attempt, AttemptQuestion, AuditEntry, Mark

    if url.startswith("sqlite"):
        path = sa.make_url(url).database
        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)], f"integrity check; {context}"
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == [], f"foreign key check; {context}"
    app = create_app({**BASE_CONFIG, "DATABASE_URL": url, "SECRET_KEY": SECRET})
    with app.app_context():
        duplicated = db.session.execute(
            sa.select(Answer.attempt_question_id).group_by(Answer.attempt_question_id).having(sa.func.count() > 1)
        ).all()
        assert duplicated == [], f"answers duplicated: {duplicated}; {context}"
        lost = []
        for browser in browsers:
            stored = {
                position: (revision, response)
                for position, revision, response in db.session.execute(
                    sa.select(AttemptQuestion.position, Answer.revision, Answer.response)
                    .join(Answer, Answer.attempt_question_id == AttemptQuestion.id)
                    .where(AttemptQuestion.attempt_id == browser.attempt_id)
                ).all()
            }
            for position, acked in browser.acked.items():
                revision, response = stored.get(position, (0, None))
                if revision < acked or browser.sent.get((position, revision)) != response:
                    lost.append((browser.email, position, acked, revision))
            # Nothing is stored that this browser did not send.
            assert all((position, revision) in browser.sent for position, (revision, _r) in stored.items()), (
                f"stored but never sent; {context}"
            )
        assert lost == [], f"acknowledged saves lost: {lost}; {context}"

        late = db.session.get(Attempt, prepared.late_attempt)
        assert (late.state, late.finish_reason) == ("submitted", "time_up"), f"late attempt {late.state}; {context}"
        assert late.deadline_at == deadline and late.submitted_at == deadline, (
            f"late attempt submitted at {late.submitted_at}; {context}"
        )
        per_question = db.session.execute(
            sa.select(Mark.attempt_question_id, sa.func.count())
            .where(Mark.attempt_id == late.id, Mark.role == "auto")
            .group_by(Mark.attempt_question_id)
        ).all()
        assert per_question and all(count == 1 for _aq, count in per_question), f"automatic marks: {per_question}; {context}"
        assert (
            db.session.scalar(
                sa.select(sa.func.count(AuditEntry.id)).where(
                    AuditEntry.action == "attempt.submit",
                    AuditEntry.object_type == "attempts",
                    AuditEntry.object_id == str(late.id),
                )
            )
            == 1
        ), f"submission audited other than once; {context}"
        others = [a for a in prepared.attempts.values() if a != late.id]
        assert set(db.session.scalars(sa.select(Attempt.state).where(Attempt.id.in_(others)))) == {"in_progress"}, (
            f"other attempts changed state; {context}"
        )
        db.session.remove()
        db.engine.dispose()

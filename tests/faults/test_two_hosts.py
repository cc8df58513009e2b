"""Two app hosts over one database: separate gunicorn processes on different ports, one secret.

The app servers keep no state of the exam, so a second host is only another process: apprentices
save through both (on the sitting's fast lane, with the capability one host issued), the
invigilator pauses an attempt on one host and the board on the other shows it (and the paused
attempt refuses saves on both), and `testengine sweep` started on both hosts at the same moment
submits an overdue attempt exactly once, at its deadline, after which neither host takes a save.

Runs on SQLite (two processes sharing one database file on one machine) and on PostgreSQL when
TESTENGINE_TEST_DATABASE_URL is set (as `.ci/run` does).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from random import Random
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from testengine import create_app
from testengine.extensions import db
from tests.conftest import BASE_CONFIG, PASSWORD, REPO, csrf_token_from
from tests.faults.test_kill9 import (  # noqa: F401  (server_database is the fixture this test takes)
    GRACE_SECONDS,
    SECRET,
    Browser,
    Server,
    _prepare,
    _started_two_hours_ago,
    server_database,
)

pytestmark = pytest.mark.slow
SAVES_EACH = 8
LIMIT = 40  # sign-in POSTs per address per hour, across both hosts


def _read(url: str, statement: sa.Executable, params: dict[str, object] | None = None) -> list[sa.Row[tuple[object, ...]]]:
    app = create_app({**BASE_CONFIG, "DATABASE_URL": url, "SECRET_KEY": SECRET})
    with app.app_context():
        rows = list(db.session.execute(statement, params or {}).all())
        db.session.remove()
        db.engine.dispose()
    return rows


def _use(browser: Browser, server: Server) -> None:
    """Send this browser's next requests to another host (its cookies go with it)."""
    if browser.conn is not None:
        browser.conn.close()
    browser.conn, browser.port = None, server.port


def _open_page(browser: Browser) -> str:
    answer = browser.call("GET", f"/apprentice/attempts/{browser.attempt_id}", until=time.monotonic() + 30)
    assert answer and answer[0] == 200, answer
    browser.token = re.search(r'data-token="([^"]+)"', answer[2]).group(1)  # type: ignore[union-attr]
    browser.csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', answer[2]).group(1)  # type: ignore[union-attr]
    return re.search(r'data-capability="([^"]+)"', answer[2]).group(1)  # type: ignore[union-attr]


def _lane_save(browser: Browser, capability: str, position: int, text: str, revision: int) -> tuple[int, dict[str, object]]:
    body = json.dumps({"response": text, "revision": revision}).encode()
    headers = {"Content-Type": "application/json", "X-CSRFToken": browser.csrf, "X-Attempt-Capability": capability}
    answer = browser.call("PUT", f"/api/lane/{browser.attempt_id}/answers/{position}", body, headers, until=time.monotonic() + 30)
    assert answer is not None
    return answer[0], json.loads(answer[2])


def _sign_in(browser: Browser) -> str:
    until = time.monotonic() + 30
    page = browser.call("GET", "/login", until=until)
    assert page and page[0] == 200
    csrf = csrf_token_from(page[2])
    form = urlencode({"identifier": browser.email, "password": PASSWORD, "csrf_token": csrf})
    answer = browser.call("POST", "/login", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}, until=until)
    assert answer and answer[0] == 302, answer
    return csrf


def test_two_hosts_share_saves_pauses_the_board_and_one_sweep(server_database: str, tmp_path: Path) -> None:  # noqa: F811
    url = server_database
    prepared = _prepare(url, tmp_path / "instance")
    hosts = [Server(url, tmp_path / f"instance-{name}", tmp_path / f"gunicorn-{name}.log") for name in ("a", "b")]
    for host in hosts:  # the sign-in limit per address, counted in the shared database
        host.env.update(
            {"TESTENGINE_RATELIMIT_STORAGE_URI": "database://", "TESTENGINE_RATELIMIT_PER_ADDRESS": f"{LIMIT} per hour"}
        )
    stop = threading.Event()
    try:
        for host in hosts:
            host.start()
        for host in hosts:
            host.wait_ready(timeout=60)
        assert hosts[0].port != hosts[1].port

        # Apprentices sign in on one host and save through both, with the capability the first host issued.
        browsers = []
        for n, (email, attempt_id) in enumerate(sorted(prepared.attempts.items())):
            browser = Browser(hosts[n % 2].port, email, attempt_id, prepared.questions[attempt_id], Random(n), stop)
            browser.sign_in_and_open()
            browsers.append((browser, _open_page(browser)))
        expected: dict[tuple[int, int], str] = {}
        for browser, capability in browsers:
            free_text = [position for position, kind in browser.questions if kind != "mcq"]
            for k in range(SAVES_EACH):
                _use(browser, hosts[k % 2])
                position = free_text[k % len(free_text)]
                text = f"{browser.email} answer {k} through host {'ab'[k % 2]}"
                status, data = _lane_save(browser, capability, position, text, revision=k + 1)
                assert status == 200 and data["stored"] is True, (status, data)
                expected[(browser.attempt_id, position)] = text
        from testengine.models import Answer, AttemptQuestion

        stored = {
            (attempt_id, position): response
            for attempt_id, position, response in _read(
                url,
                sa.select(AttemptQuestion.attempt_id, AttemptQuestion.position, Answer.response).join(
                    Answer, Answer.attempt_question_id == AttemptQuestion.id
                ),
            )
        }
        assert {key: stored.get(key) for key in expected} == expected

        # The invigilator pauses an attempt on host A; the board on host B shows it, and neither host takes its saves.
        paused_browser, paused_capability = browsers[0]
        from testengine.models import Attempt

        sitting_id = _read(url, sa.select(Attempt.sitting_id).where(Attempt.id == paused_browser.attempt_id))[0][0]
        invigilator = Browser(hosts[0].port, "invigilator@kill9.test", 0, [], Random(99), stop)
        _sign_in(invigilator)
        page = invigilator.call("GET", f"/invigilate/sittings/{sitting_id}", until=time.monotonic() + 30)
        assert page and page[0] == 200
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page[2]).group(1)  # type: ignore[union-attr]
        paused = invigilator.call(
            "POST",
            f"/invigilate/sittings/{sitting_id}/attempts/{paused_browser.attempt_id}/pause",
            urlencode({"csrf_token": csrf}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
            until=time.monotonic() + 30,
        )
        assert paused and paused[0] in (302, 303), paused[:2] if paused else paused
        _use(invigilator, hosts[1])
        board = invigilator.call("GET", f"/api/sittings/{sitting_id}/board", until=time.monotonic() + 30)
        assert board and board[0] == 200
        row = next(r for r in json.loads(board[2])["rows"] if r["attempt_id"] == paused_browser.attempt_id)
        assert row["status"] == "paused", row
        for host in hosts:
            _use(paused_browser, host)
            status, data = _lane_save(paused_browser, paused_capability, 1, "while paused", revision=100)
            assert status == 423 and data["error"] == "paused", (status, data)

        # An attempt whose time and grace ran out: `testengine sweep` on both hosts at once submits it once.
        late = prepared.late_attempt
        deadline = _started_two_hours_ago(url, late, -(GRACE_SECONDS + 30))
        sweeps = [
            subprocess.Popen(
                [sys.executable, "-m", "testengine", "sweep"],
                cwd=REPO,
                env=host.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for host in hosts
        ]
        outputs = [sweep.communicate(timeout=120)[0] for sweep in sweeps]
        assert all(sweep.returncode == 0 for sweep in sweeps), outputs
        from testengine.models import AuditEntry

        state, reason, submitted_at = _read(
            url, sa.select(Attempt.state, Attempt.finish_reason, Attempt.submitted_at).where(Attempt.id == late)
        )[0]
        assert (state, reason) == ("submitted", "time_up")
        assert (submitted_at if submitted_at.tzinfo else submitted_at.replace(tzinfo=dt.UTC)) == deadline  # at its deadline
        submits = _read(
            url,
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "attempt.submit", AuditEntry.object_id == str(late)),
        )[0][0]
        assert submits == 1, outputs
        late_browser, late_capability = next(b for b in browsers if b[0].attempt_id == late)
        for host in hosts:
            _use(late_browser, host)
            status, data = _lane_save(late_browser, late_capability, 1, "too late", revision=200)
            assert status == 409 and data["error"] in ("already_submitted", "time_up"), (status, data)
        # The per-address sign-in limit holds across hosts: so far 7 sign-ins (6 apprentices, the invigilator);
        # wrong passwords alternate between the hosts, and the POST after the limit is refused, whichever host.
        stranger = Browser(hosts[0].port, "nobody@kill9.test", 0, [], Random(7), stop)
        posted, refused_at = 1 + len(browsers), None
        while refused_at is None and posted < 2 * LIMIT:
            _use(stranger, hosts[posted % 2])
            page = stranger.call("GET", "/login", until=time.monotonic() + 30)
            assert page and page[0] == 200
            form = urlencode({"identifier": stranger.email, "password": "wrong password", "csrf_token": csrf_token_from(page[2])})
            answer = stranger.call(
                "POST",
                "/login",
                form.encode(),
                {"Content-Type": "application/x-www-form-urlencoded"},
                until=time.monotonic() + 30,
            )
            assert answer is not None
            posted += 1
            if answer[0] == 429:
                refused_at = posted
            else:
                assert answer[0] in (200, 401), answer[:2]  # "not recognised", the form again
        assert refused_at == LIMIT + 1, f"refused at sign-in POST {refused_at}, not at {LIMIT + 1}"
        for host in hosts:
            assert "Traceback" not in host.tail(), host.tail()
    finally:
        stop.set()
        for host in hosts:
            host.kill()

"""Many writers at once, and transactions that fail halfway.

On SQLite every writer shares one file: writes take the lock up front (BEGIN IMMEDIATE) and wait their
turn, so nobody is ever shown "database is locked". A use case that fails part of the way through
leaves nothing behind: the view or command commits once, at the end, or not at all.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import (
    Answer,
    Attempt,
    AttemptQuestion,
    AuditEntry,
    BankImport,
    DrawPool,
    ItemExposure,
    Mark,
    MethodResult,
    Question,
    QuestionVersion,
    RoomEvent,
    Standard,
)
from testengine.services import audit
from testengine.storage import write_transaction
from tests.conftest import REPO
from tests.factories import Sitter, book_and_check_in, csrf_of
from tests.faults.conftest import correct_option, mcq_positions

MINIMAL = REPO / "tests" / "banks" / "valid_minimal"


class Recorder:
    """Collects what each simulated person saw, from many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self.statuses: Counter[tuple[str, int]] = Counter()

    def status(self, what: str, response: Any) -> Any:
        with self.lock:
            self.statuses[(what, response.status_code)] += 1
        if response.status_code >= 500 or (response.status_code >= 400 and b"locked" in response.get_data()):
            self.fail(f"{what}: {response.status_code} {response.get_data(as_text=True)[:200]}")
        return response

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def run(self, target: Callable[..., None], *args: Any) -> threading.Thread:
        def guarded() -> None:
            try:
                target(*args)
            except Exception as error:  # noqa: BLE001  (what a user would have seen as a 500)
                self.fail(f"{target.__name__}: {type(error).__name__}: {error}")

        thread = threading.Thread(target=guarded, daemon=True)
        thread.start()
        return thread


def _signed_in(app: Any, login: Callable[..., Any], user: Any) -> Any:
    browser = app.test_client()
    assert login(user, test_client=browser).status_code == 302
    return browser


def _booking_id(browser: Any) -> tuple[int, str]:
    html = browser.get("/apprentice/").get_data(as_text=True)
    match = re.search(r"/apprentice/bookings/(\d+)/start", html)
    assert match, "no start button"
    return int(match.group(1)), csrf_of(html)


def test_many_writers_at_once_never_see_database_is_locked(app, room, make_user, login, clock):
    """Ten apprentices start, save, flag and submit while the invigilator's board polls and a marker marks."""
    apprentices = [make_user("apprentice") for _ in range(10)]
    for user in apprentices:
        book_and_check_in(room, user, room.test_invigilator, clock.now())
    record = Recorder()
    go = threading.Barrier(len(apprentices) + 2)
    finished = threading.Event()
    saved: dict[int, dict[int, tuple[int, str]]] = {}

    def apprentice(user: Any) -> None:
        browser = _signed_in(app, login, user)
        booking_id, token = _booking_id(browser)
        go.wait(timeout=60)
        started = record.status("start", browser.post(f"/apprentice/bookings/{booking_id}/start", data={"csrf_token": token}))
        assert "/apprentice/attempts/" in started.headers["Location"], started.headers["Location"]
        sitter = Sitter(browser, int(started.headers["Location"].rstrip("/").split("/")[-1]))
        mine = saved.setdefault(sitter.attempt_id, {})
        for revision in range(1, 4):
            for position in range(15, 23):  # short answers: free text (an MCQ takes only its option ids)
                text = f"answer {position} draft {revision}"
                response = record.status("save", sitter.save(position, text, revision))
                if response.status_code == 200:
                    mine[position] = (revision, text)
            record.status("flag", sitter.flag(revision, True))
            record.status("event", sitter.event("blur"))
            record.status("status", sitter.status())
            record.status("question", sitter.question(revision))
        record.status("submit", sitter.submit())

    def invigilator() -> None:
        browser = _signed_in(app, login, room.test_invigilator)
        go.wait(timeout=60)
        while not finished.is_set():
            record.status("board", browser.get(f"/api/sittings/{room.id}/board"))
            time.sleep(0.05)

    def marker(marker_id: int) -> None:
        """A marker's writes (a mark and its audit entry) in their own locked transactions, as a marking service makes them."""
        go.wait(timeout=60)
        while not finished.is_set():
            with app.app_context(), write_transaction():
                row = db.session.execute(
                    select(AttemptQuestion.id, AttemptQuestion.attempt_id)
                    .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
                    .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
                    .where(Attempt.state == "submitted", QuestionVersion.type == "short_answer")
                    .where(~select(Mark.id).where(Mark.attempt_question_id == AttemptQuestion.id, Mark.role == "first").exists())
                    .limit(1)
                ).first()
                if row is not None:
                    db.session.add(
                        Mark(
                            attempt_question_id=row[0],
                            attempt_id=row[1],
                            marker_id=marker_id,
                            role="first",
                            mark=1,
                            created_at=clock.now(),
                        )
                    )
                    audit.record(None, "mark.first", object_type="attempt_questions", object_id=row[0], after={"mark": 1})
                db.session.commit()
            if row is None:
                time.sleep(0.02)

    marker_user = make_user("marker")
    threads = [record.run(apprentice, user) for user in apprentices]
    others = [record.run(invigilator), record.run(marker, marker_user.id)]
    for thread in threads:
        thread.join(timeout=120)
    finished.set()
    for thread in others:
        thread.join(timeout=60)

    assert record.errors == []
    assert not any(thread.is_alive() for thread in threads + others)
    expected = {"start": 302, "event": 201}  # start redirects to the test; an event is created
    assert all(status == expected.get(what, 200) for what, status in record.statuses), record.statuses
    assert record.statuses[("save", 200)] == 10 * 3 * 8 and record.statuses[("submit", 200)] == 10
    db.session.expire_all()
    for attempt_id, answers in saved.items():
        assert db.session.get(Attempt, attempt_id).state == "submitted"
        stored = {
            aq.position: (a.revision, a.response)
            for aq, a in db.session.execute(
                select(AttemptQuestion, Answer)
                .join(Answer, Answer.attempt_question_id == AttemptQuestion.id)
                .where(Answer.attempt_id == attempt_id)
            ).all()
        }
        assert {p: stored[p] for p in answers} == answers
    # Never two marks of one kind for one response.
    doubled = db.session.execute(
        select(Mark.attempt_question_id, Mark.role, func.count())
        .group_by(Mark.attempt_question_id, Mark.role)
        .having(func.count() > 1)
    ).all()
    assert doubled == []


def test_the_start_spike_admits_exactly_the_ratio(app, room, make_user, login, clock):
    """Twenty-two start at once with one invigilator (1:20): twenty start, two are told why, nobody sees an error."""
    apprentices = [make_user("apprentice") for _ in range(22)]
    for user in apprentices:
        book_and_check_in(room, user, room.test_invigilator, clock.now())
    record = Recorder()
    go = threading.Barrier(len(apprentices))
    outcomes: list[str] = []

    def apprentice(user: Any) -> None:
        browser = _signed_in(app, login, user)
        booking_id, token = _booking_id(browser)
        go.wait(timeout=60)
        response = record.status("start", browser.post(f"/apprentice/bookings/{booking_id}/start", data={"csrf_token": token}))
        location = response.headers["Location"]
        if "/apprentice/attempts/" in location:
            outcomes.append("started")
        else:
            html = browser.get(location).get_data(as_text=True)
            outcomes.append("ratio" if "(at most 20 per invigilator)" in html else html[:300])

    threads = [record.run(apprentice, user) for user in apprentices]
    for thread in threads:
        thread.join(timeout=120)
    assert record.errors == []
    assert Counter(outcomes) == {"started": 20, "ratio": 2}
    assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.state == "in_progress")) == 20


# --- nothing half-written --------------------------------------------------------------------------


def _bank_counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Standard, Question, QuestionVersion, BankImport, AuditEntry)
    )


def _broken_last_question(tmp_path: Path) -> Path:
    folder = tmp_path / "bank"
    shutil.copytree(MINIMAL, folder)
    last = max((folder / "questions").glob("*.yaml"))  # files are read in name order
    last.write_text(
        last.read_text().rstrip("\n")
        + """

  - id: T-K2-MCQ-099
    type: mcq
    ksb: [K2]
    status: approved
    author: Test writer
    review: {last_reviewed: 2026-11-01, reviewer: Test panel, next_due: 2027-11-01}
    stem: Which of these two answers is the one correct answer here?
    options:
      - text: This one
        correct: true
      - text: And this one
        correct: true
      - text: Not this one
      - text: Nor this one
"""
    )
    return folder


def test_an_import_whose_last_question_is_broken_writes_nothing(app, clock, tmp_path):
    folder = _broken_last_question(tmp_path)
    before = _bank_counts()
    result = app.test_cli_runner().invoke(args=["bank", "import", str(folder)])
    assert result.exit_code == 2
    assert "T-K2-MCQ-099" in result.output or "K2.yaml" in result.output
    assert "Nothing imported" in result.output
    assert _bank_counts() == before == (0, 0, 0, 0, 0)


def test_an_import_that_fails_in_the_database_on_its_last_question_writes_nothing(app, clock, tmp_path, monkeypatch):
    from testengine.services import banks

    folder = tmp_path / "bank"
    shutil.copytree(MINIMAL, folder)
    last_id = banks.load_standard(folder, today=clock.now().date()).questions[-1].id
    real = banks._new_version

    def fail_on_last(row, source, number, now):  # type: ignore[no-untyped-def]
        version = real(row, source, number, now)
        db.session.flush()  # the earlier questions really are in the transaction by now
        if source.id == last_id:
            raise RuntimeError("connection lost")
        return version

    monkeypatch.setattr(banks, "_new_version", fail_on_last)
    result = app.test_cli_runner().invoke(args=["bank", "import", str(folder)])
    assert isinstance(result.exception, RuntimeError)
    db.session.rollback()
    assert _bank_counts() == (0, 0, 0, 0, 0)
    monkeypatch.setattr(banks, "_new_version", real)
    assert app.test_cli_runner().invoke(args=["bank", "import", str(folder)]).exit_code == 0
    questions = len(banks.load_standard(folder, today=clock.now().date()).questions)
    assert _bank_counts()[:4] == (1, questions, questions, 1)  # one standard, every question at version 1, one import


def _attempt_rows() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Attempt, AttemptQuestion, ItemExposure, DrawPool, RoomEvent)
    ) + (
        db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action.in_(["paper.issue", "attempt.start"]))) or 0,
    )


def test_a_paper_issue_that_fails_after_the_attempt_row_leaves_no_attempt(app, room, make_user, login, clock, monkeypatch):
    from testengine.services import papers

    user = make_user("apprentice")
    book_and_check_in(room, user, room.test_invigilator, clock.now())
    browser = _signed_in(app, login, user)
    booking_id, token = _booking_id(browser)
    before = _attempt_rows()
    real = papers._count_exposure
    seen: list[int] = []

    def fail_after_the_attempt(question_ids):  # type: ignore[no-untyped-def]
        seen.append(db.session.scalar(select(func.count(Attempt.id))))  # the Attempt row exists, in the transaction
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(papers, "_count_exposure", fail_after_the_attempt)
    app.config["PROPAGATE_UNEXPECTED"] = False  # the production path: friendly page, rollback, log
    response = browser.post(f"/apprentice/bookings/{booking_id}/start", data={"csrf_token": token})
    assert response.status_code == 500 and "disk I/O" not in response.get_data(as_text=True)
    assert seen == [1]
    db.session.rollback()
    assert _attempt_rows() == before

    monkeypatch.setattr(papers, "_count_exposure", real)
    retried = browser.post(f"/apprentice/bookings/{booking_id}/start", data={"csrf_token": token})
    assert "/apprentice/attempts/" in retried.headers["Location"]
    assert db.session.scalar(select(func.count(Attempt.id))) == 1
    assert db.session.scalar(select(func.count(AttemptQuestion.id))) == 40


def test_a_submission_whose_marks_and_result_fail_to_record_rolls_back_whole(app, start_sitter, monkeypatch, clock):
    """Submitting writes the state, automatic marks, the provisional result and the audit entry: all, or none."""
    from testengine.services import attempts as attempt_service

    sitter = start_sitter()
    first_mcq = mcq_positions(sitter)[0]
    assert (
        sitter.save(first_mcq, correct_option(sitter.attempt_id, first_mcq)).status_code == 200
    )  # no short answer: nothing for a marker
    real = attempt_service.audit.record

    def fail_last(actor, action, obj=None, **kwargs):  # type: ignore[no-untyped-def]
        if action == "attempt.submit":
            assert db.session.scalar(select(func.count(Mark.id)).where(Mark.attempt_id == sitter.attempt_id)) > 0
            raise RuntimeError("server closed the connection unexpectedly")
        return real(actor, action, obj, **kwargs)

    monkeypatch.setattr(attempt_service.audit, "record", fail_last)
    app.config["PROPAGATE_UNEXPECTED"] = False
    assert sitter.submit().status_code == 500
    db.session.rollback()
    attempt = db.session.get(Attempt, sitter.attempt_id)
    db.session.refresh(attempt)
    assert (attempt.state, attempt.submitted_at, attempt.marking_state, attempt.total_marks) == (
        "in_progress",
        None,
        "unmarked",
        None,
    )
    assert db.session.scalar(select(func.count(Mark.id)).where(Mark.attempt_id == attempt.id)) == 0
    assert db.session.scalar(select(func.count(MethodResult.id)).where(MethodResult.attempt_id == attempt.id)) == 0

    monkeypatch.setattr(attempt_service.audit, "record", real)
    assert sitter.submit().status_code == 200
    db.session.refresh(attempt)
    assert attempt.state == "submitted"
    marks = db.session.execute(
        select(Mark.attempt_question_id, func.count()).where(Mark.attempt_id == attempt.id).group_by(Mark.attempt_question_id)
    ).all()
    assert marks and all(count == 1 for _aq, count in marks)
    results = db.session.scalar(select(func.count(MethodResult.id)).where(MethodResult.attempt_id == attempt.id))
    assert attempt.marking_state == "complete" and attempt.total_marks == 1
    assert results == 1

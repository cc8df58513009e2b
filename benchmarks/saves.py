"""Simulated apprentices saving answers, and the ledger that proves no save was lost or duplicated.

Each simulated apprentice has at most one save in flight (as the browser's autosave does), picks
a question at random and sends the next revision of its answer. The ledger keeps every revision
sent and every one the server acknowledged; `check` compares it with the answers table.
A small share of saves go to apprentices whose time ran out an hour ago: those must be refused
(409) and leave nothing behind.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from benchmarks import loadgen
from benchmarks.dataset import Sitter
from benchmarks.harness import headers, json_of
from benchmarks.outcome import Check

LATE_SHARE = 0.01


def lane_headers(sitter: Sitter) -> dict[str, str]:
    """A sitting request on the fast lane: the session cookie (for CSRF), its header and the attempt capability."""
    return {**headers(sitter.person, json_body=True), "X-Attempt-Capability": sitter.capability}


def answer_text(attempt_id: int, position: int, revision: int, length: int) -> str:
    head = f"a{attempt_id} p{position} r{revision}: "
    return head + ("the practitioner would listen, record and refer " * 12)[: max(0, length - len(head))]


@dataclass
class SaveLedger:
    sitters: list[Sitter]
    late: list[Sitter]
    seed: int = 7
    revision: dict[tuple[int, int], int] = field(default_factory=dict)  # last revision sent
    sent: dict[tuple[int, int], dict[int, str]] = field(default_factory=dict)  # revision -> response
    acked: dict[tuple[int, int], int] = field(default_factory=dict)  # highest acknowledged revision
    busy: set[int] = field(default_factory=set)
    late_sent: int = 0
    late_answered: int = 0
    late_refused: int = 0
    set_cookie: int = 0  # answers that rewrote the session cookie (a session write per request)
    unexpected: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rnd = random.Random(self.seed)
        self.idle = list(range(len(self.sitters)))

    def next_job(self) -> loadgen.Job | None:
        if self.late and self.rnd.random() < LATE_SHARE:
            return self._late_job()
        if not self.idle:
            return None
        pick = self.rnd.randrange(len(self.idle))
        self.idle[pick], self.idle[-1] = self.idle[-1], self.idle[pick]
        index = self.idle.pop()
        sitter = self.sitters[index]
        position = self.rnd.randint(1, 40)
        key = (sitter.attempt_id, position)
        revision = self.revision.get(key, 0) + 1
        self.revision[key] = revision
        if position in sitter.mcq_positions:
            response = str(self.rnd.randrange(4))
        else:
            response = answer_text(sitter.attempt_id, position, revision, self.rnd.randint(40, 600))
        self.sent.setdefault(key, {})[revision] = response
        body = json.dumps({"response": response, "revision": revision}).encode()
        raw = loadgen.build_request(
            "PUT", f"/api/lane/{sitter.attempt_id}/answers/{position}", "bench", headers=lane_headers(sitter), body=body
        )

        def judge(response_: loadgen.Response) -> bool:
            self.idle.append(index)
            self.set_cookie += "set-cookie" in response_.headers
            data = json_of(response_)
            if response_.status == 200 and isinstance(data, dict) and data.get("stored") and data.get("revision") == revision:
                self.acked[key] = max(self.acked.get(key, 0), revision)
                return True
            if len(self.unexpected) < 5:
                self.unexpected.append(f"{response_.status} {response_.body[:160]!r}")
            return False

        return "save", raw, judge

    def _late_job(self) -> loadgen.Job:
        sitter = self.rnd.choice(self.late)
        position = self.rnd.randint(4, 40)
        self.late_sent += 1
        body = json.dumps({"response": "too late", "revision": 1000 + self.late_sent}).encode()
        raw = loadgen.build_request(
            "PUT", f"/api/lane/{sitter.attempt_id}/answers/{position}", "bench", headers=lane_headers(sitter), body=body
        )

        def judge(response: loadgen.Response) -> bool:
            data = json_of(response)
            self.late_answered += 1
            # Refused: by the statement (409), or before it, the capability having run out with the time (401).
            refused = isinstance(data, dict) and (
                (response.status == 409 and data.get("error") in ("time_up", "already_submitted"))
                or (response.status == 401 and data.get("error") == "capability_expired")
            )
            self.late_refused += refused
            return refused

        return "late_save", raw, judge


def check(ledger: SaveLedger, engine: sa.Engine, *, base_minutes: int = 120) -> list[Check]:
    """Every acknowledged save in the database exactly once, at its latest revision; late saves kept out."""
    attempt_ids = [s.attempt_id for s in ledger.sitters]
    late_ids = [s.attempt_id for s in ledger.late]
    rows: dict[tuple[int, int], list[tuple[int, str | None]]] = {}
    with engine.connect() as conn:
        for chunk in range(0, len(attempt_ids), 500):
            ids = attempt_ids[chunk : chunk + 500]
            for attempt_id, position, revision, response in conn.execute(
                sa.text(
                    "SELECT aq.attempt_id, aq.position, a.revision, a.response FROM answers a "
                    "JOIN attempt_questions aq ON aq.id = a.attempt_question_id WHERE aq.attempt_id IN ("
                    + ",".join(str(i) for i in ids)
                    + ")"
                )
            ):
                rows.setdefault((attempt_id, position), []).append((revision, response))
        late_rows = (
            list(
                conn.execute(
                    sa.text(
                        "SELECT a.attempt_id, a.revision, a.response FROM answers a WHERE a.attempt_id IN ("
                        + ",".join(str(i) for i in late_ids or [0])
                        + ")"
                    )
                )
            )
            if late_ids
            else []
        )
        late_attempts = (
            list(
                conn.execute(
                    sa.text(
                        "SELECT id, state, finish_reason, submitted_at, deadline_at FROM attempts WHERE id IN ("
                        + ",".join(str(i) for i in late_ids or [0])
                        + ")"
                    )
                )
            )
            if late_ids
            else []
        )
        deadlines = list(
            conn.execute(
                sa.text(
                    "SELECT id, started_at, deadline_at, extra_percent, state FROM attempts WHERE id IN ("
                    + ",".join(str(i) for i in attempt_ids[:2000])
                    + ")"
                )
            )
        )

    lost, stale, duplicated, wrong_text, stray, unacked_stored = 0, 0, 0, 0, 0, 0
    for key, revision in ledger.acked.items():
        found = rows.get(key, [])
        if not found:
            lost += 1
            continue
        if len(found) > 1:
            duplicated += 1
        stored_revision, text = found[0]
        if stored_revision < revision:
            stale += 1
        elif ledger.sent[key].get(stored_revision) != text:
            wrong_text += 1
        if stored_revision > revision:
            unacked_stored += 1
    for key, found in rows.items():
        if key not in ledger.sent:
            stray += 1
        elif key not in ledger.acked:
            revision, text = found[0]
            if ledger.sent[key].get(revision) != text:
                wrong_text += 1
            unacked_stored += 1

    out = [
        Check("acknowledged saves found", lost == 0, f"{len(ledger.acked):,} answers acknowledged, {lost} missing"),
        Check("each exactly once", duplicated == 0, f"{duplicated} duplicated"),
        Check(
            "at the latest acknowledged revision, with its text",
            stale == 0 and wrong_text == 0,
            f"{stale} older, {wrong_text} with other text",
        ),
        Check("nothing stored that was not sent", stray == 0, f"{stray} stray"),
    ]
    if unacked_stored:
        out.append(
            Check("stored without an acknowledgement (a timed-out request the server still finished)", True, str(unacked_stored))
        )
    if late_ids:
        extra_rows = [r for r in late_rows if not (r[1] == 1 and str(r[2]).startswith("early answer"))]
        kept = len(late_rows) - len(extra_rows)
        bad_finish = [r for r in late_attempts if r[1] == "submitted" and (r[2] != "time_up" or _naive(r[3]) != _naive(r[4]))]
        touched = [r for r in late_attempts if r[1] == "submitted"]
        out += [
            Check(
                "saves after the deadline refused",
                ledger.late_refused == ledger.late_answered,
                f"{ledger.late_refused} of {ledger.late_answered} answered refused (409 from the statement, or 401: the capability ran out with the time)",
            ),
            Check(
                "nothing stored after the deadline, earlier answers kept",
                not extra_rows and kept == 3 * len(late_ids),
                f"{len(extra_rows)} late rows, {kept} earlier answers kept",
            ),
            Check(
                "timed-out attempts submitted at their deadline",
                not bad_finish,
                f"{len(touched)} submitted as time_up at the deadline",
            ),
        ]
    moved = 0
    for _id, started, deadline, extra, _state in deadlines:
        want = _naive(started) + dt.timedelta(minutes=base_minutes * (1 + extra / 100))
        moved += _naive(deadline) != want
    out.append(Check("server deadlines unchanged by saving", moved == 0, f"{moved} of {len(deadlines):,} moved"))
    return out


def _naive(value: Any) -> Any:
    if isinstance(value, str):  # SQLite through a plain text() query
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=None) if value is not None else None

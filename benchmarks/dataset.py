"""The benchmark database: a sitting day's worth of data, built once per run and copied per scenario.

What is in it (`World`):
- the generated 10,000-question ST0663 bank (benchmarks.bankgen), imported with the real
  `testengine bank import` command into the SQLite template;
- rooms of 20 apprentices (the 1:20 ratio), each with one invigilator signed in and the venue
  confirmed: SITTER_ROOMS rooms whose apprentices are part-way through the test (papers drawn by
  the real draw with exposure fed back, started five minutes ago, deadline set), EXPIRED_ROOMS
  rooms whose time ran out an hour ago, and STARTER_ROOMS x START_ROUNDS rooms of apprentices
  checked in and waiting to start (no paper yet: the start draws it), and SPARE_ROOMS more for
  warming up and profiling;
- HISTORY apprentices' earlier attempts (submitted, answered and marked) in closed rooms, so
  the tables have history and those apprentices' new papers must avoid what they have seen;
- 5% of apprentices with 25% extra time, so deadlines are not all alike.

Rows are written in bulk with SQLAlchemy Core (the services would take minutes for this many),
in the shapes the services write; `check_world` then asks the app's own services to
reproduce a sample of the papers from their stored seeds, to prove the shortcut faithful.

The PostgreSQL template is a row-for-row copy of the SQLite one. Each scenario gets a fresh copy
(a file copy; CREATE DATABASE ... TEMPLATE), so scenarios never see each other's writes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from benchmarks.bankgen import write_bank

REPO = Path(__file__).resolve().parent.parent
UTC = dt.UTC
USER_AGENT = "testengine-bench/1"
REMOTE_ADDR = "127.0.0.1"
PASSWORD = "bench-password-0001"
PG_URL = os.environ.get("TESTENGINE_BENCH_PG_URL", "postgresql+psycopg://testengine:testengine@127.0.0.1:5432/testengine_bench")

ROOM = 20
SITTER_ROOMS = 100  # 2,000 apprentices in the middle of the test (S1, S6)
EXPIRED_ROOMS = 2  # 40 whose deadline passed an hour ago (deadlines enforced)
STARTER_ROOMS = 50  # 1,000 checked in and waiting, per round of S2
START_ROUNDS = 2
SPARE_ROOMS = 10  # 200 more checked in: warm-up and profiling starts, never measured
HISTORY = 2_000  # earlier, submitted and marked attempts
EXTRA_TIME_SHARE = 0.05


@dataclass
class Person:
    user_id: int
    apprentice_id: int | None
    cookie: str  # the signed Flask session cookie (signed in, with a CSRF secret)
    csrf: str  # the matching X-CSRFToken header value


@dataclass
class Sitter:
    person: Person
    attempt_id: int
    sitting_id: int
    client_token: str
    extra_percent: int
    mcq_positions: list[int]
    capability: str = ""  # the test page's signed attempt capability, for the sitting's fast lane


@dataclass
class Starter:
    person: Person
    booking_id: int
    sitting_id: int
    extra_percent: int


@dataclass
class World:
    secret_key: str
    standard_id: int
    started_at: str  # when the sitters started (ISO)
    sitters: list[Sitter] = field(default_factory=list)
    expired: list[Sitter] = field(default_factory=list)
    starter_rounds: list[list[Starter]] = field(default_factory=list)
    spare_starters: list[Starter] = field(default_factory=list)
    invigilators: dict[int, Person] = field(default_factory=dict)  # sitting id -> invigilator
    counts: dict[str, int] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> World:
        raw = json.loads(path.read_text())

        def person(p: dict[str, Any]) -> Person:
            return Person(**p)

        def sitter(s: dict[str, Any]) -> Sitter:
            return Sitter(**{**s, "person": person(s["person"])})

        return cls(
            secret_key=raw["secret_key"],
            standard_id=raw["standard_id"],
            started_at=raw["started_at"],
            sitters=[sitter(s) for s in raw["sitters"]],
            expired=[sitter(s) for s in raw["expired"]],
            starter_rounds=[[Starter(**{**s, "person": person(s["person"])}) for s in r] for r in raw["starter_rounds"]],
            spare_starters=[Starter(**{**s, "person": person(s["person"])}) for s in raw["spare_starters"]],
            invigilators={int(k): person(v) for k, v in raw["invigilators"].items()},
            counts=raw["counts"],
        )


@dataclass
class Workspace:
    """A temporary folder for one run: instance folder, bank files, SQLite files, logs."""

    root: Path
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))

    def env(self, url: str) -> dict[str, str]:
        """The settings every process of the run uses (the app reads them at create_app)."""
        return {
            "TESTENGINE_DATABASE_URL": url,
            "TESTENGINE_SECRET_KEY": self.secret_key,
            "TESTENGINE_INSTANCE_PATH": str(self.root / "instance"),
            "TESTENGINE_BANKS_DIR": str(self.root / "banks"),
            "TESTENGINE_ARGON2_TIME_COST": "1",
            "TESTENGINE_ARGON2_MEMORY_KIB": "64",
            # Thousands of simulated browsers share 127.0.0.1; the per-address sign-in limit is not under test.
            "TESTENGINE_RATELIMIT_PER_ADDRESS": "100000 per minute",
        }

    def app(self, url: str) -> Any:
        from testengine import create_app

        settings = {k.removeprefix("TESTENGINE_"): v for k, v in self.env(url).items()}
        return create_app(settings)

    @property
    def sqlite_template(self) -> Path:
        return self.root / "template.sqlite3"

    @property
    def sqlite_bank(self) -> Path:
        """The database with only the bank imported (for the cohort of S4 and S5)."""
        return self.root / "bank.sqlite3"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- databases ------------------------------------------------------------------------------


def pg_admin_url(url: str) -> sa.URL:
    return sa.make_url(url).set(database="postgres")


def pg_available(url: str = PG_URL) -> bool:
    try:
        engine = sa.create_engine(pg_admin_url(url), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means: not available here
        return False


def pg_recreate(name: str, *, template: str | None = None, url: str = PG_URL) -> str:
    """Drop and create a database (optionally as a copy of a template); returns its URL."""
    engine = sa.create_engine(pg_admin_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    engine.dispose()
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def pg_drop(name: str, url: str = PG_URL) -> None:
    engine = sa.create_engine(pg_admin_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def scenario_database(ws: Workspace, backend: str, name: str, *, bank_only: bool = False) -> str:
    """A fresh copy of the template (or of the bank-only one) for one scenario."""
    if backend == "sqlite":
        target = ws.root / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(ws.sqlite_bank if bank_only else ws.sqlite_template, target)
        return f"sqlite:///{target}"
    base = sa.make_url(PG_URL).database
    return pg_recreate(f"{base}_{name}", template=f"{base}_{'bank' if bank_only else 'template'}")


def cli(ws: Workspace, url: str, *args: str) -> str:
    """Run the real `testengine` command against `url`; its output, or an error with its output."""
    result = subprocess.run(
        [sys.executable, "-c", "from testengine.cli import main; main()", *args],
        cwd=REPO,
        env={**os.environ, **ws.env(url)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"testengine {' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return result.stdout.strip()


def migrate(ws: Workspace, url: str) -> None:
    cli(ws, url, "init-db")


def checkpoint_sqlite(path: Path) -> None:
    """Fold the WAL into the main file so a plain file copy is the whole database."""
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


# --- building the world ---------------------------------------------------------------------


def _capability(app: Any, attempt: dict[str, Any], user_id: int, seed: int, mcq_positions: list[int]) -> str:
    """The attempt capability the test page would give this sitter's browser (session version 1, as signed in)."""
    from testengine.fast_lane.capability import issue

    grace = dt.timedelta(seconds=int(app.config["TESTENGINE"]["SAVE_GRACE_SECONDS"]))
    with app.app_context():
        return issue(
            attempt_id=attempt["b_id"],
            user_id=user_id,
            session_version=1,
            browser_token=attempt["client_token"],
            expires_at=attempt["deadline_at"] + grace,
            seed=seed,
            closed={p: frozenset(str(i) for i in range(4)) for p in mcq_positions},
        )


def build_templates(ws: Workspace, *, postgres: bool) -> World:
    """The SQLite template (and its PostgreSQL copy); returns what the scenarios need to know."""
    ws.root.mkdir(parents=True, exist_ok=True)
    today = dt.datetime.now(UTC).date()
    bank = ws.root / "banks" / "ST0663"
    t0 = time.perf_counter()
    count = write_bank(bank, today)
    log(f"wrote a {count:,}-question bank as a standard folder in {time.perf_counter() - t0:.1f} s")
    url = f"sqlite:///{ws.sqlite_template}"
    migrate(ws, url)
    t0 = time.perf_counter()
    summary = cli(ws, url, "bank", "import", str(bank))
    log(f"testengine bank import: {summary} ({time.perf_counter() - t0:.1f} s)")
    checkpoint_sqlite(ws.sqlite_template)
    shutil.copyfile(ws.sqlite_template, ws.sqlite_bank)
    t0 = time.perf_counter()
    world = populate(ws, url)
    checkpoint_sqlite(ws.sqlite_template)
    log(f"people, rooms and attempts written in {time.perf_counter() - t0:.1f} s: {world.counts}")
    if postgres:
        t0 = time.perf_counter()
        base = sa.make_url(PG_URL).database
        pg_url = pg_recreate(f"{base}_template")
        migrate(ws, pg_url)
        copy_rows(url, pg_url)
        bank_url = pg_recreate(f"{base}_bank")
        migrate(ws, bank_url)
        copy_rows(f"sqlite:///{ws.sqlite_bank}", bank_url)
        log(f"PostgreSQL template copied row for row in {time.perf_counter() - t0:.1f} s")
    world.save(ws.root / "world.json")
    return world


def populate(ws: Workspace, url: str) -> World:
    from testengine.extensions import db

    app = ws.app(url)
    with app.app_context():
        try:
            world = _populate(app)
            db.session.commit()
            check_world(app, world)
        finally:
            db.session.remove()
            db.engine.dispose()
    return world


def _pack(counts: np.ndarray) -> str:
    # The format services.papers stores (little-endian uint32 per pool item, base64), so the
    # app's own reproduce_paper can redraw these papers.
    return base64.b64encode(counts.astype("<u4").tobytes()).decode()


def _populate(app: Any) -> World:
    from testengine.domain.papers import ExposureCounts, ItemPool, draw_paper
    from testengine.extensions import db
    from testengine.models import (
        Adjustment,
        Answer,
        Apprentice,
        Attempt,
        AttemptQuestion,
        Booking,
        ItemExposure,
        Mark,
        MethodResult,
        QuestionVersion,
        ResitAgreement,
        Sitting,
        SittingInvigilator,
        User,
        UserRole,
    )
    from testengine.policy import load_policy
    from testengine.services.accounts import hash_password
    from testengine.services.banks import get_standard, spec_of
    from testengine.services.papers import current_pool

    rnd = random.Random(20_663)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    standard = get_standard("ST0663")
    spec = spec_of(standard)
    assert spec.knowledge_test is not None
    blueprint = spec.knowledge_test.blueprint
    base_minutes = spec.knowledge_test.duration_minutes
    snapshot = current_pool(standard, now.date(), now)
    pool = ItemPool(snapshot.items)
    exposure = ExposureCounts(pool)
    keys = {}  # version id -> the MCQ's correct option
    versions = {}
    for version_id, vtype, content in db.session.execute(
        sa.select(QuestionVersion.id, QuestionVersion.type, QuestionVersion.content)
    ):
        versions[version_id] = vtype
        if vtype == "mcq":
            keys[version_id] = next(i for i, o in enumerate(content["options"]) if o["correct"])
    password_hash = hash_password(PASSWORD)
    checklist = {item.key: True for item in load_policy().checklist_for(False)}

    # People -----------------------------------------------------------------------------------
    n_rooms_now = SITTER_ROOMS + EXPIRED_ROOMS + STARTER_ROOMS * START_ROUNDS + SPARE_ROOMS
    n_history_rooms = HISTORY // ROOM
    n_apprentices = n_rooms_now * ROOM
    users, roles, apprentices = [], [], []
    for n in range(n_apprentices):
        users.append(
            {
                "email": f"apprentice{n:05d}@bench.test",
                "display_name": f"Bench Apprentice {n:05d}",
                "password_hash": password_hash,
                "active": True,
                "session_version": 1,
                "failed_logins": 0,
                "is_moderator": False,
                "created_at": now,
            }
        )
    invigilator_count = n_rooms_now + n_history_rooms
    for n in range(invigilator_count):
        users.append(
            {
                "email": f"invigilator{n:04d}@bench.test",
                "display_name": f"Bench Invigilator {n:04d}",
                "password_hash": password_hash,
                "active": True,
                "session_version": 1,
                "failed_logins": 0,
                "is_moderator": False,
                "created_at": now,
            }
        )
    users.append(
        {
            "email": "marker@bench.test",
            "display_name": "Bench Marker",
            "password_hash": password_hash,
            "active": True,
            "session_version": 1,
            "failed_logins": 0,
            "is_moderator": False,
            "created_at": now,
        }
    )
    db.session.execute(sa.insert(User.__table__), users)
    user_ids = dict(db.session.execute(sa.select(User.email, User.id).where(User.email.like("%@bench.test"))).all())
    apprentice_users = [user_ids[f"apprentice{n:05d}@bench.test"] for n in range(n_apprentices)]
    invigilator_users = [user_ids[f"invigilator{n:04d}@bench.test"] for n in range(invigilator_count)]
    marker_id = user_ids["marker@bench.test"]
    roles = [{"user_id": u, "role": "apprentice"} for u in apprentice_users]
    roles += [{"user_id": u, "role": "invigilator"} for u in invigilator_users]
    roles.append({"user_id": marker_id, "role": "marker"})
    db.session.execute(sa.insert(UserRole.__table__), roles)
    for n, user_id in enumerate(apprentice_users):
        apprentices.append(
            {
                "user_id": user_id,
                "uln": f"{8_000_000_000 + n}",
                "candidate_number": f"B{n:06d}",
                "given_name": "Bench",
                "family_name": f"Apprentice {n:05d}",
                "created_at": now,
                "epa_period_ends": now.date() + dt.timedelta(days=180),
            }
        )
    db.session.execute(sa.insert(Apprentice.__table__), apprentices)
    apprentice_of = dict(
        db.session.execute(sa.select(Apprentice.user_id, Apprentice.id).where(Apprentice.user_id.in_(apprentice_users))).all()
    )
    apprentice_ids = [apprentice_of[u] for u in apprentice_users]
    extra = {a: 25 for a in apprentice_ids if rnd.random() < EXTRA_TIME_SHARE}
    db.session.execute(
        sa.insert(Adjustment.__table__),
        [
            {
                "apprentice_id": a,
                "kind": "extra_time",
                "extra_percent": 25,
                "extra_minutes": 0,
                "reason": "Benchmark: assessed need",
                "approval_reference": f"RA-BENCH-{a}",
                "approved_by": "Bench Admin",
                "expires_on": None,
                "created_at": now,
            }
            for a in extra
        ],
    )

    # Rooms: today's (open, venue confirmed, one invigilator in) and last month's (closed) ------
    rooms = []
    for r in range(n_rooms_now):
        rooms.append(
            {
                "standard_id": standard.id,
                "title": f"Bench room {r:03d}",
                "venue": f"Bench centre, room {r:03d}",
                "remote": False,
                "window_start": now - dt.timedelta(minutes=15),
                "window_end": now + dt.timedelta(hours=4),
                "state": "open",
                "venue_checklist": checklist,
                "venue_confirmed_at": now - dt.timedelta(minutes=20),
                "venue_confirmed_by_id": invigilator_users[r],
                "closed_at": None,
                "created_at": now - dt.timedelta(days=7),
            }
        )
    past = now - dt.timedelta(days=30)
    for r in range(n_history_rooms):
        rooms.append(
            {
                "standard_id": standard.id,
                "title": f"Bench past room {r:03d}",
                "venue": "Bench centre",
                "remote": False,
                "window_start": past,
                "window_end": past + dt.timedelta(hours=4),
                "state": "closed",
                "venue_checklist": checklist,
                "venue_confirmed_at": past,
                "venue_confirmed_by_id": invigilator_users[n_rooms_now + r],
                "closed_at": past + dt.timedelta(hours=4),
                "created_at": past - dt.timedelta(days=7),
            }
        )
    db.session.execute(sa.insert(Sitting.__table__), rooms)
    room_ids = list(db.session.scalars(sa.select(Sitting.id).where(Sitting.title.like("Bench %")).order_by(Sitting.id)))
    today_rooms, past_rooms = room_ids[:n_rooms_now], room_ids[n_rooms_now:]
    db.session.execute(
        sa.insert(SittingInvigilator.__table__),
        [
            {
                "sitting_id": s,
                "user_id": invigilator_users[r],
                "present": (r < n_rooms_now),
                "signed_in_at": (now - dt.timedelta(minutes=20)) if r < n_rooms_now else past,
            }
            for r, s in enumerate(today_rooms + past_rooms)
        ],
    )

    # Who is where. Today's rooms, in order: sitters, expired, then the start rounds.
    seat = {}  # apprentice index -> sitting id
    for n in range(n_apprentices):
        seat[n] = today_rooms[n // ROOM]
    bookings = []
    for n in range(n_apprentices):
        bookings.append(
            {
                "sitting_id": seat[n],
                "apprentice_id": apprentice_ids[n],
                "status": "checked_in",
                "seat": f"S{n % ROOM + 1:02d}",
                "id_document_type": "passport",
                "id_last_digits": f"{n % 10000:04d}",
                "photo_matched": True,
                "uln_confirmed": True,
                "checked_in_at": now - dt.timedelta(minutes=10),
                "checked_in_by_id": invigilator_users[n // ROOM],
                "late": False,
            }
        )
    # History: every 2nd apprentice (sitters and starters alike) sat last month, up to HISTORY of them.
    history = [n for n in range(n_apprentices) if n % 2 == 0][:HISTORY]
    for k, n in enumerate(history):
        bookings.append(
            {
                "sitting_id": past_rooms[k // ROOM],
                "apprentice_id": apprentice_ids[n],
                "status": "checked_in",
                "seat": f"P{k % ROOM + 1:02d}",
                "id_document_type": "passport",
                "id_last_digits": f"{k % 10000:04d}",
                "photo_matched": True,
                "uln_confirmed": True,
                "checked_in_at": past,
                "checked_in_by_id": invigilator_users[n_rooms_now + k // ROOM],
                "late": False,
            }
        )
    db.session.execute(sa.insert(Booking.__table__), bookings)
    booking_of = {(s, a): b for b, s, a in db.session.execute(sa.select(Booking.id, Booking.sitting_id, Booking.apprentice_id))}

    # Papers, drawn for real: history first (their questions are then `seen`), then today's.
    seen: dict[int, list[str]] = {}
    attempts, attempt_papers = [], []

    def issue(n: int, sitting_id: int, issued_at: dt.datetime) -> None:
        a = apprentice_ids[n]
        packed = _pack(np.array([exposure[item.id] for item in snapshot.items]))
        seed = rnd.getrandbits(63)
        paper = draw_paper(pool, blueprint, seed=seed, seen=seen.get(n, ()), exposure=exposure)
        exposure.record(paper)
        attempts.append(
            {
                "apprentice_id": a,
                "standard_id": standard.id,
                "sitting_id": sitting_id,
                "kind": "resit" if n in seen else "first",
                "state": "not_started",
                "seed": seed,
                "draw_inputs": {
                    "pool": snapshot.key,
                    "seen": sorted(seen.get(n, ())),
                    "exposure": packed,
                    "blueprint": {t: [q.count, q.marks] for t, q in blueprint.quotas.items()},
                    "required_ksbs": list(blueprint.required_ksbs),
                },
                "issued_at": issued_at,
                "base_minutes": base_minutes,
                "extra_percent": extra.get(a, 0),
                "extra_minutes": 0,
                "marking_state": "unmarked",
            }
        )
        attempt_papers.append((n, paper))
        seen.setdefault(n, []).extend(q.item_id for q in paper.questions)

    for k, n in enumerate(history):
        issue(n, past_rooms[k // ROOM], past - dt.timedelta(minutes=10))
    n_sitters = SITTER_ROOMS * ROOM
    n_expired = EXPIRED_ROOMS * ROOM
    for n in range(n_sitters + n_expired):
        issue(n, seat[n], now - dt.timedelta(minutes=30))
    db.session.execute(sa.insert(Attempt.__table__), attempts)
    attempt_rows = list(db.session.execute(sa.select(Attempt.id, Attempt.apprentice_id, Attempt.sitting_id).order_by(Attempt.id)))
    assert len(attempt_rows) == len(attempt_papers)
    aq_rows = []
    for (attempt_id, _a, _s), (_n, paper) in zip(attempt_rows, attempt_papers):
        for position, q in enumerate(paper.questions, start=1):
            aq_rows.append(
                {
                    "attempt_id": attempt_id,
                    "position": position,
                    "question_version_id": snapshot.version_ids[q.item_id],
                    "option_order": list(q.option_order) if q.option_order is not None else None,
                    "marks": q.marks,
                }
            )
    for start in range(0, len(aq_rows), 20_000):
        db.session.execute(sa.insert(AttemptQuestion.__table__), aq_rows[start : start + 20_000])
    issued = {qid: 0 for qid in snapshot.question_ids.values()}
    for item in snapshot.items:
        issued[snapshot.question_ids[item.id]] = exposure[item.id]
    db.session.execute(sa.insert(ItemExposure.__table__), [{"question_id": q, "issued": c} for q, c in issued.items() if c])

    # History attempts: sat for 40-120 minutes, answered, marked, submitted.
    history_attempts = attempt_rows[: len(history)]
    aq_of = {}
    for aq_id, attempt_id, position, version_id, marks in db.session.execute(
        sa.select(
            AttemptQuestion.id,
            AttemptQuestion.attempt_id,
            AttemptQuestion.position,
            AttemptQuestion.question_version_id,
            AttemptQuestion.marks,
        ).where(AttemptQuestion.attempt_id.in_([a for a, _, _ in history_attempts]))
    ):
        aq_of.setdefault(attempt_id, []).append((aq_id, position, version_id, marks))
    answers, marks_rows, updates, history_results = [], [], [], []
    for attempt_id, _a, _s in history_attempts:
        ability = rnd.random() * 0.35  # at most 14 + 26 marks: a fail, which is what a re-sit follows
        started = past + dt.timedelta(minutes=rnd.randint(0, 10))
        submitted = started + dt.timedelta(minutes=rnd.randint(40, 118))
        total = 0
        for aq_id, _position, version_id, max_marks in aq_of[attempt_id]:
            if versions[version_id] == "mcq":
                choice = keys[version_id] if rnd.random() < 0.4 + 0.5 * ability else rnd.randrange(4)
                response, mark, role, marker = str(choice), int(choice == keys[version_id]), "auto", None
            else:
                mark = min(max_marks, int(rnd.random() * 1.2 + ability * 1.5))
                response, role, marker = f"Bench answer worth {mark}: " + "words " * rnd.randint(5, 60), "first", marker_id
            total += mark
            answers.append(
                {
                    "attempt_question_id": aq_id,
                    "attempt_id": attempt_id,
                    "response": response,
                    "flagged": False,
                    "revision": rnd.randint(1, 6),
                    "saved_at": started + dt.timedelta(minutes=20),
                }
            )
            marks_rows.append(
                {
                    "attempt_question_id": aq_id,
                    "attempt_id": attempt_id,
                    "marker_id": marker,
                    "role": role,
                    "mark": mark,
                    "created_at": submitted + dt.timedelta(days=2),
                }
            )
        updates.append(
            {
                "b_id": attempt_id,
                "started_at": started,
                "deadline_at": started + dt.timedelta(minutes=base_minutes),
                "submitted_at": submitted,
                "total_marks": total,
            }
        )
        history_results.append(
            {
                "apprentice_id": _a,
                "standard_id": standard.id,
                "method_key": "knowledge_test",
                "grade": "fail",
                "achieved_grade": "fail",
                "marks": total,
                "attempt_id": attempt_id,
                "assessed_on": submitted.date(),
                "assessor": "Independent markers (knowledge test)",
                "kind": "first",
                "employer_agreed": False,
                "current": True,
                "recorded_at": submitted,
                "status": "released",
                "signed_off_at": submitted,
                "released_at": submitted + dt.timedelta(days=3),
            }
        )
    for start in range(0, len(answers), 20_000):
        db.session.execute(sa.insert(Answer.__table__), answers[start : start + 20_000])
        db.session.execute(sa.insert(Mark.__table__), marks_rows[start : start + 20_000])
    table = Attempt.__table__
    db.session.execute(
        table.update()
        .where(table.c.id == sa.bindparam("b_id"))
        .values(
            state="submitted",
            finish_reason="candidate",
            marking_state="complete",
            started_at=sa.bindparam("started_at"),
            deadline_at=sa.bindparam("deadline_at"),
            submitted_at=sa.bindparam("submitted_at"),
            total_marks=sa.bindparam("total_marks"),
        ),
        updates,
    )

    # Each history attempt is a released fail, with the employer's agreement to a re-sit inside the EPA
    # period: what lets its apprentice sit again today (services.eligibility).
    db.session.execute(sa.insert(MethodResult.__table__), history_results)
    db.session.execute(
        sa.insert(ResitAgreement.__table__),
        [
            {
                "apprentice_id": a,
                "standard_id": standard.id,
                "method_key": "knowledge_test",
                "after_result_id": r,
                "employer_contact": "Benchmark employer",
                "agreed_on": (past + dt.timedelta(days=4)).date(),
                "further_learning": None,
                "recorded_at": past + dt.timedelta(days=4),
            }
            for r, a in db.session.execute(sa.select(MethodResult.id, MethodResult.apprentice_id))
        ],
    )
    db.session.execute(
        sa.update(Apprentice.__table__)
        .where(Apprentice.__table__.c.id.in_([r["apprentice_id"] for r in history_results]))
        .values(epa_period_ends=(now + dt.timedelta(days=60)).date())
    )

    # Today's sitters: started 5 minutes ago (or 3 hours ago, for the expired rooms).
    sitter_attempts = attempt_rows[len(history) :]
    tokens = {}
    updates = []
    for k, (attempt_id, a, _s) in enumerate(sitter_attempts):
        expired_room = k >= n_sitters
        started = now - (dt.timedelta(hours=3) if expired_room else dt.timedelta(minutes=5))
        minutes = base_minutes * (1 + extra.get(a, 0) / 100)
        tokens[attempt_id] = secrets.token_urlsafe(24)
        updates.append(
            {
                "b_id": attempt_id,
                "started_at": started,
                "deadline_at": started + dt.timedelta(minutes=minutes),
                "client_token": tokens[attempt_id],
                "last_seen_at": started,
            }
        )
    db.session.execute(
        table.update()
        .where(table.c.id == sa.bindparam("b_id"))
        .values(
            state="in_progress",
            started_at=sa.bindparam("started_at"),
            deadline_at=sa.bindparam("deadline_at"),
            client_token=sa.bindparam("client_token"),
            last_seen_at=sa.bindparam("last_seen_at"),
        ),
        updates,
    )
    # The expired rooms saved a few answers in time; those must survive the time-up.
    early = []
    for attempt_id, _a, _s in sitter_attempts[n_sitters:]:
        for aq_id, position in db.session.execute(
            sa.select(AttemptQuestion.id, AttemptQuestion.position).where(
                AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.position <= 3
            )
        ):
            early.append(
                {
                    "attempt_question_id": aq_id,
                    "attempt_id": attempt_id,
                    "response": f"early answer {position}",
                    "flagged": False,
                    "revision": 1,
                    "saved_at": now - dt.timedelta(hours=2),
                }
            )
    db.session.execute(sa.insert(Answer.__table__), early)
    db.session.flush()

    # Sessions: signed cookies, as a sign-in would leave them.
    people: dict[int, Person] = {}
    with app.test_request_context(environ_base={"REMOTE_ADDR": REMOTE_ADDR}, headers={"User-Agent": USER_AGENT}):
        from flask import g, session
        from flask_wtf.csrf import generate_csrf

        identifier = app.login_manager._session_identifier_generator()
        serializer = app.session_interface.get_signing_serializer(app)
        for user_id in apprentice_users + invigilator_users:
            session.clear()
            g.pop("csrf_token", None)
            session["_user_id"] = f"{user_id}:1"
            session["_fresh"] = True
            session["_id"] = identifier
            csrf = generate_csrf()
            people[user_id] = Person(user_id, apprentice_of.get(user_id), serializer.dumps(dict(session)), csrf)

    mcq_positions = {}
    seeds = {attempt_id: row["seed"] for (attempt_id, _a, _s), row in zip(attempt_rows, attempts)}
    for (attempt_id, _a, _s), (_n, paper) in zip(attempt_rows, attempt_papers):
        mcq_positions[attempt_id] = [p for p, q in enumerate(paper.questions, start=1) if q.type == "mcq"]
    world = World(
        secret_key=app.config["SECRET_KEY"], standard_id=standard.id, started_at=(now - dt.timedelta(minutes=5)).isoformat()
    )
    for k, (attempt_id, a, s) in enumerate(sitter_attempts):
        # Today's papers were issued to apprentices 0, 1, 2, ... in order.
        sitter = Sitter(
            people[apprentice_users[k]], attempt_id, s, tokens[attempt_id], extra.get(a, 0), mcq_positions[attempt_id]
        )
        sitter.capability = _capability(app, updates[k], apprentice_users[k], seeds[attempt_id], mcq_positions[attempt_id])
        (world.sitters if k < n_sitters else world.expired).append(sitter)
    first_starter = n_sitters + n_expired
    for r in range(START_ROUNDS):
        group = range(first_starter + r * STARTER_ROOMS * ROOM, first_starter + (r + 1) * STARTER_ROOMS * ROOM)
        world.starter_rounds.append(
            [
                Starter(
                    people[apprentice_users[n]],
                    booking_of[(seat[n], apprentice_ids[n])],
                    seat[n],
                    extra.get(apprentice_ids[n], 0),
                )
                for n in group
            ]
        )
    first_spare = first_starter + START_ROUNDS * STARTER_ROOMS * ROOM
    world.spare_starters = [
        Starter(people[apprentice_users[n]], booking_of[(seat[n], apprentice_ids[n])], seat[n], extra.get(apprentice_ids[n], 0))
        for n in range(first_spare, first_spare + SPARE_ROOMS * ROOM)
    ]
    for r, sitting_id in enumerate(today_rooms):
        world.invigilators[sitting_id] = people[invigilator_users[r]]
    world.counts = {
        "questions": len(snapshot.items),
        "apprentices": n_apprentices,
        "invigilators": invigilator_count,
        "rooms_today": n_rooms_now,
        "rooms_past": n_history_rooms,
        "attempts": len(attempt_rows),
        "attempt_questions": len(aq_rows),
        "answers": len(answers) + len(early),
        "marks": len(marks_rows),
        "with_extra_time": len(extra),
        "resitting_starters": sum(1 for n in history if n >= first_starter),
    }
    return world


def check_world(app: Any, world: World) -> None:
    """The app's own reproduce_paper must redraw a sample of the stored papers exactly."""
    from testengine.extensions import db
    from testengine.models import Attempt
    from testengine.services.papers import reproduce_paper

    sample = [s.attempt_id for s in world.sitters[::250]] + [world.expired[0].attempt_id]
    for attempt_id in sample:
        attempt = db.session.get(Attempt, attempt_id)
        _paper, same = reproduce_paper(attempt)
        if not same:
            raise RuntimeError(f"attempt {attempt_id}: the stored paper does not reproduce from its seed")


# --- copying SQLite to PostgreSQL -----------------------------------------------------------


def copy_rows(source_url: str, target_url: str, chunk: int = 5_000) -> None:
    """Every table, row for row, in foreign-key order; then move PostgreSQL's id sequences past the copied ids."""
    from testengine.extensions import db

    source = sa.create_engine(source_url)
    target = sa.create_engine(target_url)
    tables = db.metadata.sorted_tables
    with source.connect() as src, target.begin() as dst:
        for table in tables:
            rows = src.execute(sa.select(table)).mappings()
            while batch := rows.fetchmany(chunk):
                dst.execute(sa.insert(table), [dict(r) for r in batch])
        for table in tables:
            pk = list(table.primary_key.columns)
            if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) and pk[0].autoincrement in (True, "auto"):
                dst.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                        f"COALESCE((SELECT MAX({pk[0].name}) FROM {table.name}), 0) + 1, false)"
                    )
                )
    source.dispose()
    target.dispose()

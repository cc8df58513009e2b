"""A year of marked scripts in the database, for S4 (marks to grades) and S5 (item statistics).

On a copy of the template (so the 10,000-question bank and everything else are there):
- 100,000 apprentices, each with one submitted, fully marked knowledge-test attempt (total_marks set);
- for the first 25,000 of them, the whole script: 40 attempt_questions each (14 MCQ from a 700-question
  slice of the bank, 26 short answers from a 1,300-question slice), a mark per response, and the MCQ
  answers (the option chosen, in the bank's original order): 1,000,000 responses. They come from
  benchmarks.item_stats.simulate (a logistic ability model), so the statistics are not trivial and
  the script totals are the sums of their marks;
- the other 75,000 carry only their totals.

Written with the database's bulk path (executemany on SQLite, COPY on PostgreSQL) with explicit ids.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from benchmarks.item_stats import N_MCQ_BANK, N_SAQ_BANK, simulate
from testengine.domain.item_stats import Responses

SCRIPTS = 100_000
UTC = dt.UTC


@dataclass
class Cohort:
    full: Responses  # the simulated responses, items 0..1999, scripts 0..24,999
    item_question: np.ndarray  # item index -> questions.id
    totals: np.ndarray  # all 100,000 totals, script order
    attempt_ids: np.ndarray  # script index -> attempts.id
    standard_id: int
    rows: dict[str, int]


def _stamp(value: dt.datetime, dialect: str) -> Any:
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else naive


def _bulk(raw: Any, dialect: str, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    if dialect == "sqlite":
        marks = ",".join("?" for _ in columns)
        raw.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)
        return
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(url: str) -> Cohort:
    engine = sa.create_engine(url)
    dialect = engine.dialect.name
    with engine.connect() as conn:
        standard_id = conn.execute(sa.text("SELECT id FROM standards WHERE code = 'ST0663'")).scalar_one()
        mcq = [
            r[0]
            for r in conn.execute(
                sa.text(
                    "SELECT q.id FROM questions q JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version "
                    "WHERE v.type = 'mcq' ORDER BY q.id"
                )
            )
        ][:N_MCQ_BANK]
        saq = [
            r[0]
            for r in conn.execute(
                sa.text(
                    "SELECT q.id FROM questions q JOIN question_versions v ON v.question_id = q.id AND v.version = q.current_version "
                    "WHERE v.type = 'short_answer' ORDER BY q.id"
                )
            )
        ][:N_SAQ_BANK]
        version_of = dict(conn.execute(sa.text("SELECT question_id, id FROM question_versions")).all())
        next_id = {
            t: (conn.execute(sa.text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")).scalar() or 0) + 1
            for t in ("apprentices", "attempts", "attempt_questions", "marks", "answers")
        }
    item_question = np.array(mcq + saq)
    full = simulate()
    rng = np.random.default_rng(100_000)
    script_totals = np.bincount(full.script, weights=full.score, minlength=full.n_scripts).astype(int)
    rest = np.clip(np.rint(rng.normal(45, 9, SCRIPTS - full.n_scripts)), 0, 66).astype(int)
    totals = np.concatenate([script_totals, rest])

    now = dt.datetime.now(UTC).replace(microsecond=0)
    sat = now - dt.timedelta(days=60)
    a0, t0, q0, m0, n0 = (next_id[t] for t in ("apprentices", "attempts", "attempt_questions", "marks", "answers"))
    apprentices = [
        (a0 + n, f"{7_000_000_000 + n}", f"Y{n:06d}", "Cohort", f"Apprentice {n:06d}", _stamp(sat, dialect))
        for n in range(SCRIPTS)
    ]
    attempts = [
        (
            t0 + n,
            a0 + n,
            standard_id,
            "first",
            "submitted",
            n,
            json.dumps({"cohort": True}),
            _stamp(sat, dialect),
            _stamp(sat, dialect),
            120,
            0,
            0,
            _stamp(sat + dt.timedelta(hours=2), dialect),
            _stamp(sat + dt.timedelta(minutes=90), dialect),
            "candidate",
            "complete",
            int(totals[n]),
        )
        for n in range(SCRIPTS)
    ]
    script, item, score, position, choice = full.script, full.item, full.score, full.position, full.choice
    assert position is not None and choice is not None
    versions = [version_of[int(q)] for q in item_question]
    aq, marks, answers = [], [], []
    created = _stamp(sat + dt.timedelta(days=3), dialect)
    saved = _stamp(sat + dt.timedelta(minutes=30), dialect)
    for k in range(script.size):
        aq_id = q0 + k
        attempt_id = t0 + int(script[k])
        i = int(item[k])
        is_mcq = i < N_MCQ_BANK
        aq.append((aq_id, attempt_id, int(position[k]) + 1, versions[i], 1 if is_mcq else 2))
        marks.append((m0 + k, aq_id, attempt_id, "auto" if is_mcq else "first", int(score[k]), created))
        if is_mcq and choice[k] >= 0:
            answers.append(
                (n0 + len(answers), aq_id, attempt_id, str(int(choice[k])), False if dialect != "sqlite" else 0, 1, saved)
            )

    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        _bulk(
            driver,
            dialect,
            "apprentices",
            ["id", "uln", "candidate_number", "given_name", "family_name", "created_at"],
            apprentices,
        )
        _bulk(
            driver,
            dialect,
            "attempts",
            [
                "id",
                "apprentice_id",
                "standard_id",
                "kind",
                "state",
                "seed",
                "draw_inputs",
                "issued_at",
                "started_at",
                "base_minutes",
                "extra_percent",
                "extra_minutes",
                "deadline_at",
                "submitted_at",
                "finish_reason",
                "marking_state",
                "total_marks",
            ],
            attempts,
        )
        _bulk(driver, dialect, "attempt_questions", ["id", "attempt_id", "position", "question_version_id", "marks"], aq)
        _bulk(driver, dialect, "marks", ["id", "attempt_question_id", "attempt_id", "role", "mark", "created_at"], marks)
        _bulk(
            driver,
            dialect,
            "answers",
            ["id", "attempt_question_id", "attempt_id", "response", "flagged", "revision", "saved_at"],
            answers,
        )
        raw.commit()
        if dialect == "postgresql":
            with driver.cursor() as cursor:
                for table in next_id:
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
                cursor.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
    engine.dispose()
    return Cohort(
        full=full,
        item_question=item_question,
        totals=totals,
        attempt_ids=np.arange(t0, t0 + SCRIPTS),
        standard_id=standard_id,
        rows={
            "apprentices": SCRIPTS,
            "attempts": SCRIPTS,
            "attempt_questions": len(aq),
            "marks": len(marks),
            "answers": len(answers),
            "seconds": round(time.perf_counter() - started, 1),
        },
    )

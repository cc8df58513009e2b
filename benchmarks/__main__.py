"""Capacity benchmarks of a sitting day: `python -m benchmarks` runs S1-S7; `python -m benchmarks S1 S3` runs some.

    python -m benchmarks                      all scenarios, SQLite and PostgreSQL
    python -m benchmarks S1 --backend sqlite  one scenario on one database
    python -m benchmarks --keep               keep the temporary folder and databases (logs, profiles)

Each scenario writes its section of docs/benchmarks.md (target, result, pass or miss, and for a
miss the profile and the fix). A missed target is a finding, reported; a failed correctness check
(a lost save, a wrong deadline, a paper breaking the blueprint) makes the run exit with status 1.
PostgreSQL: TESTENGINE_BENCH_PG_URL (default postgresql+psycopg://testengine:testengine@127.0.0.1:5432/testengine_bench);
the run creates <name>_template and one database per scenario next to it, and drops them at the end.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks import dataset
from benchmarks.cohort import Cohort
from benchmarks.dataset import PG_URL, Workspace, log
from benchmarks.harness import BACKEND_NAMES, Context
from benchmarks.outcome import Outcome
from benchmarks.report import machine_line, write_section
from benchmarks.server import THREADS, WORKERS

SCENARIOS = {
    "S1": "Autosave",
    "S2": "Synchronised start",
    "S3": "Paper draws (pure function)",
    "S4": "Marks to grades, 100,000 scripts",
    "S5": "Item statistics, 1,000,000 responses",
    "S6": "Invigilation boards under load",
    "S7": "Question page views",
}
HTTP = ("S1", "S2", "S6", "S7")
DATABASE = ("S1", "S2", "S4", "S5", "S6", "S7")
# Tuned Moodle 4.5 on this kind of machine (two cores), per second: autosaves, quiz starts, question page views.
MOODLE = {"saves": 74.0, "starts": 22.0, "views": 22.0}
SIDE_BY_SIDE = (("saves", "S1"), ("starts", "S2"), ("views", "S7"))


def versions() -> str:
    import sqlite3
    from importlib.metadata import version

    pg = ""
    try:
        engine = sa.create_engine(dataset.pg_admin_url(PG_URL))
        with engine.connect() as conn:
            pg = ", PostgreSQL " + str(conn.execute(sa.text("SHOW server_version")).scalar()).split()[0]
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - not reachable here: the versions line just leaves it out
        log(f"PostgreSQL version not read: {error.__class__.__name__}")
    return (
        f"Flask {version('flask')}, SQLAlchemy {version('sqlalchemy')}, gunicorn {version('gunicorn')}, "
        f"psycopg {version('psycopg')}, SQLite {sqlite3.sqlite_version}{pg}"
    )


def section(name: str, outcomes: list[Outcome], doc: str) -> None:
    intro = " ".join(doc.strip().split("\n\n")[1:]).replace("\n", " ") if "\n\n" in doc else ""
    body = [f"## {name} {SCENARIOS[name]} (`python -m benchmarks {name}`)", "", machine_line(), "", intro, ""]
    for outcome in outcomes:
        body += [outcome.markdown(), ""]
    write_section(f"capacity-{name.lower()}", "\n".join(body))


def side_by_side(all_outcomes: dict[str, list[Outcome]]) -> str:
    """Saves, starts and views per second against tuned Moodle's on this kind of machine, as ratios."""
    parts = []
    for backend in ("SQLite", "PostgreSQL"):
        figures = []
        for kind, scenario in SIDE_BY_SIDE:
            found = [o for o in all_outcomes.get(scenario, []) if o.backend == backend and kind in o.figures]
            if not found:
                figures.append(f"{kind} not run")
                continue
            value = found[0].figures[kind]
            if value is None:
                figures.append(f"{kind}: some never finished, so no rate (Moodle {MOODLE[kind]:.0f}/s)")
            else:
                figures.append(f"{kind} {value:,.0f}/s = {value / MOODLE[kind]:.1f}x Moodle's {MOODLE[kind]:.0f}/s")
        if any("not run" not in f for f in figures):
            parts.append(f"{backend}: " + "; ".join(figures))
    return "Side by side with tuned Moodle 4.5 on this kind of machine: " + (" | ".join(parts) or "nothing run") + "."


def summary(all_outcomes: dict[str, list[Outcome]], world: dataset.World | None, wall: float) -> None:
    rows = ["| scenario | database | targets | correctness |", "|---|---|---|---|"]
    for name, outcomes in all_outcomes.items():
        for o in outcomes:
            met = sum(t.passed for t in o.targets)
            rows.append(
                f"| {name} {SCENARIOS[name]} | {o.backend} | {met} of {len(o.targets)} met{'' if not o.missed else ' (**miss**)'} "
                f"| {'ok' if o.correct else '**FAILED**'} |"
            )
    counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in world.counts.items()) if world else "not built"
    body = [
        "## Capacity: a sitting day on one machine (`python -m benchmarks`)",
        "",
        machine_line() + "; " + versions(),
        "",
        "Every HTTP scenario starts the real app under gunicorn on 127.0.0.1 (`benchmarks/wsgi.py`: the app plus a "
        "constant-JSON `/bench/baseline` that exists only there) with the gthread worker, "
        f"**{WORKERS} workers x {THREADS} threads**: two processes for two cores (one GIL each), threads so a worker "
        "overlaps requests that wait on the database; the load generator (`benchmarks/loadgen.py`, asyncio on raw "
        "keep-alive connections, open loops timed from each request's intended send time) shares the same two "
        "cores. Databases: SQLite in WAL mode with synchronous=FULL (the app's own settings) and PostgreSQL on "
        "loopback; each scenario gets a fresh copy of one template, built per run: a 10,000-question ST0663 bank "
        "written as a standard folder and imported with `testengine bank import`, then " + counts + ". "
        "Apprentices and invigilators are signed in by session cookies signed with the app's key (as a sign-in "
        "leaves them). Each HTTP scenario runs the baseline endpoint in the same server, interleaved A-B-A-B, and "
        "compute scenarios run a plain-Python reference checked equal. Every run ends with correctness checks "
        "against the database. On a shared machine the absolute numbers move with the neighbours' load; the "
        "ratios to the baseline are the figures to compare between runs.",
        "",
        *rows,
        "",
        side_by_side(all_outcomes),
        "",
        f"Whole run {wall / 60:.1f} min.",
    ]
    write_section("capacity", "\n".join(body))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="S", help="S1 ... S6 (default: all)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and PostgreSQL databases")
    args = parser.parse_args(argv)
    chosen = [s.upper() for s in args.scenarios] or list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not dataset.pg_available():
        log(f"PostgreSQL is not reachable at {sa.make_url(PG_URL).render_as_string()}: running on SQLite only")
        backends = [b for b in backends if b != "postgresql"]
        if not backends:
            return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 8192), hard), hard))  # 1,000 connections at once

    started = time.perf_counter()
    ws = Workspace(Path(tempfile.mkdtemp(prefix="testengine-bench-")))
    log(f"workspace {ws.root}; scenarios {' '.join(chosen)}; databases {', '.join(BACKEND_NAMES[b] for b in backends)}")
    outcomes: dict[str, list[Outcome]] = {}
    world = None
    try:
        if any(s in DATABASE for s in chosen):
            world = dataset.build_templates(ws, postgres="postgresql" in backends)
        ctx = Context(ws, world, backends) if world else None  # type: ignore[arg-type]
        for name in chosen:
            log(f"--- {name} {SCENARIOS[name]}")
            outcomes[name] = run_scenario(name, ctx, backends)
            from benchmarks import (
                s1_autosave,
                s2_start,
                s3_draws,
                s4_grades,
                s5_item_stats,
                s6_invigilation,
                s7_views,
            )

            doc = {
                "S1": s1_autosave,
                "S2": s2_start,
                "S3": s3_draws,
                "S4": s4_grades,
                "S5": s5_item_stats,
                "S6": s6_invigilation,
                "S7": s7_views,
            }[name].__doc__ or ""
            section(name, outcomes[name], doc)
            for o in outcomes[name]:
                log(
                    f"{name} {o.backend}: "
                    + "; ".join(f"{t.what}: {t.result} ({'pass' if t.passed else 'MISS'})" for t in o.targets)
                    + ("" if o.correct else " -- CORRECTNESS FAILED: " + "; ".join(c.what for c in o.checks if not c.ok))
                )
        log(side_by_side(outcomes))
        if set(chosen) == set(SCENARIOS):
            summary(outcomes, world, time.perf_counter() - started)
    finally:
        if args.keep:
            log(f"kept {ws.root}")
        else:
            shutil.rmtree(ws.root, ignore_errors=True)
            if "postgresql" in backends:
                drop_databases()
    failed = [f"{n} {o.backend}" for n, os_ in outcomes.items() for o in os_ if not o.correct]
    log(
        f"done in {(time.perf_counter() - started) / 60:.1f} min; results in docs/benchmarks.md"
        + (f"; CORRECTNESS FAILED in {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


def run_scenario(name: str, ctx: Context | None, backends: list[str]) -> list[Outcome]:
    from benchmarks import (
        cohort,
        s1_autosave,
        s2_start,
        s3_draws,
        s4_grades,
        s5_item_stats,
        s6_invigilation,
        s7_views,
    )

    if name == "S3":
        return [s3_draws.run()]
    assert ctx is not None
    if name in HTTP:
        module = {"S1": s1_autosave, "S2": s2_start, "S6": s6_invigilation, "S7": s7_views}[name]
        return [module.run(ctx, backend) for backend in backends]
    out: list[Outcome] = []
    for backend in backends:
        if backend not in _COHORTS:  # S4 and S5 share one cohort database per backend
            url = dataset.scenario_database(ctx.ws, backend, "cohort", bank_only=True)
            t0 = time.perf_counter()
            _COHORTS[backend] = (url, cohort.load(url))
            log(f"cohort loaded into {BACKEND_NAMES[backend]} in {time.perf_counter() - t0:.1f} s: {_COHORTS[backend][1].rows}")
        url, data = _COHORTS[backend]
        if not out:
            out.append(s4_grades.compute(data.totals) if name == "S4" else s5_item_stats.compute(data.full))
        if name == "S4":
            out.append(s4_grades.run(data, url, BACKEND_NAMES[backend]))
        else:
            out.append(s5_item_stats.run(data, url, BACKEND_NAMES[backend], ctx.ws))
    return out


_COHORTS: dict[str, tuple[str, Cohort]] = {}


def drop_databases() -> None:
    base = sa.make_url(PG_URL).database
    engine = sa.create_engine(dataset.pg_admin_url(PG_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        names = [
            r[0] for r in conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": f"{base}\\_%"})
        ]
    engine.dispose()
    for name in names:
        dataset.pg_drop(name)


if __name__ == "__main__":
    sys.exit(main())

"""What the HTTP scenarios share: a fresh database and server per scenario, signed-in requests,
the baseline endpoint, and phases interleaved A-B-A-B."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks import loadgen
from benchmarks.dataset import Person, Workspace, World, log, scenario_database
from benchmarks.outcome import Check
from benchmarks.server import HOST, Server

BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass
class Context:
    ws: Workspace
    world: World
    backends: list[str]


@dataclass
class Served:
    url: str
    server: Server

    @property
    def port(self) -> int:
        return self.server.port

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url)


@contextlib.contextmanager
def served(ctx: Context, backend: str, name: str) -> Iterator[Served]:
    """A fresh copy of the template and gunicorn serving it; stopped (and the log kept) at the end."""
    url = scenario_database(ctx.ws, backend, f"{name}_{backend}")
    server = Server(ctx.ws.env(url), ctx.ws.root / f"gunicorn-{name}-{backend}.log")
    server.start()
    log(
        f"{name} on {BACKEND_NAMES[backend]}: gunicorn pid {server.process.pid if server.process else '?'}, "
        f"{server.workers} workers x {server.threads} threads on {HOST}:{server.port}"
    )
    try:
        yield Served(url, server)
    finally:
        server.stop()


def headers(person: Person, *, json_body: bool = False, extra_cookie: str = "") -> dict[str, str]:
    out = {"Cookie": f"session={person.cookie}" + (f"; {extra_cookie}" if extra_cookie else ""), "X-CSRFToken": person.csrf}
    if json_body:
        out["Content-Type"] = "application/json"
    return out


def json_of(response: loadgen.Response) -> Any:
    try:
        return json.loads(response.body)
    except ValueError:
        return None


def baseline_source() -> loadgen.JobSource:
    raw = loadgen.build_request("GET", "/bench/baseline", "bench")

    def judge(response: loadgen.Response) -> bool:
        return response.status == 200 and response.body.startswith(b'{"answer":42')

    return lambda: ("baseline", raw, judge)


def settle(port: int, *, quiet_ms: float = 20.0, limit: float = 60.0) -> bool:
    """Wait until the server answers the baseline quickly again (a phase that overloaded it leaves a
    queue behind, which must not be charged to the next phase); False if it did not within `limit`."""
    started = time.perf_counter()
    raw = loadgen.build_request("GET", "/bench/baseline", "bench")

    async def probe() -> float:
        conn = loadgen.Connection(HOST, port)
        try:
            t = time.perf_counter()
            await asyncio.wait_for(conn.request(raw), limit)
            return (time.perf_counter() - t) * 1e3
        finally:
            await conn.close()

    while time.perf_counter() - started < limit:
        try:
            if loadgen.run(probe()) < quiet_ms:
                return True
        except (TimeoutError, OSError, ConnectionError):
            pass
        time.sleep(0.2)
    return False


def interleave(
    server: Server, phases: list[tuple[str, Callable[[], loadgen.Run]]], rounds: int = 2
) -> dict[str, list[loadgen.Run]]:
    """Run each phase in turn, `rounds` times (A-B-A-B), so drift on a shared machine hits both alike.

    Before each phase the server is let settle, so a backlog left by the phase before is not
    charged to this one; a server still swamped after SETTLE_LIMIT seconds is restarted (same
    port, same database), and the restart is counted.
    """
    runs: dict[str, list[loadgen.Run]] = {name: [] for name, _ in phases}
    for _ in range(rounds):
        for name, phase in phases:
            if not settle(server.port, limit=SETTLE_LIMIT):
                log(f"server still busy after {SETTLE_LIMIT:.0f} s: restarting it before the {name} phase")
                server.restart()
                RESTARTS[server.port] = RESTARTS.get(server.port, 0) + 1
            runs[name].append(phase())
    return runs


SETTLE_LIMIT = 4.0
RESTARTS: dict[int, int] = {}


def merged(runs: list[loadgen.Run]) -> loadgen.Run:
    """Several runs of one phase as one: samples together, wall time added up."""
    out = loadgen.Run(runs[0].label if runs else "")
    for r in runs:
        out.samples += r.samples
        out.reconnects += r.reconnects
        out.unsent += r.unsent
    out.started, out.ended = 0.0, sum(r.ended - r.started for r in runs)
    return out


def throughput(runs: list[loadgen.Run], kind: str | None = None) -> float:
    wall = sum(r.ended - r.started for r in runs)
    return sum(1 for r in runs for s in r.of(kind) if s.ok) / wall if wall else 0.0


def errors_of(runs: list[loadgen.Run], kind: str | None = None) -> int:
    """Requests of this kind answered wrongly or not at all (timed out, connection lost)."""
    return sum(r.errors(kind) for r in runs)


def unsent_of(runs: list[loadgen.Run]) -> int:
    """Requests still waiting to be sent or answered when the phase's time bound ran out."""
    return sum(r.unsent for r in runs)


def statuses(runs: list[loadgen.Run], kind: str | None = None) -> dict[int, int]:
    out: dict[int, int] = {}
    for r in runs:
        for s in r.of(kind):
            out[s.status] = out.get(s.status, 0) + 1
    return dict(sorted(out.items()))


def closed(
    port: int, source: loadgen.JobSource, *, label: str, connections: int, seconds: float, max_requests: int
) -> Callable[[], loadgen.Run]:
    return lambda: loadgen.run(
        loadgen.closed_loop(HOST, port, source, connections=connections, seconds=seconds, max_requests=max_requests, label=label)
    )


def opened(
    port: int, source: loadgen.JobSource, *, label: str, rate: float, seconds: float, pool: int, grace: float = 10.0
) -> Callable[[], loadgen.Run]:
    return lambda: loadgen.run(
        loadgen.open_loop(
            HOST,
            port,
            source,
            due_times=loadgen.uniform_due_times(rate, seconds),
            pool=pool,
            label=label,
            time_bound=seconds + grace,
        )
    )


def _cpu_seconds(pids: list[int]) -> float:
    import os

    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / tick


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def with_cpu(server: Server, phase: Callable[[], loadgen.Run]) -> Callable[[], loadgen.Run]:
    """The phase, recording the CPU the app's workers (and PostgreSQL's backends) used during it."""

    def run() -> loadgen.Run:
        workers = server.worker_pids()
        before = (_cpu_seconds(workers), _cpu_seconds(_postgres_pids()))
        result = phase()
        result.cpu = {"app": _cpu_seconds(workers) - before[0], "postgres": _cpu_seconds(_postgres_pids()) - before[1]}
        return result

    return run


def cpu_per_request(runs: list[loadgen.Run], kind: str | None = None) -> dict[str, float]:
    """Milliseconds of server CPU per answered request, by process kind."""
    answered = sum(1 for r in runs for s in r.of(kind) if s.ok) or 1
    return {k: sum(r.cpu.get(k, 0.0) for r in runs) / answered * 1e3 for k in ("app", "postgres")}


def count_statements(
    ctx: Context,
    url: str,
    person: Person,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[int, int]:
    """One request through the app in this process, against the scenario's database: (status, SQL statements run).

    Counts what reaches the driver (BEGIN and COMMIT included), so it says how chatty a request is,
    whatever the machine's speed.
    """
    from benchmarks.dataset import REMOTE_ADDR, USER_AGENT
    from testengine.extensions import db

    app = ctx.ws.app(url)
    count = [0]
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *_a, **_k: count.__setitem__(0, count[0] + 1))
    client = app.test_client()
    client.set_cookie("session", person.cookie, domain="localhost")
    response = client.open(
        path,
        method=method,
        json=json_body,
        data=form,
        headers={"User-Agent": USER_AGENT, "X-CSRFToken": person.csrf, **(extra_headers or {})},
        environ_base={"REMOTE_ADDR": REMOTE_ADDR},
    )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return response.status_code, count[0]


def server_errors_check(server: Server) -> Check:
    """No unexpected error in the server's log; otherwise each kind with its count."""
    from collections import Counter

    counts = Counter(server.logged_errors())
    detail = "; ".join(f"{n} x {kind}" for kind, n in counts.most_common(4)) or "none"
    return Check("no unexpected server errors", not counts, detail)


def sqlite_commit_probe(folder: Path, commits: int = 200) -> tuple[float, float]:
    """Median and p90 ms of a one-row SQLite commit (WAL, synchronous=FULL) on this disk, now.

    The floor under every SQLite write: a disk shared with other work can make it vary tenfold.
    """
    import sqlite3

    path = folder / "commit-probe.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER)")
    times = []
    for n in range(commits):
        t = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO t VALUES (?, ?)", (n % 50, n))
        conn.execute("COMMIT")
        times.append(time.perf_counter() - t)
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return loadgen.percentile(times, 50) * 1e3, loadgen.percentile(times, 90) * 1e3

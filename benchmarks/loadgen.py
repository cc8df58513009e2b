"""A small HTTP/1.1 load generator on asyncio (uvloop when installed), loopback only.

Why not a general-purpose client: the server and the load share two cores, so the client must
cost as little CPU as possible (requests are pre-built bytes on keep-alive connections, and a
response is read by its Content-Length), and the open loop must record each request's
INTENDED send time, so a server that falls behind shows up as latency instead of hiding as a
lower send rate (coordinated omission).

Two shapes:
- closed loop: N connections, each sending its next request as soon as the last one answered;
  gives throughput;
- open loop: requests due at fixed times (a rate, or a burst spread over a window), sent on a
  pool of connections; latency counts from the due time, so queueing is included.

Every run is bounded in count and in time; the host must be a loopback address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

try:  # uvloop roughly halves the client's CPU per request
    import uvloop
except ImportError:  # pragma: no cover - optional (the `bench` extra installs it)
    uvloop = None


def run(coro: Awaitable[Any]) -> Any:
    """Run a coroutine on a fresh event loop (uvloop when available)."""
    if uvloop is not None:
        return uvloop.run(coro)  # type: ignore[arg-type]
    return asyncio.run(coro)  # type: ignore[arg-type]


def require_loopback(host: str) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"load is only ever sent to a loopback address, not {host}")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class ConnectionClosed(Exception):
    """The server closed a kept-alive connection before answering (safe to resend once)."""


class Connection:
    """One keep-alive connection; requests go one at a time."""

    def __init__(self, host: str, port: int) -> None:
        require_loopback(host)
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0
        self.reconnects = 0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        self.used = 0

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> Response:
        """Send one request; if a kept-alive connection turns out closed, reconnect and resend once."""
        if self.writer is None:
            await self.open()
        try:
            return await self._exchange(raw)
        except ConnectionClosed:
            if self.used == 0:
                raise
        except (ConnectionError, asyncio.IncompleteReadError):
            if self.used == 0:
                raise
        self.reconnects += 1
        await self.close()
        await self.open()
        return await self._exchange(raw)

    async def _exchange(self, raw: bytes) -> Response:
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as closed:
            if not closed.partial:
                raise ConnectionClosed() from None
            raise
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower().decode("latin-1")
            text = value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self.reader.read()
            headers["connection"] = "close"
        self.used += 1
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, headers, body)

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


def build_request(method: str, path: str, host: str, *, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: testengine-bench/1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --- results --------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    due: float  # intended send time (perf_counter seconds); the send time in a closed loop
    sent: float
    done: float
    status: int  # 0: no response (connection error or timeout)
    ok: bool

    @property
    def latency(self) -> float:
        """Seconds from when the request was due to when its answer arrived."""
        return self.done - self.due


@dataclass
class Run:
    """The samples of one phase of load, with the wall time it took."""

    label: str
    samples: list[Sample] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    reconnects: int = 0
    unsent: int = 0  # requests still due when the time bound ran out
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used by the server's processes, by kind

    def of(self, kind: str | None = None) -> list[Sample]:
        return [s for s in self.samples if kind is None or s.kind == kind]

    def throughput(self, kind: str | None = None) -> float:
        """Successful responses per second over the phase."""
        wall = self.ended - self.started
        return sum(1 for s in self.of(kind) if s.ok) / wall if wall > 0 else 0.0

    def errors(self, kind: str | None = None) -> int:
        return sum(1 for s in self.of(kind) if not s.ok)

    def percentile(self, q: float, kind: str | None = None) -> float:
        return percentile([s.latency for s in self.of(kind)], q)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/max and mean, in milliseconds."""
    if not values:
        return {"n": 0, "mean": math.nan, "p50": math.nan, "p90": math.nan, "p99": math.nan, "max": math.nan}
    return {
        "n": len(values),
        "mean": statistics.fmean(values) * 1e3,
        "p50": percentile(values, 50) * 1e3,
        "p90": percentile(values, 90) * 1e3,
        "p99": percentile(values, 99) * 1e3,
        "max": max(values) * 1e3,
    }


# A job builds the request bytes when it is sent and judges the response (True: as expected).
Job = tuple[str, bytes, Callable[[Response], bool]]
JobSource = Callable[[], Job | None]


async def _send(conn: Connection, job: Job, due: float, run_: Run, timeout: float) -> None:
    kind, raw, judge = job
    sent = time.perf_counter()
    try:
        response = await asyncio.wait_for(conn.request(raw), timeout)
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ConnectionClosed, OSError):
        await conn.close()
        run_.samples.append(Sample(kind, due, sent, time.perf_counter(), 0, False))
        return
    done = time.perf_counter()
    ok = False
    try:
        ok = bool(judge(response))
    finally:
        run_.samples.append(Sample(kind, due, sent, done, response.status, ok))


async def closed_loop(
    host: str,
    port: int,
    next_job: JobSource,
    *,
    connections: int,
    seconds: float,
    max_requests: int,
    label: str,
    timeout: float = 30.0,
) -> Run:
    """`connections` workers each send, wait, send again, until the time or count bound."""
    run_ = Run(label)
    conns = [Connection(host, port) for _ in range(connections)]
    for conn in conns:
        await conn.open()
    budget = {"left": max_requests}
    run_.started = time.perf_counter()
    stop_at = run_.started + seconds

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < stop_at and budget["left"] > 0:
            budget["left"] -= 1
            job = next_job()
            if job is None:
                await asyncio.sleep(0.001)
                continue
            await _send(conn, job, time.perf_counter(), run_, timeout)

    await asyncio.gather(*(worker(c) for c in conns))
    run_.ended = time.perf_counter()
    run_.reconnects = sum(c.reconnects for c in conns)
    for conn in conns:
        await conn.close()
    return run_


async def open_loop(
    host: str,
    port: int,
    next_job: JobSource,
    *,
    due_times: list[float],
    pool: int,
    label: str,
    time_bound: float,
    timeout: float = 30.0,
) -> Run:
    """Send a request at each due time (seconds from the start) on a pool of connections.

    A request whose due time has come waits for a free connection if all are busy; its latency
    still counts from the due time. Requests not yet sent when `time_bound` runs out are counted
    as unsent (and as errors by the caller), never silently dropped.
    """
    run_ = Run(label)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    conns = [Connection(host, port) for _ in range(pool)]
    for conn in conns:
        await conn.open()
        idle.put_nowait(conn)
    tasks: list[asyncio.Task[None]] = []
    run_.started = start = time.perf_counter()
    deadline = start + time_bound

    async def one(due: float) -> None:
        job = next_job()
        if job is None:
            return
        conn = await idle.get()
        try:
            await _send(conn, job, due, run_, timeout)
        finally:
            idle.put_nowait(conn)

    for offset in due_times:
        due = start + offset
        if due > deadline:
            run_.unsent += 1
            continue
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(due)))
    remaining = max(0.0, deadline - time.perf_counter())
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=remaining)
        for task in pending:
            task.cancel()
        run_.unsent += len(pending)
    run_.ended = time.perf_counter()
    run_.reconnects = sum(c.reconnects for c in conns)
    for conn in conns:
        await conn.close()
    return run_


def uniform_due_times(rate: float, seconds: float) -> list[float]:
    """Evenly spaced due times: `rate` per second for `seconds`."""
    count = int(rate * seconds)
    return [n / rate for n in range(count)]


# A flow is one simulated person doing several requests in order on their own connection
# (a browser clicking Start, loading the page, then its first question).
Flow = Callable[[Connection, float, Run], Awaitable[None]]


async def step(
    conn: Connection, run_: Run, kind: str, due: float, raw: bytes, judge: Callable[[Response], bool], timeout: float = 60.0
) -> Response | None:
    """One request of a flow, recorded as a sample; None (and a failed sample) if it got no answer."""
    sent = time.perf_counter()
    try:
        response = await asyncio.wait_for(conn.request(raw), timeout)
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ConnectionClosed, OSError):
        await conn.close()
        run_.samples.append(Sample(kind, due, sent, time.perf_counter(), 0, False))
        return None
    ok = bool(judge(response))
    run_.samples.append(Sample(kind, due, sent, time.perf_counter(), response.status, ok))
    return response if ok else None


async def open_flows(host: str, port: int, flows: list[Flow], *, due_times: list[float], label: str, time_bound: float) -> Run:
    """Start each flow at its due time on a new connection; flows unfinished at the time bound are cancelled and counted as unsent."""
    require_loopback(host)
    run_ = Run(label)
    tasks: list[asyncio.Task[None]] = []
    run_.started = start = time.perf_counter()

    async def one(flow: Flow, due: float) -> None:
        conn = Connection(host, port)
        try:
            await conn.open()
            await flow(conn, due, run_)
        except (ConnectionError, OSError):
            run_.samples.append(Sample("connect", due, due, time.perf_counter(), 0, False))
        finally:
            await conn.close()

    for flow, offset in zip(flows, due_times):
        due = start + offset
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(flow, due)))
    remaining = max(0.0, start + time_bound - time.perf_counter())
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=remaining)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        run_.unsent += len(pending)
    run_.ended = time.perf_counter()
    return run_

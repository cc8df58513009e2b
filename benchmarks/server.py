"""Running the real app under gunicorn on 127.0.0.1 for a scenario, and profiling it with py-spy.

Workers and threads (2 cores, shared with the load generator): gunicorn's gthread worker,
WORKERS processes x THREADS threads. Two processes use both cores for Python (one GIL each);
threads let a worker overlap requests that wait on the database (SQLite's write lock, the
PostgreSQL round trips) instead of queueing behind them. More processes than cores only adds
context switches next to the load generator; more threads than ~4 adds GIL contention. Keep-alive
is long so a load run never pays for reconnecting.

Tried on this machine with the S1 closed loop (64 connections, saves and baseline): 2x2, 2x4, 2x8,
3x4 and 4x2 gave 79-158 saves/s on SQLite and 132-215/s on PostgreSQL, differences within the
noise of a shared machine, and the baseline did best at 2 or 4 workers with few threads; 2x4 is
kept. Override with BENCH_WORKERS / BENCH_THREADS; BENCH_WSGI names another module that wraps
the app (to try a fix without editing the app).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))


def _alive(pid: int) -> bool:
    """Running (a zombie, which holds no socket, counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A gunicorn process tree serving benchmarks.wsgi:app."""

    env: dict[str, str]
    log_path: Path
    workers: int = WORKERS
    threads: int = THREADS
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.port = self.port or free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--worker-class",
            "gthread",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--bind",
            f"{HOST}:{self.port}",
            "--keep-alive",
            "75",
            "--backlog",
            "4096",
            "--worker-connections",
            "2000",
            "--timeout",
            "120",
            "--log-level",
            "warning",
            os.environ.get("BENCH_WSGI", "benchmarks.wsgi:app"),  # another module can wrap the app to try a fix
        ]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - held for the server's lifetime, closed in stop()
        self.process = subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **self.env}, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start-up; see {self.log_path}:\n{self.log_tail()}")
            if self._healthy() and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s; see {self.log_path}")

    def restart(self) -> None:
        """Stop and start again on the same port (a swamped server's queue is dropped)."""
        self.stop()
        self.start()

    def _healthy(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as sock:
                sock.sendall(b"GET /bench/baseline HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                return sock.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            workers = self.worker_pids()
            # Quick shutdown: the master stops replacing workers and tells them to quit; a worker still
            # busy a second later (its thread pool would finish every queued request first) is killed.
            # Whatever it was doing is abandoned and its transaction rolls back.
            self.process.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 1
            while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
                time.sleep(0.05)
            for pid in workers:
                if _alive(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            deadline = time.monotonic() + 5
            while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
                time.sleep(0.05)  # until the port is free again
        self.process = None
        if getattr(self, "_log", None) is not None:
            self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def logged_errors(self) -> list[str]:
        """The unexpected errors the server logged, one line each: "METHOD /path (with ids as <n>): exception".

        The app logs every unhandled error ("unhandled error on METHOD PATH" and its traceback);
        gunicorn logs its own as [ERROR] or [CRITICAL].
        """
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        out: list[str] = []
        where = None
        for line in lines:
            request = re.search(r"unhandled error on (\S+ \S+)", line)
            if request:
                where = re.sub(r"/\d+", "/<n>", request.group(1))
            elif re.search(r"\[(ERROR|CRITICAL)\]", line):
                if "was sent SIGKILL" not in line:  # our own restart ending a swamped worker (see stop())
                    out.append(line.split("] ", 3)[-1])
            elif where and re.match(r"^[\w.]+(Error|Exception)\b.*:", line) and not line.startswith("sqlalchemy.exc"):
                out.append(f"{where}: {line.strip()[:160]}")
                where = None
        return out


# --- profiling ------------------------------------------------------------------------------


@dataclass
class Profile:
    """Where the workers' request-handling threads spent their time (py-spy, wall-clock samples)."""

    samples: int
    top_inclusive: list[tuple[str, float]]  # function, share of request samples that include it
    top_leaf: list[tuple[str, float]]  # function, share of request samples ending in it
    idle: bool = True

    def markdown(self, title: str) -> str:
        if not self.samples:
            return f"{title}: no samples (py-spy not available or not permitted)."
        mode = (
            "py-spy --idle: wall clock, waiting included"
            if self.idle
            else "py-spy without --idle: threads it judges busy, which includes waits inside C calls"
        )
        rows = [f"{title} ({self.samples:,} samples of request threads, {mode}):", ""]
        rows += ["| where (inclusive) | share |", "|---|---|"]
        rows += [f"| `{name}` | {share:.0%} |" for name, share in self.top_inclusive]
        rows += ["", "| where (innermost Python frame) | share |", "|---|---|"]
        rows += [f"| `{name}` | {share:.0%} |" for name, share in self.top_leaf]
        return "\n".join(rows)


_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?):(?P<line>\d+)\)$")


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match.group("file")
    for marker in ("/testengine/", "/site-packages/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            if marker == "/testengine/":
                file = "testengine/" + file
            break
    return f"{file}:{match.group('func')}"


def start_profile(server: Server, out: Path, seconds: float, *, idle: bool = True) -> subprocess.Popen[bytes] | None:
    """Start py-spy on every worker (raw collapsed stacks); None without py-spy.

    idle=True samples waiting threads too (wall clock: where requests wait, e.g. for a lock);
    idle=False only threads on the CPU (where the CPU goes).
    """
    spy = shutil.which("py-spy")
    if spy is None or server.process is None:
        return None
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(server.process.pid),
            "--subprocesses",
            *(["--idle"] if idle else []),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--duration",
            str(max(1, int(seconds))),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def finish_profile(
    process: subprocess.Popen[bytes] | None,
    out: Path,
    *,
    interesting: tuple[str, ...] = ("testengine/",),
    idle: bool = True,
) -> Profile:
    """Wait for py-spy and summarise the stacks of threads that were handling a request."""
    if process is None:
        return Profile(0, [], [])
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
    try:
        lines = out.read_text(errors="replace").splitlines()
    except OSError:
        return Profile(0, [], [])
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = stack.split(";")
        if not any("full_dispatch_request" in f for f in frames):
            continue  # an idle thread, the gunicorn arbiter or the poller
        count = int(count_text)
        total += count
        names = [_frame_name(f) for f in frames]
        for name in dict.fromkeys(n for n in names if n.startswith(interesting)):
            inclusive[name] += count
        leaf[names[-1]] += count
    if not total:
        return Profile(0, [], [])
    top_inclusive = [(n, c / total) for n, c in inclusive.most_common(14)]
    top_leaf = [(n, c / total) for n, c in leaf.most_common(8)]
    return Profile(total, top_inclusive, top_leaf, idle)

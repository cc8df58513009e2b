"""gunicorn settings for testengine (see docs/deploy.md and docs/benchmarks.md for the numbers)."""

import multiprocessing
import os

bind = "127.0.0.1:8000"
# One worker per core (each has its own GIL), threads to overlap waits on the database: the layout
# docs/benchmarks.md measured (2 workers x 4 threads on 2 cores).
workers = int(os.environ.get("GUNICORN_WORKERS") or max(2, multiprocessing.cpu_count()))
# Each live-update stream of a sitting page (server-sent events) holds a thread while it is open; they
# get threads of their own on top of these, so a full set of streams never makes a save wait.
live_streams = int(os.environ.get("TESTENGINE_LIVE_STREAMS_PER_PROCESS") or 16)
threads = int(os.environ.get("GUNICORN_THREADS") or 4) + live_streams
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
# Logs go to standard error, so to the journal (rotated by journald; see docs/deploy.md).
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"  # nginx on this host; the app's own ProxyFix reads the headers


def child_exit(server, worker):
    """A worker that exits leaves its metrics files behind; live gauges of a dead process must go."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

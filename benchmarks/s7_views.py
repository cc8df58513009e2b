"""S7 question page views: apprentices moving from question to question, on the sitting's fast lane.

2,000 apprentices are part-way through the test; each view is the real GET
/api/lane/<id>/questions/<position> that the test page makes when the apprentice opens a
question, with the session cookie, the CSRF header and the page's attempt capability. A closed
loop (64 connections) runs against the baseline endpoint in the same server, A-B-A-B; then an
open loop offers 550 views/s, latency timed from each request's intended send time.

Targets: at least 550 views/s in the closed loop; p99 under 100 ms at 550 views/s open loop; no
errors; no view shows an answer key or a marking guide.
"""

from __future__ import annotations

import math
import random
import time

from benchmarks import harness, loadgen, saves
from benchmarks.dataset import log
from benchmarks.harness import Context, closed, interleave, opened, served
from benchmarks.loadgen import latency_summary
from benchmarks.outcome import Check, Outcome, Target, ms, per_s
from benchmarks.server import finish_profile, start_profile

CONNECTIONS = 64
CLOSED_SECONDS = 3.0
OPEN_RATE = 550
OPEN_SECONDS = 4.0
OPEN_POOL = 256
VIEWS_TARGET = 550.0
P99_TARGET_MS = 100.0
FIX = (
    "a view is one Core statement (the question, its version, the answer and the paper's length, with the "
    "capability's checks in its WHERE); what is left is Flask's own request handling and the JSON, shared on two "
    "cores with the database and the load generator: more workers on more cores, or a second app host (the app "
    "servers keep no state) over the same PostgreSQL."
)


class ViewSource:
    """Random apprentices opening random questions; counts any view that shows what a candidate must not see."""

    def __init__(self, sitters: list, seed: int = 7) -> None:  # type: ignore[type-arg]
        self.sitters = sitters
        self.rnd = random.Random(seed)
        self.leaks = 0
        self.unexpected: list[str] = []

    def next_job(self) -> loadgen.Job:
        sitter = self.rnd.choice(self.sitters)
        path = f"/api/lane/{sitter.attempt_id}/questions/{self.rnd.randint(1, 40)}"
        raw = loadgen.build_request("GET", path, "bench", headers=saves.lane_headers(sitter))

        def judge(response: loadgen.Response) -> bool:
            body = response.body
            self.leaks += b'"correct"' in body or b'"guide"' in body or b'"rationale"' in body
            if response.status == 200 and b'"stem"' in body:
                return True
            if len(self.unexpected) < 5:
                self.unexpected.append(f"{response.status} {body[:160]!r}")
            return False

        return "view", raw, judge


def run(ctx: Context, backend: str) -> Outcome:
    started = time.perf_counter()
    outcome = Outcome("S7", harness.BACKEND_NAMES[backend])
    with served(ctx, backend, "s7") as srv:
        views = ViewSource(ctx.world.sitters)
        base = harness.baseline_source()
        port = srv.port
        closed(port, base, label="warm", connections=8, seconds=1.0, max_requests=2_000)()
        closed(port, views.next_job, label="warm", connections=8, seconds=1.0, max_requests=800)()
        closed_runs = interleave(
            srv.server,
            [
                (
                    "baseline",
                    closed(port, base, label="baseline", connections=CONNECTIONS, seconds=CLOSED_SECONDS, max_requests=40_000),
                ),
                (
                    "view",
                    harness.with_cpu(
                        srv.server,
                        closed(
                            port,
                            views.next_job,
                            label="view",
                            connections=CONNECTIONS,
                            seconds=CLOSED_SECONDS,
                            max_requests=40_000,
                        ),
                    ),
                ),
            ],
        )
        open_run = opened(port, views.next_job, label="view", rate=OPEN_RATE, seconds=OPEN_SECONDS, pool=OPEN_POOL, grace=4.0)()
        base_tp = harness.throughput(closed_runs["baseline"])
        view_tp = harness.throughput(closed_runs["view"], "view")
        outcome.figures["views"] = view_tp
        lat = latency_summary([s.latency for s in open_run.of("view")] + [math.inf] * open_run.unsent)
        closed_lat = latency_summary([s.latency for r in closed_runs["view"] for s in r.of("view")])
        errors = harness.errors_of(closed_runs["view"], "view") + open_run.errors("view")
        outcome.targets = [
            Target(
                f"question views, closed loop, {CONNECTIONS} connections",
                f">= {VIEWS_TARGET:,.0f}/s",
                f"{per_s(view_tp)} ({view_tp / base_tp:.0%} of the baseline's {per_s(base_tp)})" if base_tp else per_s(view_tp),
                view_tp >= VIEWS_TARGET,
            ),
            Target(
                f"view p99 at {OPEN_RATE:,} views/s, open loop",
                f"< {P99_TARGET_MS:.0f} ms",
                ms(lat["p99"]),
                lat["p99"] < P99_TARGET_MS,
            ),
            Target(
                "errors",
                "0",
                f"{errors} failed or timed out, {open_run.unsent} not answered in time",
                errors == 0 and not open_run.unsent,
            ),
        ]
        outcome.checks = [
            Check("no view shows a key, a rationale or a marking guide", views.leaks == 0, f"{views.leaks} views did"),
            harness.server_errors_check(srv.server),
        ]
        sitter = ctx.world.sitters[0]
        status, statements = harness.count_statements(
            ctx,
            srv.url,
            sitter.person,
            "GET",
            f"/api/lane/{sitter.attempt_id}/questions/2",
            extra_headers={"X-Attempt-Capability": sitter.capability},
        )
        cpu = harness.cpu_per_request(closed_runs["view"])
        outcome.details.append(
            f"One view, replayed in-process: {statements} SQL statement(s) reach the driver (status {status}). Server CPU "
            f"per view in the closed loop {cpu['app']:.2f} ms in the app's workers. Closed loop: p50 {ms(closed_lat['p50'])}, "
            f"p99 {ms(closed_lat['p99'])}. Open loop ({OPEN_RATE}/s for {OPEN_SECONDS:.0f} s): p50 {ms(lat['p50'])}, "
            f"p90 {ms(lat['p90'])}, p99 {ms(lat['p99'])}, max {ms(lat['max'])}."
        )
        if views.unexpected:
            outcome.details.append("Unexpected answers (first few): " + "; ".join(f"`{u}`" for u in views.unexpected))
        if outcome.missed:
            log(f"S7 {backend}: a target was missed; profiling a further closed-loop phase")
            out = ctx.ws.root / f"s7-{backend}-cpu.pyspy.txt"
            spy = start_profile(srv.server, out, CLOSED_SECONDS + 1, idle=False)
            time.sleep(0.5)
            closed(port, views.next_job, label="profile", connections=CONNECTIONS, seconds=CLOSED_SECONDS, max_requests=40_000)()
            outcome.profile = finish_profile(spy, out, idle=False).markdown("Where views are busy (closed loop)")
            outcome.fix = FIX
    outcome.seconds = time.perf_counter() - started
    return outcome

"""S1 autosave: apprentices saving answers at random, closed loop (64 connections) and open loop (1,000 saves/s).

2,000 apprentices are part-way through the test; each save is the real PUT
/api/lane/<id>/answers/<position> (the sitting's fast lane) with the apprentice's session cookie
(for CSRF), CSRF header and the test page's attempt capability. Each phase runs against the baseline endpoint in the same server, A-B-A-B.

Targets: closed-loop throughput at least 60% of the baseline's; at 1,000 saves/s open loop, p99
under 50 ms (PostgreSQL: 100 ms); no errors; no lost or duplicated saves.
"""

from __future__ import annotations

import math
import time

from benchmarks import harness, saves
from benchmarks.dataset import log
from benchmarks.harness import Context, closed, interleave, opened, served
from benchmarks.loadgen import latency_summary
from benchmarks.outcome import Check, Outcome, Target, ms, per_s
from benchmarks.server import finish_profile, start_profile

CONNECTIONS = 64
CLOSED_SECONDS = 3.0
OPEN_RATE = 1_000
OPEN_SECONDS = 4.0
OPEN_GRACE = 4.0  # an open-loop phase waits this long for its last answers
OPEN_POOL = 256
P99_TARGET_MS = {"sqlite": 50.0, "postgresql": 100.0}
RATIO_TARGET = 0.60

FIX = (
    "Done: a save goes by the sitting's fast lane (`testengine/fast_lane/`): the test page gives the browser a "
    "signed attempt capability, so the request loads no user and no attempt; the save is one INSERT ... SELECT "
    "through SQLAlchemy Core that checks in its WHERE the account, the session version, the attempt's state, the "
    "deadline with its grace, the browser token and the position (on SQLite it joins the group commit). What is "
    "left is Flask's own request handling (routing, the session cookie for the CSRF check, the JSON body), the "
    "driver, and on SQLite the one writer; measured above against the bare endpoint. Beyond that: more cores, "
    "or more app hosts over one PostgreSQL (the app servers keep no state)."
)


def run(ctx: Context, backend: str) -> Outcome:
    started = time.perf_counter()
    outcome = Outcome("S1", harness.BACKEND_NAMES[backend])
    with served(ctx, backend, "s1") as srv:
        probe = harness.sqlite_commit_probe(ctx.ws.root) if backend == "sqlite" else None
        ledger = saves.SaveLedger(ctx.world.sitters, ctx.world.expired)
        base = harness.baseline_source()
        port = srv.port
        # Warm up both endpoints on every worker (imports, caches, connection pools); not measured.
        closed(port, base, label="warm", connections=8, seconds=1.0, max_requests=2_000)()
        closed(port, ledger.next_job, label="warm", connections=8, seconds=1.0, max_requests=400)()

        closed_runs = interleave(
            srv.server,
            [
                (
                    "baseline",
                    harness.with_cpu(
                        srv.server,
                        closed(
                            port, base, label="baseline", connections=CONNECTIONS, seconds=CLOSED_SECONDS, max_requests=40_000
                        ),
                    ),
                ),
                (
                    "save",
                    harness.with_cpu(
                        srv.server,
                        closed(
                            port,
                            ledger.next_job,
                            label="save",
                            connections=CONNECTIONS,
                            seconds=CLOSED_SECONDS,
                            max_requests=40_000,
                        ),
                    ),
                ),
            ],
        )
        open_runs = interleave(
            srv.server,
            [
                (
                    "baseline",
                    opened(port, base, label="baseline", rate=OPEN_RATE, seconds=OPEN_SECONDS, pool=OPEN_POOL, grace=OPEN_GRACE),
                ),
                (
                    "save",
                    opened(
                        port,
                        ledger.next_job,
                        label="save",
                        rate=OPEN_RATE,
                        seconds=OPEN_SECONDS,
                        pool=OPEN_POOL,
                        grace=OPEN_GRACE,
                    ),
                ),
            ],
        )
        log(f"S1 {backend}: load done; checking the database")
        engine = srv.engine()
        outcome.checks = saves.check(ledger, engine)
        engine.dispose()

        base_tp = harness.throughput(closed_runs["baseline"])
        save_tp = harness.throughput(closed_runs["save"], "save")
        ratio = save_tp / base_tp if base_tp else 0.0
        outcome.figures["saves"] = save_tp
        open_save = harness.merged(open_runs["save"])
        open_base = harness.merged(open_runs["baseline"])
        # Requests still unanswered at the time bound count as slower than any answered one.
        save_lat = latency_summary([s.latency for s in open_save.of("save")] + [math.inf] * open_save.unsent)
        base_lat = latency_summary([s.latency for s in open_base.of()] + [math.inf] * open_base.unsent)
        closed_lat = latency_summary([s.latency for r in closed_runs["save"] for s in r.of("save")])
        errors = (
            harness.errors_of(closed_runs["save"], "save")
            + harness.errors_of(open_runs["save"], "save")
            + harness.errors_of(closed_runs["baseline"])
            + harness.errors_of(open_runs["baseline"])
        )
        late_errors = harness.errors_of(closed_runs["save"], "late_save") + harness.errors_of(open_runs["save"], "late_save")
        unsent = harness.unsent_of(open_runs["save"]) + harness.unsent_of(open_runs["baseline"])
        target_ms = P99_TARGET_MS[backend]
        answered = harness.throughput(open_runs["save"], "save")  # over each phase's whole wall time
        outcome.targets = [
            Target(
                f"autosave throughput / baseline, closed loop, {CONNECTIONS} connections",
                f">= {RATIO_TARGET:.0%}",
                f"{ratio:.0%} ({per_s(save_tp)} vs {per_s(base_tp)})",
                ratio >= RATIO_TARGET,
            ),
            Target(
                f"autosave p99 at {OPEN_RATE:,} saves/s, open loop",
                f"< {target_ms:.0f} ms",
                f"{ms(save_lat['p99'])} (baseline at the same rate {ms(base_lat['p99'])})",
                save_lat["p99"] < target_ms,
            ),
            Target(
                "errors",
                "0",
                f"{errors} failed or timed out, {late_errors} late saves not refused, "
                f"{unsent:,} not answered within the phase's time bound",
                errors == 0 and late_errors == 0 and unsent == 0,
            ),
            Target("lost or duplicated saves", "0", "0" if outcome.correct else "see checks", outcome.correct),
        ]
        outcome.checks.append(harness.server_errors_check(srv.server))
        sitter = ctx.world.sitters[-1]
        status, statements = harness.count_statements(
            ctx,
            srv.url,
            sitter.person,
            "PUT",
            f"/api/lane/{sitter.attempt_id}/answers/{next(p for p in range(1, 41) if p not in sitter.mcq_positions)}",
            json_body={"response": "counted", "revision": 10_000},
            extra_headers={"X-Attempt-Capability": sitter.capability},
        )
        begin = " (on SQLite one of them is the BEGIN IMMEDIATE that takes the write lock)" if backend == "sqlite" else ""
        outcome.details.append(
            f"One save, replayed in-process against the same database: {statements} SQL statements "
            f"reach the driver{begin} (status {status}); the baseline runs none."
        )
        cpu_save = harness.cpu_per_request(closed_runs["save"])
        cpu_base = harness.cpu_per_request(closed_runs["baseline"])
        per_save = cpu_save["app"] + (max(cpu_save["postgres"], 0.0) if backend == "postgresql" else 0.0)
        outcome.details.append(
            f"Server CPU per answered request in the closed loop: a save {cpu_save['app']:.2f} ms in the app's workers"
            + (
                f" + {cpu_save['postgres']:.2f} ms in PostgreSQL (all its processes, so anyone else's use counts too)"
                if backend == "postgresql"
                else ""
            )
            + f", the baseline {cpu_base['app']:.2f} ms. With two cores shared by the app, the database and the load "
            f"generator, {per_save:.2f} ms of CPU per save caps saves near {2000 / max(per_save, 0.01):,.0f}/s "
            "however the locking is arranged."
        )
        if probe is not None:
            outcome.details.append(
                f"The disk under it: a one-row SQLite commit (WAL, synchronous=FULL) took {probe[0]:.2f} ms median, "
                f"{probe[1]:.2f} ms p90 just before the load (each save commits once)."
            )
        outcome.checks.append(
            Check(
                "no session cookie rewritten by a save", ledger.set_cookie == 0, f"{ledger.set_cookie} answers carried Set-Cookie"
            )
        )
        if ledger.unexpected:
            outcome.details.append("Unexpected save answers (first few): " + "; ".join(f"`{u}`" for u in ledger.unexpected))
        outcome.details.append(
            f"Closed loop ({CONNECTIONS} connections, {CLOSED_SECONDS:.0f} s per phase, A-B-A-B): saves p50 "
            f"{ms(closed_lat['p50'])}, p99 {ms(closed_lat['p99'])}. Open loop ({OPEN_RATE:,}/s for {OPEN_SECONDS:.0f} s "
            f"per phase, latency from each request's intended send time, {OPEN_POOL} connections): saves p50 "
            f"{ms(save_lat['p50'])}, p90 {ms(save_lat['p90'])}, p99 {ms(save_lat['p99'])}, max {ms(save_lat['max'])} "
            f"({save_lat['n']:,} saves due, answered at {answered:,.0f}/s against the {OPEN_RATE:,}/s offered); baseline p50 {ms(base_lat['p50'])}, p99 "
            f"{ms(base_lat['p99'])}. 1% of saves went to the {len(ctx.world.expired)} apprentices whose time ran out an "
            f"hour ago: {ledger.late_refused} of {ledger.late_sent} refused. Status codes of saves: "
            f"closed {harness.statuses(closed_runs['save'])}, open {harness.statuses(open_runs['save'])}."
        )
        if outcome.missed:
            log(f"S1 {backend}: a target was missed; profiling a further closed-loop phase")
            profiles = []
            for idle in (True, False):
                out = ctx.ws.root / f"s1-{backend}-{'wall' if idle else 'cpu'}.pyspy.txt"
                spy = start_profile(srv.server, out, CLOSED_SECONDS + 1, idle=idle)
                time.sleep(0.5)
                closed(
                    port, ledger.next_job, label="profile", connections=CONNECTIONS, seconds=CLOSED_SECONDS, max_requests=40_000
                )()
                profiles.append(
                    finish_profile(spy, out, idle=idle).markdown(
                        "Where saves wait (closed loop)" if idle else "Where saves are busy (closed loop)"
                    )
                )
            outcome.profile = "\n\n".join(profiles)
            outcome.fix = FIX
    outcome.seconds = time.perf_counter() - started
    return outcome

"""S3 paper draws as a pure function, on one core.

The bank and blueprint of benchmarks.draw_papers (10,000 items, ST0663's 14 MCQ + 26 short
answers covering all ten knowledge-test KSBs, 2% of items in enemy pairs). 10,000 successive
draws with the exposure counts fed back after each (the preference for less-used items), timed
together; then how evenly the bank was used. Papers are checked against every rule. The
plain-Python reference (benchmarks.draw_papers.reference_draw: the same rules written as loops
over the item list) draws from the same bank with the same exposure; its random choices differ,
so "the same answer" here is a paper that passes the same rule checker, for both.

Targets: at least 2,000 draws/s on one core; after 10,000 draws the most-used item is used at most
1.5 times the mean.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from benchmarks.draw_papers import BLUEPRINT, check, make_bank, pin_to_one_core, reference_draw
from benchmarks.outcome import Check, Outcome, Target
from testengine.domain.papers import ExposureCounts, ItemPool, draw_paper

DRAWS = 10_000
REFERENCE_DRAWS = 30
CHECKED = 200
RATE_TARGET = 2_000
EVENNESS_TARGET = 1.5

FIX = (
    "the draw is `testengine/domain/papers.py:draw_paper`; when it is slower than this, profile it with "
    "`python -m benchmarks.draw_papers`, which times each part (the pool index, exposure as positions, "
    "the exact search)."
)


def run() -> Outcome:
    began = time.perf_counter()
    outcome = Outcome("S3", "compute")
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    pinned = pin_to_one_core()
    try:
        items = make_bank()
        by_id = {it.id: it for it in items}
        pool = ItemPool(items)
        draw_paper(pool, BLUEPRINT, seed=0)  # builds the index the pool keeps
        counts = ExposureCounts(pool)
        papers = []
        t0 = time.perf_counter()
        for seed in range(DRAWS):
            paper = draw_paper(pool, BLUEPRINT, seed=seed, exposure=counts)
            counts.record(paper)
            if seed % (DRAWS // CHECKED) == 0:
                papers.append(paper)
        elapsed = time.perf_counter() - t0
        rate = DRAWS / elapsed
        use = np.array([counts[it.id] for it in pool.items])
        evenness = use.max() / use.mean()

        plain = dict(counts)
        ref_times, ref_ok = [], 0
        for n in range(REFERENCE_DRAWS):
            t = time.perf_counter()
            ref = reference_draw(items, BLUEPRINT, seed=n, exposure=plain)
            ref_times.append(time.perf_counter() - t)
            check(ref, by_id, ())
            ref_ok += 1
        fast_times = []
        for n in range(REFERENCE_DRAWS):
            t = time.perf_counter()
            paper = draw_paper(pool, BLUEPRINT, seed=n, exposure=plain)
            fast_times.append(time.perf_counter() - t)
            papers.append(paper)
        bad = 0
        for paper in papers:
            try:
                check(paper, by_id, ())
            except AssertionError:
                bad += 1
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)

    ref_ms = statistics.fmean(ref_times) * 1e3
    fast_ms = statistics.fmean(fast_times) * 1e3
    outcome.targets = [
        Target(
            "draws/s on one core (10,000 draws, exposure fed back)", f">= {RATE_TARGET:,}", f"{rate:,.0f}", rate >= RATE_TARGET
        ),
        Target(
            "most-used item / mean use after 10,000 draws",
            f"<= {EVENNESS_TARGET}",
            f"{evenness:.3f} (mean {use.mean():.1f}, min {use.min()}, max {use.max()})",
            evenness <= EVENNESS_TARGET,
        ),
    ]
    outcome.checks = [
        Check("papers keep every rule", bad == 0, f"{len(papers)} checked, {bad} broke one"),
        Check("reference papers keep every rule", ref_ok == REFERENCE_DRAWS, f"{ref_ok} checked"),
    ]
    outcome.details.append(
        f"One process, {pinned}; {DRAWS:,} draws in {elapsed:.2f} s ({elapsed / DRAWS * 1e3:.3f} ms each, counts "
        f"recorded after every draw). With the exposure as a plain dict (what a query hands over): draw_paper "
        f"{fast_ms:.2f} ms, the plain-Python reference {ref_ms:.1f} ms per draw, **{ref_ms / fast_ms:.0f}x** slower "
        f"({REFERENCE_DRAWS} draws each). The full breakdown is in the section of `python -m benchmarks.draw_papers`."
    )
    if outcome.missed:
        outcome.fix = FIX
    outcome.seconds = time.perf_counter() - began
    return outcome

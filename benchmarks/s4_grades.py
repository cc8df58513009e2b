"""S4 marks to grades for 100,000 scripts: compute, and end to end with the database.

Compute: testengine.domain.grading.grades_for_marks over 100,000 totals with ST0663's boundaries
(from the spec), against a plain-Python loop over the same boundaries; the answers must be equal.
End to end: what a cohort report or a boundary what-if does, on the cohort database
(benchmarks.cohort): read every complete knowledge-test total of the standard (100,000 scripts)
with SQLAlchemy, grade them, count the grades.
Recording a result per apprentice is a different use case (services/results.py, one audited row
each) and is not part of this figure.

Targets: under 20 ms compute, under 2 s end to end.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import sqlalchemy as sa

from benchmarks.cohort import Cohort
from benchmarks.outcome import Check, Outcome, Target, ms
from testengine.domain.grading import grades_for_marks
from testengine.domain.standards import Boundary

COMPUTE_MS = 20.0
END_TO_END_S = 2.0
REPEATS = 5


def _spec() -> tuple[list[Boundary], int]:
    """ST0663's boundaries and maximum, read from its spec file as the app reads it."""
    from benchmarks.bankgen import SPEC
    from testengine.banks import parse_spec
    from testengine.banks.yaml_lines import load_yaml

    document = load_yaml(SPEC.read_text())
    spec = parse_spec(document.data, str(SPEC), document.lines)
    assert spec.knowledge_test is not None
    return list(spec.knowledge_test.boundaries), spec.knowledge_test.total_marks


def reference(boundaries: list[Boundary], marks: list[int]) -> list[str]:
    """Plain Python: each script against each boundary, both ends inclusive."""
    out = []
    for m in marks:
        for b in boundaries:
            if b.min <= m <= b.max:
                out.append(b.grade)
                break
    return out


def compute_outcome(totals: np.ndarray) -> tuple[list[Target], list[Check], list[str]]:
    boundaries, max_marks = _spec()
    best = float("inf")
    for _ in range(REPEATS):
        t = time.perf_counter()
        grades = grades_for_marks(boundaries, totals, max_marks)
        best = min(best, time.perf_counter() - t)
    as_list = totals.tolist()
    t = time.perf_counter()
    ref = reference(boundaries, as_list)
    ref_s = time.perf_counter() - t
    equal = ref == grades.tolist()
    counts = Counter(ref)
    targets = [
        Target(
            f"grades_for_marks, {totals.size:,} scripts (best of {REPEATS})",
            f"< {COMPUTE_MS:.0f} ms",
            ms(best * 1e3),
            best * 1e3 < COMPUTE_MS,
        )
    ]
    checks = [Check("same grades as the plain-Python reference", equal, f"{totals.size:,} compared")]
    details = [
        f"Compute: {ms(best * 1e3)} against {ms(ref_s * 1e3)} for the plain-Python loop (**{ref_s / best:.0f}x**); grades "
        + ", ".join(f"{g} {counts[g]:,}" for g in ("fail", "pass", "distinction"))
        + "."
    ]
    return targets, checks, details


def compute(totals: np.ndarray) -> Outcome:
    began = time.perf_counter()
    outcome = Outcome("S4", "compute")
    outcome.targets, outcome.checks, outcome.details = compute_outcome(totals)
    outcome.seconds = time.perf_counter() - began
    return outcome


def run(cohort: Cohort, url: str, backend: str) -> Outcome:
    """End to end on one database."""
    from testengine.models import Attempt

    began = time.perf_counter()
    outcome = Outcome("S4", backend)

    boundaries, max_marks = _spec()
    engine = sa.create_engine(url)
    with engine.connect() as conn:  # connect first: the figure is the work, not opening a connection
        conn.execute(sa.text("SELECT 1"))
        times = []
        for _ in range(3):
            t = time.perf_counter()
            rows = conn.execute(
                sa.select(Attempt.id, Attempt.total_marks).where(
                    Attempt.standard_id == cohort.standard_id,
                    Attempt.marking_state == "complete",
                    Attempt.total_marks.is_not(None),
                )
            ).all()
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            marks = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
            grades = grades_for_marks(boundaries, marks, max_marks)
            report = dict(zip(*np.unique(grades, return_counts=True)))
            times.append(time.perf_counter() - t)
            conn.rollback()
    engine.dispose()
    e2e = min(times)
    by_id = dict(zip(ids.tolist(), grades.tolist()))
    want = reference(boundaries, cohort.totals.tolist())
    got = [by_id.get(int(i)) for i in cohort.attempt_ids]
    outcome.targets.append(
        Target(
            f"end to end: read {len(rows):,} totals, grade, count (best of 3)",
            f"< {END_TO_END_S:.0f} s",
            ms(e2e * 1e3),
            e2e < END_TO_END_S,
        )
    )
    outcome.checks.append(Check("database path gives the same grades", got == want, f"{len(want):,} cohort scripts compared"))
    outcome.details.append(
        f"End to end ({backend}): {len(rows):,} scripts in {ms(e2e * 1e3)} (runs: "
        + ", ".join(ms(t * 1e3) for t in times)
        + "); "
        + ", ".join(f"{g} {int(n):,}" for g, n in sorted(report.items()))
        + "."
    )
    outcome.seconds = time.perf_counter() - began
    return outcome

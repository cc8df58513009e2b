"""What a scenario reports: each target with its result, the correctness checks, and (for a miss) the profile and the fix."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Target:
    what: str
    target: str
    result: str
    passed: bool


@dataclass
class Check:
    """A correctness check; any failure fails the run (unlike a missed target, which is reported)."""

    what: str
    ok: bool
    detail: str = ""


@dataclass
class Outcome:
    scenario: str
    backend: str  # "SQLite", "PostgreSQL" or "compute"
    targets: list[Target] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    profile: str | None = None
    fix: str | None = None
    seconds: float = 0.0
    # Per-second figures for the side-by-side line (saves, starts, views); None: it never finished.
    figures: dict[str, float | None] = field(default_factory=dict)

    @property
    def missed(self) -> bool:
        return not all(t.passed for t in self.targets)

    @property
    def correct(self) -> bool:
        return all(c.ok for c in self.checks)

    def markdown(self) -> str:
        lines = [f"### {self.backend}", ""]
        lines += ["| target | wanted | result | |", "|---|---|---|---|"]
        for t in self.targets:
            lines.append(f"| {t.what} | {t.target} | {t.result} | {'pass' if t.passed else '**miss**'} |")
        lines.append("")
        if self.checks:
            failed = [c for c in self.checks if not c.ok]
            lines.append(
                "Correctness: "
                + ("all checks passed: " if not failed else f"**{len(failed)} check(s) FAILED**: ")
                + "; ".join(
                    f"{c.what}{' (' + c.detail + ')' if c.detail else ''}{'' if c.ok else ' **FAILED**'}" for c in self.checks
                )
                + "."
            )
            lines.append("")
        for paragraph in self.details:
            lines += [paragraph, ""]
        if self.missed and self.profile:
            lines += [self.profile, ""]
        if self.missed and self.fix:
            lines += [f"What would fix it: {self.fix}", ""]
        lines.append(f"Scenario time {self.seconds:.0f} s.")
        return "\n".join(lines)


def ms(value: float) -> str:
    if math.isinf(value):
        return "unanswered"
    return "n/a" if math.isnan(value) else (f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms")


def per_s(value: float) -> str:
    return f"{value:,.0f}/s"

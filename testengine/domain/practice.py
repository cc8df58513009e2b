"""Practice papers: formative, never a result. The clock of a timed one, and feedback by KSB.

A practice paper is drawn like a knowledge-test paper but only from a bank whose spec says
`practice: true`; it counts for nothing (no result, no exposure, no item statistics). Here are
the rules that need no storage: whether an answer still counts, and what the marks say per KSB,
in one attempt and across attempts.

Pure: values in, values out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import DomainError


class PracticeRefused(DomainError):
    code = "practice_refused"


@dataclass(frozen=True)
class Marked:
    """One question of a submitted practice paper: its KSBs, what it is worth, what it earned.

    `awarded` is None for a question no machine marks (a short answer): the apprentice compares
    their answer with the marking guide instead.
    """

    ksb: tuple[str, ...]
    marks: int
    awarded: int | None


@dataclass(frozen=True)
class KsbFeedback:
    """Per KSB: marks earned and available on the marked questions, and short answers to self-check."""

    ksb: str
    awarded: int
    available: int
    to_self_check: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.awarded / self.available) if self.available else None


def deadline(started_at: dt.datetime, minutes: int | None) -> dt.datetime | None:
    """When a timed practice paper ends (None: untimed)."""
    return None if minutes is None else started_at + dt.timedelta(minutes=minutes)


def accepts_answers(ends_at: dt.datetime | None, now: dt.datetime, grace_seconds: int) -> bool:
    """Whether answers sent now still count: always when untimed, else until the deadline and its grace."""
    return ends_at is None or now <= ends_at + dt.timedelta(seconds=grace_seconds)


def by_ksb(questions: Sequence[Marked]) -> list[KsbFeedback]:
    """Feedback per KSB, in KSB order: a question on two KSBs counts for both."""
    totals: dict[str, list[int]] = {}
    for q in questions:
        for code in q.ksb:
            row = totals.setdefault(code, [0, 0, 0])
            if q.awarded is None:
                row[2] += 1
            else:
                row[0] += q.awarded
                row[1] += q.marks
    return [KsbFeedback(code, *totals[code]) for code in sorted(totals, key=_ksb_order)]


def progress(attempts: Sequence[Sequence[Marked]]) -> dict[str, list[int | None]]:
    """Per KSB, the percentage earned in each attempt in turn (None: the KSB was not marked that time).

    A KSB asked only in short answers (which the apprentice checks) has no percentage, so no row.
    """
    rows = [{f.ksb: f.percent for f in by_ksb(a)} for a in attempts]
    codes = sorted({code for row in rows for code, percent in row.items() if percent is not None}, key=_ksb_order)
    return {code: [row.get(code) for row in rows] for code in codes}


def _ksb_order(code: str) -> tuple[str, int, str]:
    head = code.rstrip("0123456789")
    tail = code[len(head) :]
    return (head, int(tail) if tail else 0, code)

"""Which marks stand on a script: every mark on each response, by role, and the one that counts
(domain.mark_standing's rule), and a script's total of them. Reads only; the layer that marking, marking progress and results share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from ..domain.mark_standing import MarkRole, awaits_moderator, standing_mark
from ..extensions import db
from ..models import AttemptQuestion, Mark


@dataclass
class ResponseMarks:
    """Every mark on one response, by role, oldest first."""

    aq_id: int
    by_role: dict[str, list[Mark]]

    def latest(self, role: str) -> Mark | None:
        rows = self.by_role.get(role)
        return rows[-1] if rows else None

    def latest_marks(self) -> dict[str, int]:
        """Each role's latest mark, keyed by role: what domain.mark_standing reads."""
        return {role.value: rows[-1].mark for role in MarkRole if (rows := self.by_role.get(role.value))}

    @property
    def needs_marker(self) -> bool:
        return self.latest(MarkRole.AUTO) is None and self.latest(MarkRole.FIRST) is None

    @property
    def final(self) -> int | None:
        """The mark that stands (None while it waits for a first mark or a moderator)."""
        return standing_mark(**self.latest_marks())

    @property
    def needs_moderation(self) -> bool:
        return awaits_moderator(**self.latest_marks())

    def markers(self, *roles: str) -> set[int]:
        return {m.marker_id for role in roles for m in self.by_role.get(role, []) if m.marker_id is not None}


def marks_of(attempt_ids: Iterable[int]) -> dict[int, ResponseMarks]:
    """Every response of these scripts with its marks, keyed by attempt question id."""
    ids = list(set(attempt_ids))
    if not ids:
        return {}
    out = {
        aq_id: ResponseMarks(aq_id, defaultdict(list))
        for aq_id in db.session.scalars(
            select(AttemptQuestion.id).where(AttemptQuestion.attempt_id.in_(ids)).order_by(AttemptQuestion.id)
        )
    }
    for mark in db.session.scalars(select(Mark).where(Mark.attempt_id.in_(ids)).order_by(Mark.created_at, Mark.id)):
        out[mark.attempt_question_id].by_role[mark.role].append(mark)
    return out


def first_total(marks: Iterable[ResponseMarks]) -> int:
    """Automatic marks plus the first marker's latest marks: what first marking gave the script."""
    total = 0
    for response in marks:
        row = response.latest(MarkRole.AUTO) or response.latest(MarkRole.FIRST)
        total += row.mark if row is not None else 0
    return total


def final_marks(attempt_id: int) -> dict[int, int | None]:
    """Each attempt question's mark that stands (None while undecided), by domain.mark_standing's one rule."""
    return {aq_id: response.final for aq_id, response in marks_of([attempt_id]).items()}


def standing_total(attempt_id: int) -> int | None:
    """The total of the marks that stand now (after any re-mark), or None while one is undecided."""
    marks = final_marks(attempt_id).values()
    return None if any(m is None for m in marks) else sum(m for m in marks if m is not None)

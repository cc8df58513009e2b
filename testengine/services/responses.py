"""What each question of an issued paper accepts as a response, read once per attempt.

A save is the busiest request of a sitting and runs a fixed few statements; checking an MCQ answer
against its options must not add one. A paper never changes once issued, so its accepted responses
are read once per attempt (in a process) and kept, small: a set of option ids per MCQ, nothing for
free text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import select

from ..domain.question_types import get_type, response_problem
from ..extensions import db
from ..models import Attempt, AttemptQuestion, QuestionVersion


class _PaperResponses:
    """What each question of an issued paper accepts as a response (position -> accepted ids, None: free text).

    A paper never changes once issued, so this is read once per attempt and kept, and a save checks
    its response without another statement. Keyed by the attempt's id and its random seed, so a
    database rebuilt with new attempts under old ids is never judged by a stale entry.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[int, int], dict[int, frozenset[str] | None]] = OrderedDict()
        self.lock = threading.Lock()

    def of(self, attempt: Attempt) -> dict[int, frozenset[str] | None]:
        key = (attempt.id, attempt.seed)
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
                return found
        rows = db.session.execute(
            select(AttemptQuestion.position, QuestionVersion.type, QuestionVersion.content)
            .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
            .where(AttemptQuestion.attempt_id == attempt.id)
        ).all()
        accepted = {position: get_type(kind).closed_responses(content) for position, kind, content in rows}
        with self.lock:
            self.entries[key] = accepted
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return accepted


_paper_responses = _PaperResponses()


def response_problem_at(attempt: Attempt, position: int, response: str | None) -> str | None:
    """Why the question at `position` cannot take `response` (an MCQ answer that is not one of its
    option ids), or None. Free text is checked elsewhere, for length only; a position not on the
    paper is left to the save, which says so."""
    return response_problem(_paper_responses.of(attempt).get(position), response)


def accepted_of(attempt: Attempt) -> dict[int, frozenset[str] | None]:
    """What each question of the attempt's paper accepts (position -> option ids; None: free text)."""
    return _paper_responses.of(attempt)

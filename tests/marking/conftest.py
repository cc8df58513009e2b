"""Marking fixtures: submitted ST0663 scripts with chosen answers, markers cleared to mark, and helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import (
    Attempt,
    MarkerClearance,
    Question,
    QuestionVersion,
    StandardisationItem,
)
from testengine.service_settings import attempt_settings, marking_settings


def _correct_option(version: Any) -> int:
    return next(i for i, option in enumerate(version.content["options"]) if option.get("correct"))


@pytest.fixture
def sit_script(app: Any, st0663: Any, room: Any, make_user: Callable[..., Any], clock: Any) -> Callable[..., Attempt]:
    """A submitted script: the first `mcq_correct` MCQs right (the rest wrong), `answers` for the short answers
    in paper order (the rest blank). Drawn and sat through the services, in the room's sitting."""
    from testengine.services import answers as answer_service
    from testengine.services import attempts as attempt_service
    from testengine.services.papers import issue_paper

    def sit(answers: list[str] = (), *, mcq_correct: int = 0, user: Any = None, sitting: Any = "room") -> Attempt:  # type: ignore[assignment]
        user = user or make_user("apprentice")
        now = clock.now()
        chosen = room if sitting == "room" else sitting
        attempt = issue_paper(user.apprentice, st0663, now=now, actor=None, sitting_id=chosen.id if chosen else None)
        attempt_service.start(attempt, now=now, actor=None)
        mcqs = saqs = 0
        for aq in attempt.questions:
            version = aq.version
            if version.type == "mcq":
                correct = _correct_option(version)
                response = str(correct if mcqs < mcq_correct else (correct + 1) % 4)
                mcqs += 1
            else:
                response = answers[saqs] if saqs < len(answers) else None
                saqs += 1
            if response is not None:
                answer_service.save_answer(
                    attempt, aq.position, response=response, revision=1, client_token=None, now=now, settings=attempt_settings()
                )
        attempt_service.submit(attempt, now=now, actor=None, settings=attempt_settings())
        db.session.commit()
        return attempt

    return sit


def short_answer_questions(attempt: Attempt) -> list[int]:
    """The question ids of the attempt's short answers, in paper order."""
    return [aq.version.question_id for aq in attempt.questions if aq.version.type == "short_answer"]


@pytest.fixture
def clear_for(clock: Any) -> Callable[..., None]:
    """Mark a marker as having passed standardisation on these questions (default: every ST0663 short answer)."""

    def clear(marker: Any, question_ids: list[int] | None = None) -> None:
        if question_ids is None:
            question_ids = list(
                db.session.scalars(
                    select(Question.id)
                    .join(QuestionVersion, QuestionVersion.question_id == Question.id)
                    .where(QuestionVersion.type == "short_answer")
                    .distinct()
                )
            )
        for question_id in question_ids:
            db.session.add(
                MarkerClearance(
                    marker_id=marker.id, question_id=question_id, status="passed", agreement=1.0, decided_at=clock.now()
                )
            )
        db.session.commit()

    return clear


@pytest.fixture
def add_items(clock: Any) -> Callable[..., list[StandardisationItem]]:
    """A moderator's standardisation answers for a question, with these reference marks."""
    from testengine.services import marking_quality as quality

    def add(question_id: int, moderator: Any, reference_marks: list[int]) -> list[StandardisationItem]:
        items = [
            quality.add_standardisation_item(
                question_id,
                response=f"Standardisation answer {n}",
                reference_mark=mark,
                rationale=None,
                moderator=moderator,
                now=clock.now(),
            )
            for n, mark in enumerate(reference_marks, start=1)
        ]
        db.session.commit()
        return items

    return add


@pytest.fixture
def first_mark(clock: Any) -> Callable[..., list[int]]:
    """First-mark every answer of a script the marker may take, with the given marks in paper order."""
    from testengine.services import marking

    def mark(marker: Any, attempt_id: int, marks: list[int] | int) -> list[int]:
        done = []
        while True:
            aq_id = marking.claim_next(marker, "first", clock.now(), attempt_id=attempt_id, settings=marking_settings())
            if aq_id is None:
                break
            value = marks if isinstance(marks, int) else marks[len(done)]
            marking.save_mark(aq_id, "first", marker, mark=value, comment=None, now=clock.now(), settings=marking_settings())
            db.session.commit()
            done.append(aq_id)
        return done

    return mark

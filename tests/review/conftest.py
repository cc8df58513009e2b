"""Marked scripts written straight into the database, so statistics can be checked against hand-worked numbers.

`Scripts.add(...)` writes one submitted attempt with its questions, answers and marks, exactly as
the sitting and marking would have left them (Mark rows by role, Answer.response the ORIGINAL
MCQ option index as a string).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import (
    Answer,
    Attempt,
    AttemptQuestion,
    ItemExposure,
    Mark,
    Question,
    QuestionVersion,
)

# Apprentice names no reviewer page may ever show.
SECRET_NAMES = [
    ("Zebedee", "Quackenbush"),
    ("Ottoline", "Fairweather-Smythe"),
    ("Barnaby", "Oddfellow"),
]


def version_of(standard: Any, external_id: str) -> QuestionVersion:
    return db.session.scalars(
        select(QuestionVersion)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(
            Question.standard_id == standard.id,
            Question.external_id == external_id,
            QuestionVersion.version == Question.current_version,
        )
    ).one()


def question_of(standard: Any, external_id: str) -> Question:
    return db.session.scalars(
        select(Question).where(Question.standard_id == standard.id, Question.external_id == external_id)
    ).one()


def key_of(version: QuestionVersion) -> int:
    return next(i for i, option in enumerate(version.content["options"]) if option["correct"])


def wrong_of(version: QuestionVersion, n: int = 0) -> int:
    return [i for i, option in enumerate(version.content["options"]) if not option["correct"]][n]


class Scripts:
    def __init__(self, standard: Any, make_user: Any, now: dt.datetime) -> None:
        self.standard = standard
        self.make_user = make_user
        self.now = now
        self.count = 0

    def add(
        self,
        answers: list[tuple[QuestionVersion, str | None, dict[str, int]]],
        *,
        sitting: Any = None,
        state: str = "submitted",
        user: Any = None,
    ) -> Attempt:
        """answers: (version, response, {role: mark, ...}) in paper order; marks oldest first per role."""
        self.count += 1
        if user is None:
            given, family = SECRET_NAMES[self.count % len(SECRET_NAMES)]
            user = self.make_user("apprentice", name=f"{given} {family}")
        attempt = Attempt(
            apprentice_id=user.apprentice.id,
            standard_id=self.standard.id,
            sitting_id=sitting.id if sitting is not None else None,
            kind="first",
            state=state,
            seed=self.count,
            draw_inputs={},
            issued_at=self.now,
            started_at=self.now,
            base_minutes=120,
            submitted_at=self.now + dt.timedelta(minutes=self.count) if state == "submitted" else None,
        )
        db.session.add(attempt)
        db.session.flush()
        for position, (version, response, marks) in enumerate(answers, start=1):
            aq = AttemptQuestion(
                attempt_id=attempt.id,
                position=position,
                question_version_id=version.id,
                marks=version.marks,
            )
            db.session.add(aq)
            db.session.flush()
            if response is not None:
                db.session.add(
                    Answer(
                        attempt_question_id=aq.id,
                        attempt_id=attempt.id,
                        response=response,
                        saved_at=self.now,
                    )
                )
            for step, (role, mark) in enumerate(marks.items()):
                db.session.add(
                    Mark(
                        attempt_question_id=aq.id,
                        attempt_id=attempt.id,
                        role=role,
                        mark=mark,
                        created_at=self.now + dt.timedelta(seconds=step),
                    )
                )
            exposure = db.session.get(ItemExposure, version.question_id)
            if exposure is None:
                db.session.add(ItemExposure(question_id=version.question_id, issued=1))
            else:
                exposure.issued += 1
            db.session.flush()
        db.session.commit()
        return attempt


@pytest.fixture
def scripts(st0663: Any, make_user: Any, clock: Any) -> Scripts:
    return Scripts(st0663, make_user, clock.now())


@pytest.fixture
def sittings(st0663: Any, make_user: Any, clock: Any) -> list[Any]:
    from tests.factories import open_sitting

    invigilator = make_user("invigilator")
    return [
        open_sitting(st0663, [invigilator], clock.now()),
        open_sitting(st0663, [invigilator], clock.now(), confirm=False, sign_in=False),  # one room at a time
    ]


@pytest.fixture
def reviewers(make_user: Any) -> tuple[Any, Any]:
    return make_user("reviewer", name="Rowan Reviewer"), make_user("reviewer", name="Sasha Second")

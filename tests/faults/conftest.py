"""Fixtures for fault, contention and data-protection tests: a finished apprentice with a full record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from testengine.extensions import db
from testengine.models import MethodResult, OverallResult, QuestionVersion


@dataclass
class Finished:
    """An apprentice who sat and submitted a test, with an adjustment and an incident naming them."""

    user: Any
    apprentice: Any
    attempt_id: int
    answers: dict[int, str]
    sitter: Any


def release_results(apprentice_id: int, now: dt.datetime) -> None:
    """Release whatever results the apprentice has (the admin workflow's end state), directly."""
    for model in (MethodResult, OverallResult):
        for row in db.session.scalars(select(model).where(model.apprentice_id == apprentice_id)):
            row.status = "released"
            row.signed_off_at = row.signed_off_at or now
            row.released_at = row.released_at or now
    db.session.commit()


def mcq_positions(sitter: Any) -> list[int]:
    return [q["position"] for q in sitter.status().get_json()["questions"] if q["type"] == "mcq"]


def correct_option(attempt_id: int, position: int) -> str:
    from testengine.models import AttemptQuestion

    version = db.session.scalar(
        select(QuestionVersion)
        .join(AttemptQuestion, AttemptQuestion.question_version_id == QuestionVersion.id)
        .where(AttemptQuestion.attempt_id == attempt_id, AttemptQuestion.position == position)
    )
    return str(next(i for i, option in enumerate(version.content["options"]) if option["correct"]))


@pytest.fixture
def finish_apprentice(
    app: Any, room: Any, make_user: Callable[..., Any], start_sitter: Callable[..., Any], clock: Any
) -> Callable[..., Finished]:
    """Sit and submit a test as a named apprentice; their record then has everything a real one has."""
    from testengine.services import sittings
    from testengine.services.adjustments import add_adjustment

    def finish(name: str = "Ann Lee", uln: str | None = None, *, short_answer: str | None = None) -> Finished:
        user = make_user("apprentice", name=name, uln=uln)
        add_adjustment(
            user.apprentice,
            kind="extra_time",
            extra_percent=25,
            extra_minutes=0,
            reason=f"Dyslexia: specialist report for {name} seen",
            approval_reference="RA-77",
            approved_by="Alex Admin",
            expires_on=None,
            now=clock.now(),
            actor=None,
        )
        db.session.commit()
        sitter = start_sitter(user)
        answers: dict[int, str] = {}
        for position in mcq_positions(sitter)[:3]:
            answers[position] = correct_option(sitter.attempt_id, position)
            assert sitter.save(position, answers[position]).status_code == 200
        if short_answer is not None:
            position = next(q["position"] for q in sitter.status().get_json()["questions"] if q["type"] != "mcq")
            answers[position] = short_answer
            assert sitter.save(position, short_answer).status_code == 200
        sittings.log_incident(
            room,
            kind="illness",
            apprentice_ids=[user.apprentice.id],
            now=clock.now(),
            actor=room.test_invigilator,
            notes=f"{name} felt unwell at 10:05; ULN {user.apprentice.uln} checked. Lee carried on.",
        )
        db.session.commit()
        clock.advance(dt.timedelta(minutes=30))
        assert sitter.submit().status_code == 200
        return Finished(user=user, apprentice=user.apprentice, attempt_id=sitter.attempt_id, answers=answers, sitter=sitter)

    return finish

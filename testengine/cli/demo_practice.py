"""The demo's practice (on the ST1380 practice bank): two practice papers for apprentice 2, and a learner.

Apprentice 2 has a timed paper and an untimed one, both submitted, so their progress by KSB has
two columns to compare; the learner (a training provider's account, no ULN) has none yet.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..extensions import db

APPRENTICE_EMAIL = "apprentice2@demo.test"
LEARNER = ("learner@demo.test", "Lane Learner")


def seed_practice(now: dt.datetime, passwords: list[tuple[str, str, str]]) -> int:
    """Create (or reset) the learner, and give apprentice 2 two practice papers, once."""
    from ..models import PracticeAttempt, QuestionVersion, User
    from ..services import accounts, practice
    from ..services.banks import get_standard

    email, name = LEARNER
    password = accounts.generate_password()
    learner = db.session.scalar(select(User).where(User.email == email))
    if learner is None:
        accounts.create_user(email=email, display_name=name, password=password, roles=["learner"], allow_test_domains=True)
    else:
        accounts.reset_password(learner, password, None, temporary=False)
    passwords.append(("learner", email, password))
    apprentice = db.session.scalars(select(User).where(User.email == APPRENTICE_EMAIL)).one()
    if db.session.scalar(select(PracticeAttempt.id).where(PracticeAttempt.user_id == apprentice.id)) is not None:
        return 0
    standard = get_standard("ST1380")
    for days_ago, timed, right_every in ((7, True, 2), (2, False, 1)):
        started = now - dt.timedelta(days=days_ago)
        attempt = practice.start(apprentice, standard, timed=timed, now=started)
        answers = {}
        for position, row in enumerate(attempt.questions, start=1):
            content = db.session.get_one(QuestionVersion, row["version_id"]).content
            if row["type"] == "mcq":  # the first paper gets every other one right, the second all of them
                correct = next(i for i, o in enumerate(content["options"]) if o.get("correct"))
                answers[position] = str(correct if position % right_every == 0 else (correct + 1) % 4)
            else:
                answers[position] = "Plan it with the learner, check the evidence is valid and sufficient, give feedback."
        practice.save(attempt, answers, now=started + dt.timedelta(minutes=20), grace_seconds=60)
        practice.submit(attempt, now=started + dt.timedelta(minutes=25), actor=apprentice)
    return 2

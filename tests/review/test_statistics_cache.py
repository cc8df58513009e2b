"""Item statistics are kept per bank and recomputed when a script is submitted or a mark added."""

from __future__ import annotations

from testengine.extensions import db
from testengine.models import Mark
from testengine.services.statistics import bank_statistics
from tests.review.conftest import key_of, version_of
from tests.review.test_statistics import M1, example  # noqa: F401  (fixture)


def test_statistics_are_kept_until_the_responses_change(st0663, example, scripts, sittings):  # noqa: F811
    first = bank_statistics(st0663)
    assert bank_statistics(st0663) is first
    assert first.scripts == 4
    m1 = version_of(st0663, M1)
    scripts.add([(m1, str(key_of(m1)), {"auto": 1})], sitting=sittings[0])
    again = bank_statistics(st0663)
    assert again is not first and again.scripts == 5


def test_a_new_mark_alone_refreshes_them(st0663, example):  # noqa: F811
    first = bank_statistics(st0663)
    assert first.awaiting_marking == 1  # script E waits for a moderator
    # The moderator's mark settles script E: no new script, only a new mark.
    e_mark = db.session.query(Mark).filter(Mark.role == "second").order_by(Mark.id.desc()).first()
    db.session.add(
        Mark(
            attempt_question_id=e_mark.attempt_question_id,
            attempt_id=e_mark.attempt_id,
            marker_id=e_mark.marker_id,
            role="moderator",
            mark=1,
            created_at=e_mark.created_at,
        )
    )
    db.session.commit()
    again = bank_statistics(st0663)
    assert again is not first
    assert again.awaiting_marking == 0 and again.scripts == 5


def test_min_responses_is_part_of_the_key(st0663, example):  # noqa: F811
    assert bank_statistics(st0663, min_responses=4) is not bank_statistics(st0663)

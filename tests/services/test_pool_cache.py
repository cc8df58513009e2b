"""The drawable pool is built once per process per bank state: reused while the bank is unchanged, new after any change."""

from __future__ import annotations

import shutil

from sqlalchemy import func, select

from testengine.extensions import db
from testengine.models import DrawPool, Question, QuestionVersion
from testengine.services import papers
from tests.factories import REPO


def _pool(standard, clock):  # type: ignore[no-untyped-def]
    now = clock.now()
    snapshot = papers.current_pool(standard, now.date(), now)
    db.session.commit()
    return snapshot


def test_the_same_bank_gives_the_same_built_pool(app, st0663, clock):
    first = _pool(st0663, clock)
    again = _pool(st0663, clock)
    assert again is first and again.pool is first.pool
    assert (
        len(first.items)
        == len(first.pool)
        == db.session.scalar(select(func.count(Question.id)).where(Question.standard_id == st0663.id))
    )
    assert db.session.scalar(select(func.count()).select_from(DrawPool)) == 1


def test_a_bank_import_that_changes_a_question_gives_a_new_pool_with_the_new_version(app, st0663, clock, tmp_path):
    from testengine.services.banks import import_bank

    before = _pool(st0663, clock)
    folder = tmp_path / "ST0663"
    shutil.copytree(REPO / "question_banks" / "ST0663", folder)
    changed = "ST0663-K10-MCQ-001"
    path = folder / "questions" / "K10.yaml"
    text = path.read_text()
    head, tail = text.split(f"id: {changed}", 1)
    stem_start = tail.index("stem:")
    stem_end = tail.index("    options:", stem_start)
    path.write_text(
        head + f"id: {changed}" + tail[:stem_start] + "stem: A rewritten stem, approved at the annual review.\n" + tail[stem_end:]
    )
    assert import_bank(folder, now=clock.now()).new_versions == [changed]
    db.session.commit()

    after = _pool(st0663, clock)
    assert after is not before and after.key != before.key and after.pool is not before.pool
    assert {i.id: i.version for i in after.items}[changed] == 2
    new_version = db.session.scalar(
        select(QuestionVersion.id).join(Question).where(Question.external_id == changed, QuestionVersion.version == 2)
    )
    assert after.version_ids[changed] == new_version != before.version_ids[changed]
    assert db.session.scalar(select(func.count()).select_from(DrawPool)) == 2  # each pool stored once, by its content
    assert _pool(st0663, clock) is after


def test_a_question_retired_at_review_leaves_the_pool_though_nothing_was_imported(app, st0663, clock, make_user):
    from testengine.services import review

    before = _pool(st0663, clock)
    question = db.session.scalar(select(Question).where(Question.external_id == before.items[0].id))
    review.retire(question, "No longer reflects current practice.", actor=make_user("reviewer"), now=clock.now())
    db.session.commit()

    after = _pool(st0663, clock)
    assert after is not before
    assert question.external_id not in {i.id for i in after.items}
    assert len(after.items) == len(before.items) - 1

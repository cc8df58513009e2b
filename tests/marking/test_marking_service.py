"""Marking through the services: automatic marks, claims, first and second marks, moderation, the sample, totals."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from testengine.domain.marking import second_marking_sample
from testengine.extensions import db
from testengine.models import AuditEntry, Mark, MarkingClaim, MethodResult, SecondMarkingDecision
from testengine.service_settings import marking_settings
from testengine.services import marking
from testengine.services import marking_progress as progress
from testengine.services.marking_progress import MarkingError


def marks_by_role(attempt_id: int) -> dict[str, list[Mark]]:
    out: dict[str, list[Mark]] = {}
    for mark in db.session.scalars(select(Mark).where(Mark.attempt_id == attempt_id).order_by(Mark.id)):
        out.setdefault(mark.role, []).append(mark)
    return out


def test_mcqs_are_marked_at_submission_and_blank_answers_get_0_without_a_marker(sit_script, clock):
    script = sit_script(["Refer to the designated safeguarding lead.", "   "], mcq_correct=9)
    rows = marks_by_role(script.id)
    auto = rows["auto"]
    # 14 MCQs (9 right) and 25 blank short answers (one of them only spaces): 39 automatic marks.
    assert len(auto) == 39 and all(m.marker_id is None for m in auto)
    assert sum(m.mark for m in auto) == 9
    blanks = [aq for aq in script.questions if aq.version.type == "short_answer"][1:]
    assert {m.attempt_question_id: m.mark for m in auto if m.attempt_question_id in {aq.id for aq in blanks}} == {
        aq.id: 0 for aq in blanks
    }
    assert script.marking_state == "marking" and script.total_marks is None
    pending = marking.pending("first", clock.now())
    assert [p.attempt_id for p in pending] == [script.id]  # only the one answered short answer waits


def test_a_script_with_nothing_for_a_marker_is_complete_at_submission(sit_script):
    script = sit_script([], mcq_correct=14)
    assert script.marking_state == "complete" and script.total_marks == 14


def test_two_markers_asking_in_turn_get_different_responses_and_a_held_one_cannot_be_claimed(
    sit_script, make_user, clear_for, clock
):
    script = sit_script(["answer one", "answer two", "answer three"])
    a, b = make_user("marker"), make_user("marker")
    clear_for(a)
    clear_for(b)
    first = marking.claim_next(a, "first", clock.now(), settings=marking_settings())
    second = marking.claim_next(b, "first", clock.now(), settings=marking_settings())
    db.session.commit()
    assert first and second and first != second
    assert marking.claim(first, "first", b, clock.now(), settings=marking_settings()) is False  # a race lost: someone holds it
    with pytest.raises(MarkingError, match="no longer hold"):
        marking.save_mark(first, "first", b, mark=2, comment=None, now=clock.now(), settings=marking_settings())
    db.session.rollback()
    assert marking.claim_next(a, "first", clock.now(), settings=marking_settings()) == first  # asking again resumes what you hold
    assert script.id


def test_two_markers_racing_in_threads_get_different_responses(app, sit_script, make_user, clear_for):
    sit_script(["one", "two", "three", "four"])
    markers = [make_user("marker"), make_user("marker")]
    for m in markers:
        clear_for(m)
    ids = [m.id for m in markers]
    barrier = threading.Barrier(2)
    got: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def race(user_id: int) -> None:
        try:
            with app.app_context():
                from testengine.clock import utcnow
                from testengine.models import User
                from testengine.storage import write_transaction

                barrier.wait()  # both ask at once; the database decides who holds what
                with write_transaction():
                    user = db.session.get(User, user_id)
                    got[user_id] = marking.claim_next(user, "first", utcnow(), settings=marking_settings())
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    db.session.commit()
    threads = [threading.Thread(target=race, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert None not in got.values() and len(set(got.values())) == 2
    assert db.session.scalar(select(func.count(MarkingClaim.id))) == 2


def test_an_expired_claim_can_be_taken_over_and_the_first_marker_can_no_longer_save(sit_script, make_user, clear_for, clock, app):
    sit_script(["the only answer"])
    a, b = make_user("marker"), make_user("marker")
    clear_for(a)
    clear_for(b)
    aq_id = marking.claim_next(a, "first", clock.now(), settings=marking_settings())
    db.session.commit()
    assert marking.claim_next(b, "first", clock.now(), settings=marking_settings()) is None  # held, not expired
    clock.advance(dt.timedelta(minutes=app.config["TESTENGINE"]["CLAIM_MINUTES"], seconds=1))
    assert marking.claim_next(b, "first", clock.now(), settings=marking_settings()) == aq_id
    db.session.commit()
    with pytest.raises(MarkingError, match="no longer hold"):
        marking.save_mark(aq_id, "first", a, mark=2, comment=None, now=clock.now(), settings=marking_settings())
    db.session.rollback()
    marking.save_mark(aq_id, "first", b, mark=1, comment="partly", now=clock.now(), settings=marking_settings())
    db.session.commit()
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "marking.claim.take_over")) == 1


def test_changing_a_mark_adds_a_row_with_the_reason_and_audits_old_and_new(sit_script, make_user, clear_for, clock):
    sit_script(["first answer", "second answer"])
    marker = make_user("marker")
    clear_for(marker)
    aq_id = marking.claim_next(marker, "first", clock.now(), settings=marking_settings())
    original = marking.save_mark(aq_id, "first", marker, mark=2, comment=None, now=clock.now(), settings=marking_settings())
    db.session.commit()
    with pytest.raises(MarkingError, match="reason"):
        marking.change_mark(aq_id, marker, mark=1, comment=None, reason="  ", now=clock.now())
    db.session.rollback()
    changed = marking.change_mark(
        aq_id, marker, mark=1, comment="misses the second point", reason="Re-read the guide", now=clock.now()
    )
    db.session.commit()
    rows = db.session.scalars(select(Mark).where(Mark.attempt_question_id == aq_id).order_by(Mark.id)).all()
    assert [(m.role, m.mark, m.reason) for m in rows] == [("first", 2, None), ("first", 1, "Re-read the guide")]
    assert db.session.get(Mark, original.id).mark == 2  # never overwritten
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "mark.change"))
    assert (
        entry.actor_id == marker.id
        and entry.before["mark"] == 2
        and entry.after["mark"] == 1
        and entry.reason == "Re-read the guide"
    )
    assert entry.object_id == str(changed.id)
    other = make_user("marker")
    with pytest.raises(MarkingError, match="not marked"):
        marking.change_mark(aq_id, other, mark=0, comment=None, reason="mine now", now=clock.now())


def test_identical_answers_are_marked_once_with_a_row_and_an_audit_entry_each(sit_script, make_user, clock):
    # Six papers of 26 short answers from a bank of 120: some question is on two papers (pigeonhole),
    # and every answer is a way of writing "the DWP".
    variants = ["The DWP.", "the  dwp", "THE DWP!"]
    scripts = [sit_script([variants[(n + i) % 3] for i in range(26)]) for n in range(6)]
    marker = make_user("marker", moderator=True)  # moderators set the standard: no standardisation needed
    question_ids = {aq.version.question_id for s in scripts for aq in s.questions if aq.version.type == "short_answer"}
    found = {q: marking.answer_groups(marker, q, clock.now()) for q in question_ids}
    question_id, group = max(((q, g) for q, gs in found.items() for g in gs), key=lambda pair: len(pair[1].aq_ids))
    assert len(group.aq_ids) >= 2 and set(group.variants) <= set(variants)
    claimed = marking.claim_group(marker, question_id, group.representative, clock.now(), settings=marking_settings())
    held = marking.held_group(marker, question_id, group.representative, clock.now())
    assert held is not None and list(held.aq_ids) == claimed == list(group.aq_ids)
    saved = marking.save_marks(
        claimed, "first", marker, mark=2, comment="names the DWP", now=clock.now(), settings=marking_settings()
    )
    db.session.commit()
    assert len(saved) == len(claimed)
    assert {m.attempt_question_id for m in saved} == set(claimed) and {m.mark for m in saved} == {2}
    audited = db.session.scalars(select(AuditEntry.object_id).where(AuditEntry.action == "mark.first")).all()
    assert sorted(audited) == sorted(str(m.id) for m in saved)
    assert marking.answer_groups(marker, question_id, clock.now()) == []  # nothing left to group on that question


def _script_with_total(sit_script, total: int):  # type: ignore[no-untyped-def]
    """A script whose first-marked total will be `total`: MCQs first, then 2-mark answers, then one 1-mark answer."""
    mcq = min(14, total)
    rest = total - mcq
    marks = [2] * (rest // 2) + [1] * (rest % 2)
    return sit_script([f"answer {n}" for n in range(len(marks))], mcq_correct=mcq), marks


def test_the_sample_takes_every_boundary_script_and_a_seeded_tenth_of_the_rest(sit_script, make_user, clear_for, first_mark):
    marker = make_user("marker")
    clear_for(marker)
    totals = [44, 47, 51, 54, 30, 58, 15]  # ST0663: pass from 46, distinction from 53
    scripts = [_script_with_total(sit_script, t) for t in totals]
    for (script, marks), total in list(zip(scripts, totals))[:-1]:
        first_mark(marker, script.id, marks)
        decision = progress.decision_of(script.id)
        assert decision.first_total == total
        # Near a boundary: second-marked at once. Otherwise: wait for the rest of the sitting.
        assert (decision.status, decision.reason) == (
            ("selected", "boundary") if total in (44, 47, 51, 54) else ("waiting", None)
        )
    last, marks = scripts[-1]
    first_mark(marker, last.id, marks)  # the sitting's last script: the sample is drawn

    decisions = {d.attempt_id: d for d in db.session.scalars(select(SecondMarkingDecision))}
    by_total = {total: decisions[script.id] for (script, _m), total in zip(scripts, totals)}
    assert all(by_total[t].status == "selected" and by_total[t].reason == "boundary" for t in (44, 47, 51, 54))
    rest = [t for t in totals if t not in (44, 47, 51, 54)]
    sampled = [t for t in rest if by_total[t].status == "selected"]
    assert len(sampled) == 1 and by_total[sampled[0]].reason == "sample"  # ceil(10% of 3)
    # Reproducible from the recorded seed.
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "marking.sample"))
    waiting = {script.id: total for (script, _m), total in zip(scripts, totals) if total in rest}
    assert entry.after["seed"] == by_total[sampled[0]].seed
    assert second_marking_sample(waiting, [46, 53], fraction=0.10, margin=2, seed=entry.after["seed"]) == {
        script.id for (script, _m), total in zip(scripts, totals) if total in sampled
    }
    # Scripts not sampled are final now, with their results recorded; the others wait for a second marker.
    for (script, _m), total in zip(scripts, totals):
        db.session.refresh(script)
        if by_total[total].status == "not_selected":
            assert script.marking_state == "complete" and script.total_marks == total
            result = db.session.scalar(select(MethodResult).where(MethodResult.attempt_id == script.id))
            assert result.marks == total and result.method_key == "knowledge_test"
        else:
            assert script.marking_state == "marking" and script.total_marks is None


def test_second_marking_is_by_another_marker_and_a_moderator_resolves_a_disagreement(
    sit_script, make_user, clear_for, first_mark, clock
):
    first_marker, second_marker = make_user("marker"), make_user("marker")
    moderator = make_user("marker", moderator=True)
    clear_for(first_marker)
    clear_for(second_marker)
    script, marks = _script_with_total(sit_script, 47)  # one mark above the pass line: always second-marked
    done = first_mark(first_marker, script.id, marks)
    assert progress.decision_of(script.id).status == "selected"
    assert marking.available(first_marker, "second", clock.now()) == []  # never your own marks
    assert len(marking.available(second_marker, "second", clock.now())) == len(done)
    disputed = done[0]  # the first marker gave it 2
    while (aq_id := marking.claim_next(second_marker, "second", clock.now(), settings=marking_settings())) is not None:
        marking.save_mark(
            aq_id,
            "second",
            second_marker,
            mark=0 if aq_id == disputed else marks[done.index(aq_id)],
            comment=None,
            now=clock.now(),
            settings=marking_settings(),
        )
        db.session.commit()
    db.session.refresh(script)
    assert script.marking_state == "marking" and script.total_marks is None
    assert progress.stage(script, progress.marks_of([script.id]), progress.decision_of(script.id)) == progress.MODERATION

    assert marking.available(second_marker, "moderator", clock.now()) == []  # not a moderator
    assert marking.claim_next(moderator, "moderator", clock.now(), settings=marking_settings()) == disputed
    marking.save_mark(
        disputed, "moderator", moderator, mark=1, comment="One of two points made", now=clock.now(), settings=marking_settings()
    )
    db.session.commit()

    db.session.refresh(script)
    assert script.marking_state == "complete" and script.total_marks == 47 - 2 + 1
    kept = db.session.scalars(select(Mark.role).where(Mark.attempt_question_id == disputed).order_by(Mark.id)).all()
    assert kept == ["first", "second", "moderator"]  # every mark kept; the moderator's stands
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "mark.moderator"))
    assert entry.before == {"first": 2, "second": 0} and entry.after["mark"] == 1 and entry.actor_id == moderator.id
    result = db.session.scalar(select(MethodResult).where(MethodResult.attempt_id == script.id))
    assert result.marks == 46 and result.grade == "pass"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "marking.complete")).after == {
        "marking_state": "complete",
        "total_marks": 46,
    }


def test_a_moderator_who_marked_the_answer_cannot_resolve_it(sit_script, make_user, clear_for, first_mark, clock):
    senior = make_user("marker", moderator=True)
    other = make_user("marker")
    clear_for(other)
    script, marks = _script_with_total(sit_script, 53)
    done = first_mark(senior, script.id, marks)
    aq_id = marking.claim_next(other, "second", clock.now(), settings=marking_settings())
    marking.save_mark(
        aq_id,
        "second",
        other,
        mark=(marks[done.index(aq_id)] + 1) % 3,
        comment=None,
        now=clock.now(),
        settings=marking_settings(),
    )
    db.session.commit()
    assert marking.available(senior, "moderator", clock.now()) == []
    assert marking.claim(aq_id, "moderator", senior, clock.now(), settings=marking_settings())
    with pytest.raises(MarkingError, match="another moderator"):
        marking.save_mark(aq_id, "moderator", senior, mark=2, comment=None, now=clock.now(), settings=marking_settings())


def test_a_paper_not_yet_started_holds_the_sample_back_until_a_moderator_draws_it(
    sit_script, make_user, clear_for, first_mark, room, st0663, clock, client, login
):
    from testengine.services.papers import issue_paper
    from tests.conftest import csrf_token_from

    script, marks = _script_with_total(sit_script, 30)
    issue_paper(
        make_user("apprentice").apprentice, st0663, now=clock.now(), actor=None, sitting_id=room.id
    )  # checked in, not started
    db.session.commit()
    marker = make_user("marker")
    clear_for(marker)
    first_mark(marker, script.id, marks)
    assert progress.decision_of(script.id).status == "waiting"

    login(make_user("marker", moderator=True))
    page = client.get("/mark/moderation/samples").get_data(as_text=True)
    assert room.title in page
    drawn = client.post(f"/mark/moderation/sittings/{room.id}/sample", data={"csrf_token": csrf_token_from(page)})
    assert drawn.status_code == 302
    decision = progress.decision_of(script.id)
    db.session.refresh(decision)
    assert (decision.status, decision.reason) == ("selected", "sample")  # ceil(10% of 1)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "marking.sample")).reason == "drawn by a moderator"

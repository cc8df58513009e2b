"""The annual review as use cases: the queue, keep / revise / retire, and the second-approver rule."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from testengine.domain.errors import IllegalTransition
from testengine.domain.grading import add_months
from testengine.extensions import db
from testengine.models import AuditEntry, QuestionReview
from testengine.services import review, review_record
from testengine.services.bank_report import bank_report
from testengine.services.banks import eligible_rows
from testengine.services.papers import issue_paper
from testengine.services.statistics import bank_statistics
from tests.review.conftest import key_of, question_of, version_of, wrong_of

MCQ, SAQ = "ST0663-K10-MCQ-001", "ST0663-K10-SA-001"


def _queued(today, statistics=None):
    return {entry.question.external_id: entry for entry in review.queue(today, statistics)}


def test_queue_holds_overdue_due_soon_and_nothing_else(st0663, clock):
    today = clock.now().date()
    assert _queued(today) == {}  # the shipped bank was reviewed this month
    overdue, soon, later = (question_of(st0663, q) for q in ("ST0663-K3-MCQ-001", "ST0663-K9-MCQ-001", "ST0663-K11-MCQ-001"))
    overdue.next_due = today - dt.timedelta(days=1)
    soon.next_due = today + dt.timedelta(days=30)
    later.next_due = today + dt.timedelta(days=31)
    db.session.commit()
    queued = _queued(today)
    assert set(queued) == {"ST0663-K3-MCQ-001", "ST0663-K9-MCQ-001"}
    assert queued["ST0663-K3-MCQ-001"].reasons == ["overdue"] and queued["ST0663-K9-MCQ-001"].reasons == ["due soon"]
    most_urgent = review.queue(today)[0]
    assert most_urgent.question.external_id == "ST0663-K3-MCQ-001"


def test_overdue_questions_are_never_drawn_and_the_bank_report_counts_them(st0663, clock):
    today = clock.now().date()
    question = question_of(st0663, MCQ)
    question.next_due = today - dt.timedelta(days=1)
    db.session.commit()
    assert MCQ not in {q.external_id for q, _v in eligible_rows(st0663, today)}
    report = bank_report("ST0663", today)
    assert report["not_drawable_overdue"] == 1 and report["due_for_review"]["overdue"] == 1


def test_flagged_questions_join_the_queue_until_reviewed_after_the_evidence(st0663, scripts, reviewers, clock):
    today = clock.now().date()
    mcq = version_of(st0663, MCQ)
    # 30 scripts, everyone right: facility 1.0 (too easy) and three options nobody picks.
    for _ in range(30):
        scripts.add([(mcq, str(key_of(mcq)), {"auto": 1})])
    statistics = {st0663.id: bank_statistics(st0663)}
    entry = _queued(today, statistics)[MCQ]
    assert entry.reasons == ["flagged"] and "too_easy" in entry.flags and "unused_distractor" in entry.flags
    clock.advance(dt.timedelta(hours=2))
    review.keep(
        question_of(st0663, MCQ),
        "Checked: easy on purpose, an opening question.",
        actor=reviewers[0],
        now=clock.now(),
    )
    db.session.commit()
    assert MCQ not in _queued(clock.now().date(), statistics)
    clock.advance(dt.timedelta(days=1))
    scripts.now = clock.now()  # new evidence after the review puts it back
    scripts.add([(mcq, str(key_of(mcq)), {"auto": 1})])
    assert MCQ in _queued(clock.now().date(), {st0663.id: bank_statistics(st0663)})


def test_keep_renews_the_review_dates_and_is_recorded(st0663, reviewers, clock):
    question = question_of(st0663, MCQ)
    question.next_due = clock.now().date() - dt.timedelta(days=3)
    db.session.commit()
    review.keep(question, "  Still accurate and clear.  ", actor=reviewers[0], now=clock.now())
    db.session.commit()
    today = clock.now().date()
    assert question.last_reviewed == today and question.next_due == add_months(today, 12)
    assert question.reviewer == "Rowan Reviewer"
    record = db.session.scalars(select(QuestionReview).where(QuestionReview.question_id == question.id)).one()
    assert (record.decision, record.comments, record.version_before, record.version_after) == (
        "keep",
        "Still accurate and clear.",
        1,
        None,
    )
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.review.keep")) is not None
    assert MCQ in {q.external_id for q, _v in eligible_rows(st0663, today)}  # drawable again


def test_a_decision_needs_a_comment(st0663, reviewers, clock):
    with pytest.raises(review.ReviewError, match="comment"):
        review.keep(question_of(st0663, MCQ), "   ", actor=reviewers[0], now=clock.now())


def test_retired_question_is_never_in_the_next_drawn_paper(st0663, make_user, reviewers, clock):
    first = make_user("apprentice")
    paper = issue_paper(first.apprentice, st0663, now=clock.now(), actor=None, seed=42)
    db.session.commit()
    drawn = [aq.version.question.external_id for aq in paper.questions]
    target = drawn[0]
    review.retire(
        question_of(st0663, target),
        "Out of date after the benefit change.",
        actor=reviewers[0],
        now=clock.now(),
    )
    db.session.commit()
    assert question_of(st0663, target).status == "retired"
    for seed in (42, 7, 99, 123, 2024):
        apprentice = make_user("apprentice").apprentice
        again = issue_paper(apprentice, st0663, now=clock.now(), actor=None, seed=seed)
        db.session.commit()
        ids = [aq.version.question.external_id for aq in again.questions]
        assert target not in ids and len(ids) == 40
    with pytest.raises(IllegalTransition):
        review.keep(question_of(st0663, target), "Changed my mind.", actor=reviewers[1], now=clock.now())
    assert target not in {e.question.external_id for e in review.queue(clock.now().date())}


def _mcq_fields(version, **changes):
    options = [dict(option) for option in version.content["options"]]
    for option in options:
        if option.get("rationale") is None:
            option.pop("rationale", None)
        if not option.get("correct"):
            option.pop("correct", None)
    for index, text in changes.items():
        options[int(index.removeprefix("o"))]["text"] = text
    return {"options": options}


def test_revision_waits_for_a_second_reviewer_and_then_becomes_current(st0663, reviewers, clock):
    author, second = reviewers
    question = question_of(st0663, MCQ)
    question.next_due = clock.now().date() - dt.timedelta(days=1)
    db.session.commit()
    current = version_of(st0663, MCQ)
    fields = _mcq_fields(current, o3="Phone the police at once because the person is shouting in a public area")
    proposed = review.propose_revision(
        question,
        stem=current.stem,
        content_fields=fields,
        comments="Clearer distractor D.",
        actor=author,
        now=clock.now(),
    )
    db.session.commit()
    assert (
        proposed.version,
        proposed.approved,
        proposed.revision_state,
        proposed.proposed_by_id,
    ) == (2, False, "pending", author.id)
    assert question.current_version == 1  # not used until approved
    today = clock.now().date()
    assert MCQ not in {q.external_id for q, _v in eligible_rows(st0663, today)}  # still overdue
    assert _queued(today)[MCQ].pending.id == proposed.id

    with pytest.raises(review.SelfApproval):
        review.approve_revision(proposed, actor=author, now=clock.now())
    db.session.rollback()
    assert proposed.revision_state == "pending"

    review.approve_revision(proposed, actor=second, now=clock.now())
    db.session.commit()
    assert question.current_version == 2 and proposed.approved_by_id == second.id and proposed.decided_at is not None
    assert question.last_reviewed == today and question.next_due == add_months(today, 12)
    # "Last reviewed by" names the approver: the reviewer who judged this version fit for purpose.
    assert question.reviewer == second.display_name == "Sasha Second"
    drawable = {q.external_id: v for q, v in eligible_rows(st0663, today)}
    assert drawable[MCQ].version == 2 and drawable[MCQ].content["options"][3]["text"].startswith("Phone the police")
    with pytest.raises(IllegalTransition):
        review.approve_revision(proposed, actor=second, now=clock.now())
    rows = list(csv.DictReader(io.StringIO(review_record.review_record_csv(st0663))))
    assert [
        (
            r["question"],
            r["decision"],
            r["reviewer"],
            r["version_before"],
            r["version_after"],
            r["revision_state"],
            r["decided_by"],
            r["changed"],
        )
        for r in rows
    ] == [(MCQ, "revise", "Rowan Reviewer", "1", "2", "approved", "Sasha Second", "options")]


def test_revision_is_checked_by_the_bank_file_rules(st0663, reviewers, clock):
    question = question_of(st0663, MCQ)
    current = version_of(st0663, MCQ)
    bad = _mcq_fields(current, o1="<b>Bold</b> claim")
    bad["options"][wrong_of(current)]["correct"] = True  # two correct options
    with pytest.raises(review.RevisionInvalid) as refused:
        review.propose_revision(
            question,
            stem="Too short",
            content_fields=bad,
            comments="Trying.",
            actor=reviewers[0],
            now=clock.now(),
        )
    problems = {(p.path, p.message) for p in refused.value.problems}
    assert (("stem",), "is too short (9 characters; at least 10)") in problems
    assert any(path == ("options", 1, "text") and "markup" in message for path, message in problems)
    assert any(path == ("options",) and "exactly 1 option with 'correct: true', not 2" in message for path, message in problems)
    with pytest.raises(review.RevisionInvalid, match="nothing has changed"):
        review.propose_revision(
            question,
            stem=current.stem,
            content_fields=_mcq_fields(current),
            comments="No change.",
            actor=reviewers[0],
            now=clock.now(),
        )
    db.session.rollback()
    assert len(question_of(st0663, MCQ).versions) == 1


def test_short_answer_revision_and_one_pending_revision_at_a_time(st0663, reviewers, clock):
    question = question_of(st0663, SAQ)
    current = version_of(st0663, SAQ)
    guide = dict(current.content["guide"])
    guide["one_mark"] = "Names one relevant point without explaining how it helps the service user."
    if not guide.get("acceptable_alternatives"):
        guide.pop("acceptable_alternatives", None)
    review.propose_revision(
        question,
        stem=current.stem,
        content_fields={"guide": guide},
        comments="Sharper one-mark descriptor.",
        actor=reviewers[0],
        now=clock.now(),
    )
    db.session.commit()
    with pytest.raises(review.ReviewError, match="already has a revision waiting"):
        review.propose_revision(
            question,
            stem=current.stem + " Explain.",
            content_fields={"guide": guide},
            comments="Another.",
            actor=reviewers[1],
            now=clock.now(),
        )
    db.session.rollback()
    pending = review.pending_revisions([question.id])[question.id]
    with pytest.raises(review.ReviewError, match="Say why the revision is rejected") as refused:
        review.reject_revision(pending, reason="   ", actor=reviewers[1], now=clock.now())
    assert refused.value.code == "reason_required" and pending.revision_state == "pending"
    review.reject_revision(pending, reason="The new stem gives the answer away.", actor=reviewers[1], now=clock.now())
    db.session.commit()
    assert pending.revision_state == "rejected" and question.current_version == 1
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.revision.reject"))
    assert (entry.actor_id, entry.reason) == (reviewers[1].id, "The new stem gives the answer away.")


def test_retiring_rejects_a_waiting_revision(st0663, reviewers, clock):
    question = question_of(st0663, MCQ)
    current = version_of(st0663, MCQ)
    proposed = review.propose_revision(
        question,
        stem=current.stem,
        content_fields=_mcq_fields(current, o2="Explain the sanction rules at length"),
        comments="Tighter.",
        actor=reviewers[0],
        now=clock.now(),
    )
    review.retire(question, "Replaced by a new item.", actor=reviewers[1], now=clock.now())
    db.session.commit()
    assert proposed.revision_state == "rejected"
    with pytest.raises(IllegalTransition):
        review.approve_revision(proposed, actor=reviewers[1], now=clock.now())


def test_bank_health_adds_coverage_by_ksb_and_type(st0663, clock):
    today = clock.now().date()
    question_of(st0663, "ST0663-K3-MCQ-001").next_due = today + dt.timedelta(days=60)
    db.session.commit()
    health = review_record.bank_health(st0663, today)
    assert health["types"] == ["mcq", "short_answer"]
    assert set(health["coverage"]) >= {
        "K3",
        "K9",
        "K10",
        "K11",
        "K14",
        "K15",
        "K16",
        "K17",
        "K19",
        "S8",
    }
    assert sum(row["mcq"] for row in health["coverage"].values()) >= 80  # a question on two KSBs counts under each
    assert health["due_for_review"]["next_90_days"] == 1 and health["due_for_review"]["next_30_days"] == 0
    assert [q.external_id for q, _due in health["upcoming"]] == ["ST0663-K3-MCQ-001"]
    assert health["papers_without_repeat"] >= 3


def test_bank_health_is_kept_until_the_bank_changes_then_read_again(st0663, reviewers, clock):
    """The reviewer's bank page is served from a kept summary, and every change to the bank is seen."""
    today = clock.now().date()
    first = review_record.bank_health(st0663, today)
    assert review_record.bank_health(st0663, today) is first  # nothing changed: the kept summary
    approved = first["by_status"]["approved"]

    review.retire(question_of(st0663, MCQ), "Superseded by current guidance.", actor=reviewers[0], now=clock.now())
    db.session.flush()
    retired = review_record.bank_health(st0663, today)
    assert retired is not first and retired["by_status"]["approved"] == approved - 1
    assert retired["by_status"].get("retired", 0) == first["by_status"].get("retired", 0) + 1

    review.keep(question_of(st0663, SAQ), "Still accurate and clear.", actor=reviewers[0], now=clock.now())
    db.session.flush()
    assert review_record.bank_health(st0663, today) is not retired  # a review decision is a change too
    assert review_record.bank_health(st0663, today + dt.timedelta(days=1)) is not retired  # so is a new day

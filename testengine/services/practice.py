"""Practice papers: start one from a practice-only bank, save and submit answers, feedback and history.

Formative and apart. Only a standard whose spec says `practice: true` can give a practice paper
(checked here, on every path, and again before any content is shown), so no live question, key or
marking guide can reach a practice page. Nothing here writes a result, an exposure count, an
attempt or a response: practice lives in its own table that results, draws and item statistics
never read. The guide and the keys are shown only once the paper is submitted. Services flush;
the caller commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from ..domain import practice as rules
from ..domain.errors import DomainError
from ..domain.papers import PaperShortfall, draw_paper, new_seed
from ..domain.practice import Marked, PracticeRefused
from ..domain.question_types import get_type
from ..extensions import db
from ..models import PracticeAttempt, Question, QuestionVersion, Standard, User
from . import audit
from .banks import eligible_rows, spec_of, to_item

__all__ = ["PracticeRefused"]


def practice_standards() -> list[Standard]:
    """The standards whose bank is for practice, in code order."""
    return [s for s in db.session.scalars(select(Standard).order_by(Standard.code)) if spec_of(s).practice]


def _require_practice(standard: Standard) -> None:
    spec = spec_of(standard)
    if not spec.practice or spec.knowledge_test is None:
        raise PracticeRefused(
            f"{standard.code} is not a practice bank: its questions are for live tests only.", code="not_practice"
        )


def _met_before(user: User, standard: Standard) -> set[str]:
    met: set[str] = set()
    for questions in db.session.scalars(
        select(PracticeAttempt.questions).where(PracticeAttempt.user_id == user.id, PracticeAttempt.standard_id == standard.id)
    ):
        met.update(row["id"] for row in questions)
    return met


def start(user: User, standard: Standard, *, timed: bool, now: dt.datetime, seed: int | None = None) -> PracticeAttempt:
    """Draw a practice paper to the bank's blueprint, preferring questions this person has not met.

    Once every question has been met the draw starts afresh: in practice a repeat teaches, and
    it counts for nothing. Refused for any bank that is not a practice bank.
    """
    _require_practice(standard)
    spec = spec_of(standard)
    assert spec.knowledge_test is not None
    blueprint = spec.knowledge_test.blueprint
    rows = [(q, v) for q, v in eligible_rows(standard, now.date()) if v.type in blueprint.quotas]
    items = [to_item(q, v) for q, v in rows]
    version_ids = {q.external_id: v.id for q, v in rows}
    seed = new_seed() if seed is None else seed
    try:
        paper = draw_paper(items, blueprint, seed=seed, seen=_met_before(user, standard))
    except PaperShortfall:
        try:
            paper = draw_paper(items, blueprint, seed=seed)
        except PaperShortfall as short:
            raise PracticeRefused(f"The practice bank cannot make a paper now: {short}", code="bank_shortfall") from None
    attempt = PracticeAttempt(
        user_id=user.id,
        standard_id=standard.id,
        seed=seed,
        timed=timed,
        started_at=now,
        ends_at=rules.deadline(now, spec.knowledge_test.duration_minutes if timed else None),
        questions=[
            {
                "id": q.item_id,
                "version_id": version_ids[q.item_id],
                "type": q.type,
                "marks": q.marks,
                "ksb": list(q.ksb),
                "order": list(q.option_order) if q.option_order is not None else None,
            }
            for q in paper.questions
        ],
        responses={},
        awarded=None,
    )
    db.session.add(attempt)
    db.session.flush()
    audit.record(user, "practice.start", attempt, after={"standard": standard.code, "timed": timed})
    return attempt


def own_attempt(attempt_id: int, user: User) -> PracticeAttempt:
    """The practice attempt if it is this person's; anyone else's does not exist for them."""
    attempt = db.session.get(PracticeAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise PracticeRefused("No such practice paper.", code="not_found")
    return attempt


def _standard(attempt: PracticeAttempt) -> Standard:
    standard = db.session.get(Standard, attempt.standard_id)
    assert standard is not None  # a foreign key
    return standard


def _versions(attempt: PracticeAttempt) -> list[QuestionVersion]:
    """The attempt's question versions, each checked to belong to a practice bank (the attempt's own)."""
    standard = _standard(attempt)
    _require_practice(standard)
    out = []
    for row in attempt.questions:
        version = db.session.get(QuestionVersion, row["version_id"])
        question = db.session.get(Question, version.question_id) if version is not None else None
        if version is None or question is None or question.standard_id != standard.id:
            raise PracticeRefused("This practice paper holds a question that is not from its practice bank.", code="not_practice")
        out.append(version)
    return out


def accepts_answers(attempt: PracticeAttempt, now: dt.datetime, grace_seconds: int) -> bool:
    return attempt.submitted_at is None and rules.accepts_answers(attempt.ends_at, now, grace_seconds)


def paper(attempt: PracticeAttempt) -> list[dict[str, Any]]:
    """The questions as the apprentice answers them: wording and options in the order drawn; no key, no guide."""
    out = []
    for position, (row, version) in enumerate(zip(attempt.questions, _versions(attempt), strict=True), start=1):
        options = version.content.get("options") or []
        order = row["order"] if row["order"] is not None else list(range(len(options)))
        out.append(
            {
                "position": position,
                "type": row["type"],
                "marks": row["marks"],
                "ksb": row["ksb"],
                "stem": version.stem,
                "options": [(str(i), options[i]["text"]) for i in order],
                "response": attempt.responses.get(str(position), ""),
            }
        )
    return out


def save(attempt: PracticeAttempt, answers: dict[int, str], *, now: dt.datetime, grace_seconds: int) -> bool:
    """Keep the answers given (position -> text); False (nothing kept) once time is up or it is submitted."""
    if not accepts_answers(attempt, now, grace_seconds):
        return False
    versions = _versions(attempt)
    kept = dict(attempt.responses)
    for position, text in answers.items():
        if not 1 <= position <= len(versions):
            raise DomainError(f"The paper has no question {position}.", code="invalid_position")
        problem = get_type(versions[position - 1].type).response_problem(versions[position - 1].content, text)
        if problem:
            raise DomainError(f"Question {position}: the answer {problem}.", code="invalid_response")
        if text.strip():
            kept[str(position)] = text
        else:  # a blank clears the answer
            kept.pop(str(position), None)
    attempt.responses = kept
    db.session.flush()
    return True


def submit(attempt: PracticeAttempt, *, now: dt.datetime, actor: User) -> None:
    """Mark what was saved: multiple choice at once; short answers wait for the apprentice's own check."""
    if attempt.submitted_at is not None:
        return
    versions = _versions(attempt)
    attempt.awarded = [
        get_type(v.type).mark(v.content, attempt.responses.get(str(p))) if get_type(v.type).auto_marked else None
        for p, v in enumerate(versions, start=1)
    ]
    attempt.submitted_at = now
    db.session.flush()
    audit.record(actor, "practice.submit", attempt, after={"mcq_marks": mcq_score(attempt)})


def _marked(attempt: PracticeAttempt) -> list[Marked]:
    awarded = attempt.awarded or [None] * len(attempt.questions)
    return [Marked(tuple(r["ksb"]), r["marks"], a) for r, a in zip(attempt.questions, awarded, strict=True)]


def mcq_score(attempt: PracticeAttempt) -> tuple[int, int]:
    """Marks earned and available on the machine-marked questions."""
    marked = [m for m in _marked(attempt) if m.awarded is not None]
    return sum(m.awarded or 0 for m in marked), sum(m.marks for m in marked)


def feedback(attempt: PracticeAttempt) -> dict[str, Any]:
    """After submission only: each question with its key or marking guide, and feedback by KSB."""
    if attempt.submitted_at is None:
        raise PracticeRefused("Feedback comes once the practice paper is submitted.", code="not_submitted")
    ksb_names = spec_of(_standard(attempt)).ksbs
    rows = []
    for item, version, awarded in zip(paper(attempt), _versions(attempt), attempt.awarded or [], strict=True):
        options = version.content.get("options") or []
        chosen = item["response"]
        rows.append(
            {
                **item,
                "awarded": awarded,
                "correct": next((o["text"] for o in options if o.get("correct")), None),
                "chosen": options[int(chosen)]["text"] if chosen.isdecimal() and int(chosen) < len(options) else None,
                "rationale": options[int(chosen)].get("rationale") if chosen.isdecimal() and int(chosen) < len(options) else None,
                "correct_rationale": next((o.get("rationale") for o in options if o.get("correct")), None),
                "guide": version.content.get("guide"),
            }
        )
    return {
        "questions": rows,
        "by_ksb": [(f, ksb_names.get(f.ksb, f.ksb)) for f in rules.by_ksb(_marked(attempt))],
        "score": mcq_score(attempt),
    }


def history(user: User) -> dict[str, Any]:
    """This person's practice papers, newest first; per standard and KSB, the percentage earned on each submitted one in turn."""
    attempts = list(
        db.session.scalars(select(PracticeAttempt).where(PracticeAttempt.user_id == user.id).order_by(PracticeAttempt.id))
    )
    codes = {a.standard_id: _standard(a).code for a in attempts}
    progress = []
    for standard_id, code in sorted(codes.items(), key=lambda pair: pair[1]):
        submitted = [a for a in attempts if a.standard_id == standard_id and a.submitted_at is not None]
        if submitted:
            progress.append({"standard": code, "attempts": submitted, "by_ksb": rules.progress([_marked(a) for a in submitted])})
    return {
        "attempts": [{"attempt": a, "standard": codes[a.standard_id], "score": mcq_score(a)} for a in reversed(attempts)],
        "progress": progress,
    }

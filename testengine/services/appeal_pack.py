"""The appeal pack: everything an appeal about one attempt needs, gathered once for an admin. Reads only."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from ..domain.errors import DomainError
from ..extensions import db
from ..models import (
    Adjustment,
    Answer,
    Apprentice,
    Attempt,
    AttemptEvent,
    AttemptQuestion,
    Incident,
    Mark,
    MethodResult,
    Question,
    QuestionVersion,
    Sitting,
    Standard,
    User,
)
from .papers import reproduce_paper
from .standing_marks import final_marks


def appeal_pack(attempt: Attempt) -> dict[str, object]:
    """Everything an appeal about one attempt needs, gathered once for an admin.

    The paper is redrawn from its seed and inputs and compared with what was issued; then each
    question as issued (version, options in the order shown), the answer, and every mark with
    its marker and time; the timings, stoppages and browser events; adjustments; the incidents of
    the sitting that name the apprentice; and the results recorded from this attempt.
    """
    apprentice = db.session.get(Apprentice, attempt.apprentice_id)
    standard = db.session.get(Standard, attempt.standard_id)
    assert apprentice is not None and standard is not None
    try:
        reproduced: bool | None = reproduce_paper(attempt)[1]
        reproduce_error = None
    except DomainError as refused:
        reproduced, reproduce_error = None, str(refused)
    except KeyError as missing:  # an attempt recorded without its draw inputs cannot be redrawn, but is still shown
        reproduced, reproduce_error = None, f"the recorded draw inputs lack {missing}"
    marks: dict[int, list[Mark]] = defaultdict(list)
    for mark in db.session.scalars(select(Mark).where(Mark.attempt_id == attempt.id).order_by(Mark.created_at, Mark.id)):
        marks[mark.attempt_question_id].append(mark)
    marker_ids = {m.marker_id for rows in marks.values() for m in rows if m.marker_id is not None}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(marker_ids)))} if marker_ids else {}
    answers = {a.attempt_question_id: a for a in db.session.scalars(select(Answer).where(Answer.attempt_id == attempt.id))}
    final = final_marks(attempt.id)
    questions = []
    for aq, version, question in db.session.execute(
        select(AttemptQuestion, QuestionVersion, Question)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.question_version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(AttemptQuestion.attempt_id == attempt.id)
        .order_by(AttemptQuestion.position)
    ):
        answer = answers.get(aq.id)
        options = version.content.get("options") or []
        order = aq.option_order or list(range(len(options)))
        shown = [{"index": i, "text": options[i]["text"], "correct": bool(options[i].get("correct"))} for i in order]
        chosen = None
        if options and answer is not None and answer.response not in (None, ""):
            chosen = next((o["text"] for o in shown if str(o["index"]) == answer.response), answer.response)
        questions.append(
            {
                "position": aq.position,
                "external_id": question.external_id,
                "version": version.version,
                "type": version.type,
                "ksb": version.ksb,
                "available": aq.marks,
                "stem": version.stem,
                "options": shown,
                "answer": answer,
                "chosen": chosen,
                "final": final.get(aq.id),
                "marks": [
                    {"mark": m, "marker": users[m.marker_id].display_name if m.marker_id in users else "automatic"}
                    for m in marks.get(aq.id, [])
                ],
            }
        )
    sitting = db.session.get(Sitting, attempt.sitting_id) if attempt.sitting_id else None
    incidents = []
    if sitting is not None:
        incidents = [
            i
            for i in db.session.scalars(select(Incident).where(Incident.sitting_id == sitting.id).order_by(Incident.occurred_at))
            if apprentice.id in (i.apprentice_ids or [])
        ]
    results = db.session.scalars(
        select(MethodResult).where(MethodResult.attempt_id == attempt.id).order_by(MethodResult.id)
    ).all()
    return {
        "attempt": attempt,
        "apprentice": apprentice,
        "standard": standard,
        "sitting": sitting,
        "reproduced": reproduced,
        "reproduce_error": reproduce_error,
        "questions": questions,
        "stoppages": list(attempt.stoppages),
        "incidents": incidents,
        "adjustments": db.session.scalars(
            select(Adjustment).where(Adjustment.apprentice_id == apprentice.id).order_by(Adjustment.id)
        ).all(),
        "events": db.session.scalars(
            select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id).order_by(AttemptEvent.at)
        ).all(),
        "results": results,
        "total": attempt.total_marks,
    }

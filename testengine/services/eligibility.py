"""Eligibility for an assessment method: the one check every path that books a sitting, issues a
paper, starts a test or records a method's grade asks (domain.eligibility decides; this reads the
history and records the employer's agreement).

A refusal is an Ineligible error whose `code` names the rule; views turn it into a form error or a
flash, the API into a 409 JSON error, the CLI into `error: ...` and exit 2.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select

from ..domain.attempt_states import AttemptKind, AttemptState
from ..domain.eligibility import Agreement, Eligible, History, Ineligible, PriorResult, decide
from ..domain.errors import DomainError
from ..domain.result_states import ResultStatus
from ..extensions import db
from ..models import Apprentice, Attempt, MethodResult, ResitAgreement, Standard, User
from . import audit
from .banks import spec_of

MAX_CONTACT = 120
MAX_FURTHER_LEARNING = 2000


class AgreementError(DomainError):
    code = "agreement_refused"


def knowledge_test_method(standard: Standard) -> str:
    """The method a paper is issued for (the standard's knowledge test)."""
    test = spec_of(standard).knowledge_test
    if test is None:
        raise DomainError(f"{standard.code} has no knowledge test.", code="no_knowledge_test")
    return test.method


def current_result(apprentice_id: int, standard_id: int, method_key: str) -> MethodResult | None:
    return db.session.scalar(
        select(MethodResult).where(
            MethodResult.apprentice_id == apprentice_id,
            MethodResult.standard_id == standard_id,
            MethodResult.method_key == method_key,
            MethodResult.current.is_(True),
        )
    )


def _pending_attempt(apprentice: Apprentice, standard: Standard, ignore_attempt_id: int | None) -> bool:
    """An attempt started (so its paper was seen) and not abandoned, with no result recorded from it."""
    query = select(Attempt.id).where(
        Attempt.apprentice_id == apprentice.id,
        Attempt.standard_id == standard.id,
        Attempt.started_at.is_not(None),
        Attempt.state != AttemptState.ABANDONED.value,
        ~exists().where(MethodResult.attempt_id == Attempt.id),
    )
    if ignore_attempt_id is not None:
        query = query.where(Attempt.id != ignore_attempt_id)
    return db.session.scalar(query.limit(1)) is not None


def latest_agreement(result: MethodResult) -> ResitAgreement | None:
    return db.session.scalar(
        select(ResitAgreement).where(ResitAgreement.after_result_id == result.id).order_by(ResitAgreement.id.desc()).limit(1)
    )


def history_for(apprentice: Apprentice, standard: Standard, method_key: str, *, ignore_attempt_id: int | None = None) -> History:
    spec = spec_of(standard)
    by_attempts = spec.knowledge_test is not None and spec.knowledge_test.method == method_key
    current = current_result(apprentice.id, standard.id, method_key)
    agreement = latest_agreement(current) if current is not None else None
    return History(
        current=None
        if current is None
        else PriorResult(
            result_id=current.id,
            grade=current.grade,
            released_on=current.released_at.date() if current.status == ResultStatus.RELEASED and current.released_at else None,
        ),
        pending_attempt=by_attempts and _pending_attempt(apprentice, standard, ignore_attempt_id),
        agreement=None
        if agreement is None
        else Agreement(
            after_result_id=agreement.after_result_id,
            employer_contact=agreement.employer_contact,
            agreed_on=agreement.agreed_on,
            further_learning=agreement.further_learning,
        ),
        epa_period_ends=apprentice.epa_period_ends,
    )


def check(
    apprentice: Apprentice,
    standard: Standard,
    method_key: str | None = None,
    *,
    today: dt.date,
    ignore_attempt_id: int | None = None,
) -> Eligible:
    """The kind of attempt this apprentice may make at the method now (the knowledge test if none is
    named); raises Ineligible naming the rule that refuses it."""
    method = method_key or knowledge_test_method(standard)
    return decide(
        spec_of(standard), method, history_for(apprentice, standard, method, ignore_attempt_id=ignore_attempt_id), today=today
    )


def record_agreement(
    apprentice: Apprentice,
    standard: Standard,
    method_key: str,
    *,
    employer_contact: str,
    agreed_on: dt.date,
    further_learning: str | None,
    now: dt.datetime,
    actor: User | None,
) -> ResitAgreement:
    """Record that the employer agreed to a re-sit (or, with the further learning, a re-take) of the failed method.

    The agreement belongs to the failed result in force: a later result needs its own agreement.
    """
    spec = spec_of(standard)
    try:
        method = spec.method(method_key)
    except KeyError:
        raise AgreementError(f"{standard.code} has no method {method_key!r}.", code="unknown_method") from None
    contact = (employer_contact or "").strip()
    if not contact:
        raise AgreementError("Name the person at the employer who agreed.", code="employer_contact_required")
    if len(contact) > MAX_CONTACT:
        raise AgreementError(f"Keep the employer contact to {MAX_CONTACT} characters.", code="employer_contact_too_long")
    learning = (further_learning or "").strip() or None
    if learning is not None and len(learning) > MAX_FURTHER_LEARNING:
        raise AgreementError(f"Keep the further learning to {MAX_FURTHER_LEARNING} characters.", code="further_learning_too_long")
    if agreed_on > now.date():
        raise AgreementError("The date of the agreement cannot be in the future.", code="future_date")
    result = current_result(apprentice.id, standard.id, method_key)
    if result is None:
        raise AgreementError(f"{method.name} has no result yet: there is nothing to re-sit.", code="no_failed_result")
    if result.grade != method.grades[0]:
        raise Ineligible(
            "already_passed", f"{method.name} was graded {result.grade}: a method already passed cannot be sat again."
        )
    agreement = ResitAgreement(
        apprentice_id=apprentice.id,
        standard_id=standard.id,
        method_key=method_key,
        after_result_id=result.id,
        employer_contact=contact,
        agreed_on=agreed_on,
        further_learning=learning,
        recorded_by_id=actor.id if actor else None,
        recorded_at=now,
    )
    db.session.add(agreement)
    db.session.flush()
    audit.record(
        actor,
        "resit.agreement",
        agreement,
        after={
            "candidate": apprentice.candidate_number,
            "standard": standard.code,
            "method": method_key,
            "after_result": result.id,
            "employer_contact": contact,
            "agreed_on": agreed_on.isoformat(),
            "kind": (AttemptKind.RETAKE if learning else AttemptKind.RESIT).value,
        },
    )
    return agreement


def agreements(apprentice: Apprentice, standard: Standard) -> list[ResitAgreement]:
    return list(
        db.session.scalars(
            select(ResitAgreement)
            .where(ResitAgreement.apprentice_id == apprentice.id, ResitAgreement.standard_id == standard.id)
            .order_by(ResitAgreement.id)
        )
    )


__all__ = ["AgreementError", "Ineligible", "agreements", "check", "history_for", "knowledge_test_method", "record_agreement"]

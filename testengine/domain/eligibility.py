"""Who may sit an assessment method, and as what: a first attempt, a re-sit or a re-take.

The kind of an attempt is never chosen by hand: it follows from the apprentice's history. No
result yet: a first attempt. A failed method whose outcome has been released, with the employer's
agreement recorded after it, inside the standard's window: a re-sit, or a re-take when the
further learning is recorded with the agreement. Anything else is refused, and the refusal names
its rule (a stable `code`) so the page, the API and the CLI can all say which rule it was.

The standards' differences (which methods may be re-sat, the window, the cap) are their specs'
data (StandardSpec.resit); nothing here names a standard.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from testengine.domain.attempt_states import AttemptKind
from testengine.domain.errors import DomainError
from testengine.domain.grading import resit_last_day
from testengine.domain.standards import StandardSpec

__all__ = ["RULES", "Agreement", "AttemptKind", "Eligible", "History", "Ineligible", "PriorResult", "decide"]


# Every rule that can refuse, by its stable code: what it means, for people reading a refusal.
RULES: dict[str, str] = {
    "unknown_method": "the standard has no such assessment method",
    "result_pending": "an attempt already sat is still waiting for its result",
    "already_passed": "a method already passed cannot be sat again (not even to move from pass to distinction)",
    "outcome_not_released": "a re-sit or re-take follows the released outcome of the failed method",
    "employer_agreement_required": "a re-sit or re-take needs the employer's agreement, recorded with who and when",
    "epa_period_end_required": "the re-sit must fall inside the EPA period, so its end date must be recorded",
    "resit_window_closed": "the standard's window for re-sits and re-takes has closed",
}


class Ineligible(DomainError):
    """A refusal by one named rule: `code` is a key of RULES."""

    code = "ineligible"

    def __init__(self, code: str, message: str) -> None:
        assert code in RULES, code
        super().__init__(f"{message} (rule: {code})", code=code)

    @property
    def rule(self) -> str:
        return self.code


@dataclass(frozen=True)
class PriorResult:
    """The method's result in force: its grade (after any cap) and when its outcome was released."""

    result_id: int
    grade: str
    released_on: dt.date | None  # None while provisional or signed off


@dataclass(frozen=True)
class Agreement:
    """The employer's agreement to a re-sit or re-take of the failed result `after_result_id`."""

    after_result_id: int
    employer_contact: str
    agreed_on: dt.date
    further_learning: str | None  # recorded further learning makes it a re-take


@dataclass(frozen=True)
class History:
    """What the rules read of one apprentice's history for one method."""

    current: PriorResult | None
    pending_attempt: bool  # an attempt sat (started) with no result recorded yet
    agreement: Agreement | None  # the latest agreement recorded for `current`, if any
    epa_period_ends: dt.date | None


@dataclass(frozen=True)
class Eligible:
    kind: AttemptKind
    grade_cap: str | None  # the grade the method counts at most, for a re-sit or re-take
    last_day: dt.date | None  # the window's last day, for a re-sit or re-take


def decide(spec: StandardSpec, method_key: str, history: History, *, today: dt.date) -> Eligible:
    """Whether the apprentice may sit `method_key` now and as what kind of attempt; Ineligible if not.

    The rules, in the order they are asked: the method exists; nothing sat is still waiting for
    its result; no result yet means a first attempt; a result that is not a fail (where the
    standard re-sits failed methods only) cannot be sat again; a failed outcome must be released,
    the employer's agreement recorded after it, and today inside the standard's window.
    """
    try:
        method = spec.method(method_key)
    except KeyError:
        raise Ineligible("unknown_method", f"{spec.code} has no method {method_key!r}.") from None
    if history.pending_attempt:
        raise Ineligible(
            "result_pending",
            f"{method.name}: an attempt already sat is waiting for its result; it cannot be sat again meanwhile.",
        )
    current = history.current
    if current is None:
        return Eligible(AttemptKind.FIRST, grade_cap=None, last_day=None)
    failing = method.grades[0]
    if current.grade != failing and (spec.resit.failed_methods_only or current.grade == method.grades[-1]):
        raise Ineligible(
            "already_passed",
            f"{method.name} was graded {current.grade}: a method already passed cannot be sat again. "
            "Re-sits and re-takes are not offered to move from pass to distinction.",
        )
    if current.released_on is None or today < current.released_on:
        raise Ineligible(
            "outcome_not_released",
            f"{method.name}: the {current.grade} result had not been released by {today.isoformat()}; "
            "a re-sit or re-take follows its outcome.",
        )
    agreement = history.agreement
    if agreement is None or agreement.after_result_id != current.result_id:
        raise Ineligible(
            "employer_agreement_required",
            f"{method.name}: a re-sit or re-take needs the employer's agreement; record who agreed and when.",
        )
    try:
        last_day = resit_last_day(spec, outcome_on=current.released_on, epa_period_ends=history.epa_period_ends)
    except DomainError as missing:
        if missing.code != "epa_period_end_required":
            raise
        raise Ineligible(
            "epa_period_end_required",
            f"{spec.code}: re-sits and re-takes must be inside the EPA period; record the date it ends.",
        ) from None
    if today > last_day:
        if spec.resit.window == "epa_period":
            reason = f"the EPA period ended on {last_day.isoformat()}"
        else:
            reason = (
                f"the {spec.resit.window_months}-month window from the outcome on "
                f"{current.released_on.isoformat()} closed on {last_day.isoformat()}"
            )
        raise Ineligible(
            "resit_window_closed", f"{spec.code}: too late to re-sit or re-take: {reason}; the whole EPA must be taken again."
        )
    kind = AttemptKind.RETAKE if agreement.further_learning else AttemptKind.RESIT
    return Eligible(kind, grade_cap=spec.resit.grade_cap, last_day=last_day)

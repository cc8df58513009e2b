"""The status of a method or overall result, and the only moves between them.

provisional -> signed_off (an admin confirms the grade) -> released (the apprentice sees it).
Nothing leaves RELEASED: a released grade is changed by recording a new result through an
appeal or a re-mark (services.results.change_after_release), never by moving the old one back.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from testengine.domain.errors import IllegalTransition

__all__ = ["TRANSITIONS", "ResultAction", "ResultStatus", "next_status"]


class ResultStatus(StrEnum):
    PROVISIONAL = "provisional"
    SIGNED_OFF = "signed_off"
    RELEASED = "released"


class ResultAction(StrEnum):
    SIGN_OFF = "sign_off"
    RELEASE = "release"


TRANSITIONS: Mapping[ResultStatus, Mapping[ResultAction, ResultStatus]] = MappingProxyType(
    {
        ResultStatus.PROVISIONAL: MappingProxyType({ResultAction.SIGN_OFF: ResultStatus.SIGNED_OFF}),
        ResultStatus.SIGNED_OFF: MappingProxyType({ResultAction.RELEASE: ResultStatus.RELEASED}),
        ResultStatus.RELEASED: MappingProxyType({}),
    }
)

_DONE = {ResultAction.SIGN_OFF: "signed off", ResultAction.RELEASE: "released"}


def next_status(status: ResultStatus | str, action: ResultAction | str) -> ResultStatus:
    """The status after `action`; IllegalTransition (worded for the admin) for any other move."""
    try:
        current = ResultStatus(status)
    except ValueError:
        raise IllegalTransition(f"unknown result status {status!r}") from None
    try:
        verb = ResultAction(action)
    except ValueError:
        raise IllegalTransition(f"unknown result action {action!r}") from None
    target = TRANSITIONS[current].get(verb)
    if target is None:
        raise IllegalTransition(f"A {current.value.replace('_', ' ')} result cannot be {_DONE[verb]}.")
    return target

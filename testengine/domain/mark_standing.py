"""Which mark stands for one answer, given the latest mark of each marking role.

One rule, in two forms: `standing_mark` for one answer (marking progress, results, the appeal
pack) and `standing_marks_array` for many at once (item statistics over a year of responses).
A property test keeps the two forms equal on any input.

The rule, highest first:
1. A re-mark (after results, on appeal) stands over everything.
2. An automatic mark (a multiple-choice answer) stands unless re-marked. Markers never mark an
   automatically marked answer, so no human mark competes with it; if one were written anyway,
   the automatic mark still decides, as the answer key is the marking guide of an MCQ.
3. A moderator's mark stands over the first and second markers', whatever they gave.
4. A first mark stands when nobody checked it (not sampled for second marking) or when the
   second marker agreed. First and second marks that differ are never averaged: nothing stands
   until a moderator decides (`awaits_moderator`).
5. Otherwise nothing stands yet: no mark at all, or a second mark with no first mark to check.

Marks are never negative; a negative mark is refused rather than silently ranked.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from testengine.domain.errors import DomainError, OutOfRange

__all__ = ["MarkRole", "awaits_moderator", "standing_mark", "standing_marks_array"]


class MarkRole(StrEnum):
    """Who gave a mark, as stored in Mark.role."""

    AUTO = "auto"  # the answer key, at submission (multiple choice)
    FIRST = "first"
    SECOND = "second"  # a check of the first mark, on a sample and near grade boundaries
    MODERATOR = "moderator"  # resolves a first/second disagreement
    REMARK = "remark"  # after results are released, through an appeal or a re-mark


def _refuse_negative(*marks: int | None) -> None:
    if any(m is not None and m < 0 for m in marks):
        raise OutOfRange("marks cannot be negative")


def standing_mark(
    *,
    auto: int | None = None,
    first: int | None = None,
    second: int | None = None,
    moderator: int | None = None,
    remark: int | None = None,
) -> int | None:
    """The mark that stands for one answer (None while nothing stands yet); see the module rule.

    Each argument is that role's latest mark, None when the role has not marked the answer. The
    names are MarkRole's values, so `standing_mark(**latest_by_role)` reads a stored answer.
    """
    _refuse_negative(auto, first, second, moderator, remark)
    if remark is not None:
        return remark
    if auto is not None:
        return auto
    if moderator is not None:
        return moderator
    if first is not None and (second is None or second == first):
        return first
    return None


def awaits_moderator(
    *,
    auto: int | None = None,
    first: int | None = None,
    second: int | None = None,
    moderator: int | None = None,
    remark: int | None = None,
) -> bool:
    """Whether the answer waits for a moderator: first and second marks differ and nothing
    above them (a re-mark, an automatic or a moderator's mark) has decided it."""
    marks = {"auto": auto, "first": first, "second": second, "moderator": moderator, "remark": remark}
    return first is not None and second is not None and standing_mark(**marks) is None


def standing_marks_array(
    *,
    auto: npt.ArrayLike,
    first: npt.ArrayLike,
    second: npt.ArrayLike,
    moderator: npt.ArrayLike,
    remark: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """`standing_mark` for many answers at once: one entry per answer in each role's array.

    NaN in an input stands for None (that role has not marked the answer); NaN in the result for
    an answer on which nothing stands yet. Element by element the same as `standing_mark`,
    including the refusal of negative marks.
    """
    a, f, s, m, r = (np.asarray(x, dtype=np.float64) for x in (auto, first, second, moderator, remark))
    if f.ndim != 1 or any(x.shape != f.shape for x in (a, s, m, r)):
        raise DomainError("every role needs one entry per answer")
    if any(bool((x < 0).any()) for x in (a, f, s, m, r)):  # NaN (not given) compares False
        raise OutOfRange("marks cannot be negative")
    checked = ~np.isnan(f) & (np.isnan(s) | (s == f))
    final = np.where(checked, f, np.nan)
    # Lowest rank first, so each higher role overwrites what a lower one gave.
    for higher in (m, a, r):
        final = np.where(np.isnan(higher), final, higher)
    return final

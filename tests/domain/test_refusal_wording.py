"""The words of each refusal by the state tables, the mark-standing rule and the display settings.

An invigilator, marker or admin reads these messages on the page (and the API returns them), so
each refused move says which state and which move, in words, and every error keeps its stable code.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from testengine.domain import display
from testengine.domain.errors import DomainError, IllegalTransition, OutOfRange
from testengine.domain.mark_standing import standing_mark, standing_marks_array
from testengine.domain.marking_states import next_marking_state, next_sample_status
from testengine.domain.result_states import next_status
from testengine.domain.sitting_states import next_booking_status, next_sitting_state


def _refused(move: object, *args: str) -> IllegalTransition:
    with pytest.raises(IllegalTransition) as refused:
        move(*args)  # type: ignore[operator]
    assert refused.value.code == "illegal_transition"
    return refused.value


@pytest.mark.parametrize(
    ("move", "args", "message"),
    [
        (next_sitting_state, ("closed", "close"), "a closed sitting cannot take event 'close'"),
        (next_sitting_state, ("closed", "confirm_venue"), "a closed sitting cannot take event 'confirm_venue'"),
        (next_sitting_state, ("ended", "close"), "unknown sitting state or event: 'ended' is not a valid SittingState"),
        (next_sitting_state, ("open", "reopen"), "unknown sitting state or event: 'reopen' is not a valid SittingEvent"),
        (next_booking_status, ("checked_in", "mark_absent"), "a booking checked in cannot take event 'mark_absent'"),
        (next_booking_status, ("late", "check_in"), "unknown booking status or event: 'late' is not a valid BookingStatus"),
        (next_booking_status, ("booked", "cancel"), "unknown booking status or event: 'cancel' is not a valid BookingEvent"),
        (next_status, ("provisional", "release"), "A provisional result cannot be released."),
        (next_status, ("signed_off", "sign_off"), "A signed off result cannot be signed off."),
        (next_status, ("released", "release"), "A released result cannot be released."),
        (next_status, ("final", "release"), "unknown result status 'final'"),
        (next_status, ("released", "withdraw"), "unknown result action 'withdraw'"),
        (next_marking_state, ("complete", "marking"), "a script complete cannot become marking"),
        (next_marking_state, ("marking", "unmarked"), "a script marking cannot become unmarked"),
        (next_sample_status, ("not_selected", "selected"), "a decision not_selected cannot become selected"),
        (next_sample_status, ("selected", "waiting"), "a decision selected cannot become waiting"),
    ],
)
def test_a_refused_move_names_the_state_and_the_move(move: object, args: tuple[str, str], message: str) -> None:
    assert str(_refused(move, *args)) == message


@pytest.mark.parametrize("role", ["auto", "first", "second", "moderator", "remark"])
def test_a_negative_mark_from_any_role_is_refused_with_its_reason(role: str) -> None:
    with pytest.raises(OutOfRange, match=r"^marks cannot be negative$") as refused:
        standing_mark(**{role: -1})
    assert refused.value.code == "out_of_range"
    standing_mark(**{role: 0})  # nought is a mark, not a refusal


def test_the_array_form_gives_the_same_reasons() -> None:
    nan = np.nan
    with pytest.raises(OutOfRange, match=r"^marks cannot be negative$"):
        standing_marks_array(auto=[nan], first=[-1], second=[nan], moderator=[nan], remark=[nan])
    with pytest.raises(DomainError, match=r"^every role needs one entry per answer$") as refused:
        standing_marks_array(auto=[nan], first=[1, 2], second=[nan], moderator=[nan], remark=[nan])
    assert refused.value.code == "domain_error"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"zoom": "400", "aa": "x"}, "aa", "aa: not a display setting."),
        ({"zoom": "400"}, "zoom", "zoom: not a display setting."),
        (
            {"font": "comic"},
            "font",
            "Font: choose one of Standard, OpenDyslexic (dyslexia-friendly).",
        ),
        (
            {"letter_spacing": 1},
            "letter_spacing",
            "Letter spacing: choose one of Standard, Wider (0.12 times the text size).",
        ),
    ],
)
def test_a_display_refusal_names_the_field_and_the_choices(values: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(display.DisplayError, match=f"^{re.escape(message)}$") as refused:
        display.parse(values)
    assert refused.value.field == field and refused.value.code == "invalid_display"


def test_blank_display_values_keep_the_standard_and_later_fields_are_still_read() -> None:
    assert display.parse({"background": "", "text_size": None, "font": "dyslexic"}) == display.DisplaySettings(font="dyslexic")
    assert display.parse(None) == display.DisplaySettings()
    assert display.parse({}).as_dict() == {
        "background": "standard",
        "text_size": "100",
        "line_spacing": "standard",
        "letter_spacing": "standard",
        "font": "standard",
    }


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (set(), display.DisplaySettings()),
        ({"high_contrast"}, display.DisplaySettings(background="dark")),
        ({"large_text"}, display.DisplaySettings(text_size="150")),
        ({"coloured_overlay"}, display.DisplaySettings()),
    ],
)
def test_each_older_preset_sets_only_its_own_setting(kinds: set[str], expected: display.DisplaySettings) -> None:
    assert display.from_adjustments(kinds) == expected


def test_stored_choices_replace_only_the_fields_they_name() -> None:
    base = display.DisplaySettings(background="dark", text_size="150")
    assert display.merge(base, {}) == base
    assert display.merge(base, {"text_size": "200"}) == display.DisplaySettings(background="dark", text_size="200")
    with pytest.raises(display.DisplayError):
        display.merge(base, {"background": "purple"})


@pytest.mark.parametrize(
    ("settings", "classes"),
    [
        (display.DisplaySettings(background="cream"), ["bg-cream"]),
        (display.DisplaySettings(text_size="125"), ["text-125"]),
        (display.DisplaySettings(line_spacing="wide"), ["lines-wide"]),
        (display.DisplaySettings(letter_spacing="wide"), ["letters-wide"]),
        (display.DisplaySettings(font="dyslexic"), ["font-dyslexic"]),
    ],
)
def test_one_changed_setting_adds_exactly_its_class(settings: display.DisplaySettings, classes: list[str]) -> None:
    assert display.display_classes(settings) == classes

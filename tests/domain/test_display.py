"""Display settings: only values from their lists, the older presets as starting points, one class per change."""

from __future__ import annotations

import pytest

from testengine.domain import display


def test_values_off_their_lists_are_refused_naming_the_field():
    with pytest.raises(display.DisplayError) as refused:
        display.parse({"background": "purple"})
    assert refused.value.field == "background" and str(refused.value).startswith("Background colour: choose one of")
    with pytest.raises(display.DisplayError) as unknown:
        display.parse({"zoom": "400"})
    assert unknown.value.field == "zoom"
    with pytest.raises(display.DisplayError):
        display.parse({"text_size": 200})  # a number, not one of the listed strings


def test_the_presets_become_settings_and_stored_choices_win():
    assert display.from_adjustments({"large_text", "high_contrast"}) == display.DisplaySettings(
        background="dark", text_size="150"
    )
    base = display.from_adjustments({"large_text"})
    assert display.merge(base, {"font": "dyslexic"}) == display.DisplaySettings(text_size="150", font="dyslexic")
    assert display.merge(base, None) == base


def test_each_setting_other_than_standard_is_one_class():
    assert display.display_classes(display.DisplaySettings()) == []
    every = display.DisplaySettings(
        background="pink", text_size="200", line_spacing="widest", letter_spacing="wide", font="dyslexic"
    )
    assert display.display_classes(every) == ["bg-pink", "text-200", "lines-widest", "letters-wide", "font-dyslexic"]
    assert display.parse(every.as_dict()) == every

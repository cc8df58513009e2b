"""Display settings for the sitting page: colours, text size, spacing and font, chosen from fixed lists.

They change how the test looks, never what it asks or how it is marked. The page turns each setting
into a class on its root (`display_classes`); the style sheet does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from .errors import DomainError

BACKGROUNDS: dict[str, str] = {
    "standard": "Standard (white)",
    "cream": "Cream",
    "yellow": "Yellow",
    "blue": "Blue",
    "green": "Green",
    "pink": "Pink",
    "dark": "Dark (light text on black)",
}
TEXT_SIZES: dict[str, str] = {
    "100": "Standard (100%)",
    "125": "Larger (125%)",
    "150": "Large (150%)",
    "175": "Larger still (175%)",
    "200": "Largest (200%)",
}
LINE_SPACINGS: dict[str, str] = {
    "standard": "Standard",
    "wide": "Wider (1.8 times the text size)",
    "widest": "Widest (2.2 times the text size)",
}
LETTER_SPACINGS: dict[str, str] = {"standard": "Standard", "wide": "Wider (0.12 times the text size)"}
FONTS: dict[str, str] = {"standard": "Standard", "dyslexic": "OpenDyslexic (dyslexia-friendly)"}

FIELDS: dict[str, dict[str, str]] = {
    "background": BACKGROUNDS,
    "text_size": TEXT_SIZES,
    "line_spacing": LINE_SPACINGS,
    "letter_spacing": LETTER_SPACINGS,
    "font": FONTS,
}
FIELD_LABELS: dict[str, str] = {
    "background": "Background colour",
    "text_size": "Text size",
    "line_spacing": "Line spacing",
    "letter_spacing": "Letter spacing",
    "font": "Font",
}


class DisplayError(DomainError):
    code = "invalid_display"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DisplaySettings:
    background: str = "standard"
    text_size: str = "100"
    line_spacing: str = "standard"
    letter_spacing: str = "standard"
    font: str = "standard"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def parse(values: Mapping[str, object] | None) -> DisplaySettings:
    """Settings from a dict (a form, the attempt's stored JSON); a value not on its list is refused, naming the field."""
    values = values or {}
    unknown = set(values) - set(FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise DisplayError(f"{field}: not a display setting.", field=field)
    chosen: dict[str, str] = {}
    for field, allowed in FIELDS.items():
        value = values.get(field)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or value not in allowed:
            raise DisplayError(f"{FIELD_LABELS[field]}: choose one of {', '.join(allowed.values())}.", field=field)
        chosen[field] = value
    return DisplaySettings(**chosen)


def from_adjustments(kinds: set[str]) -> DisplaySettings:
    """The starting point from an apprentice's display adjustments: the older presets map onto the settings."""
    return DisplaySettings(
        background="dark" if "high_contrast" in kinds else "standard",
        text_size="150" if "large_text" in kinds else "100",
    )


def merge(base: DisplaySettings, stored: dict[str, object] | None) -> DisplaySettings:
    """Stored choices (an adjustment's or the attempt's) over a base; unknown or missing values keep the base."""
    if not stored:
        return base
    values = base.as_dict()
    values.update({k: v for k, v in parse(stored).as_dict().items() if k in stored})
    return DisplaySettings(**values)


def display_classes(settings: DisplaySettings) -> list[str]:
    """Classes for the page's root; the standard value of each setting adds none."""
    classes = []
    if settings.background != "standard":
        classes.append(f"bg-{settings.background}")
    if settings.text_size != "100":
        classes.append(f"text-{settings.text_size}")
    if settings.line_spacing != "standard":
        classes.append(f"lines-{settings.line_spacing}")
    if settings.letter_spacing != "standard":
        classes.append(f"letters-{settings.letter_spacing}")
    if settings.font != "standard":
        classes.append(f"font-{settings.font}")
    return classes

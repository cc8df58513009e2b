"""Display settings for an attempt: the apprentice's choice at the start, from their adjustments by default."""

from __future__ import annotations

import datetime as dt

from ..domain import display as rules
from ..models import Apprentice, Attempt
from .sittings import in_force_adjustments


def defaults_for(apprentice: Apprentice, today: dt.date) -> rules.DisplaySettings:
    """What the start page offers first: the presets (large text, high contrast), then any display adjustment's settings."""
    adjustments = in_force_adjustments(apprentice, today)
    settings = rules.from_adjustments({a.kind for a in adjustments})
    for adjustment in adjustments:
        if adjustment.kind == "display" and adjustment.display:
            settings = rules.merge(settings, adjustment.display)
    return settings


def settings_for(attempt: Attempt, apprentice: Apprentice, today: dt.date) -> rules.DisplaySettings:
    """The settings the sitting page shows: those kept on the attempt, or the apprentice's defaults."""
    if attempt.display_settings:
        return rules.merge(rules.DisplaySettings(), attempt.display_settings)
    return defaults_for(apprentice, today)


def keep(attempt: Attempt, settings: rules.DisplaySettings) -> None:
    """Keep the chosen settings for the whole attempt (a reload, another computer: the same display)."""
    attempt.display_settings = settings.as_dict()

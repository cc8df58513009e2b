"""The options of a select or radio field, in the form WTForms keeps (its tuples are deprecated in 3.3, gone in 3.4)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms' SelectChoice, in the order given."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]

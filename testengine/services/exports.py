"""CSV that is safe to open in a spreadsheet: no cell is ever read as a formula."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: Any) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula (OWASP CSV injection advice)."""
    text = "" if value is None else str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return text
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def safe_csv_row(values: Iterable[Any]) -> list[str]:
    return [safe_cell(v) for v in values]

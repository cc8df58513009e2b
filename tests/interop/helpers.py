"""Helpers for the conversion tests: the shipped ST0663 spec, a fixed date, reading what was written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from testengine.interop import Conversion, convert

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SPEC = REPO / "question_banks" / "ST0663" / "spec.yaml"
TODAY = dt.date(2026, 12, 1)


def run(fmt: str, source: Path, out: Path, **options: Any) -> Conversion:
    """Convert a fixture (or any path) into `out` for ST0663 on TODAY."""
    return convert(fmt, source, spec_path=SPEC, out=out, today=TODAY, **options)


def written(out: Path) -> dict[str, dict[str, Any]]:
    """Every question written under out/questions, by id."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((out / "questions").glob("*.yaml")):
        for question in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]:
            found[question["id"]] = question
    return found

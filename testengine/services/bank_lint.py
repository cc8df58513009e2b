"""The item linter over a bank as stored: what reviewers see beside each item.

The stored bank has no files, so a finding names the question and the part of it (stem,
options[2].text, guide.one_mark) instead of a line. A report is kept per bank until a question's
content or status changes, so the review queue does not lint every bank on every page view.
"""

from __future__ import annotations

import json
from typing import Any

from ..banks.lint import Finding, LintReport, lint_questions
from ..banks.questions import BankQuestion
from ..banks.yaml_lines import YamlPath
from ..models import Standard
from .banks import current_bank_questions, spec_of

_cache: dict[int, tuple[Any, LintReport]] = {}


def _part(path: YamlPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _locate(question: BankQuestion, path: YamlPath) -> tuple[str, int]:
    where = _part(path)
    return (f"{question.id} {where}" if where else question.id), 0


def bank_lint(standard: Standard) -> LintReport:
    """The linter's report over the standard's current questions.

    Kept per bank and keyed by what the linter reads (each question's fingerprint and status,
    and the spec), so it is recomputed exactly when the bank changes and never served stale.
    """
    questions = current_bank_questions(standard)
    key = (
        tuple((q.id, q.status, q.fingerprint()) for q in questions),
        json.dumps(standard.spec, sort_keys=True, default=str),
    )
    cached = _cache.get(standard.id)
    if cached is not None and cached[0] == key:
        return cached[1]
    report = lint_questions(
        questions,
        spec_of(standard).quality,
        locate=_locate,
        bank_location=(f"{standard.code} bank", 0),
    )
    _cache[standard.id] = (key, report)
    return report


def findings_by_item(standards: list[Standard]) -> dict[str, list[Finding]]:
    """Question external id -> its findings, over the given banks (bank-wide ones left out)."""
    out: dict[str, list[Finding]] = {}
    for standard in standards:
        for finding in bank_lint(standard).findings:
            if finding.item != "bank":
                out.setdefault(finding.item, []).append(finding)
    return out

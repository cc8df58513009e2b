"""The spec's cross-field rules not covered by the broken-file corpus, as a table over edits."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testengine.banks import BankValidationError, parse_spec
from testengine.banks.yaml_lines import load_yaml

SPEC = Path(__file__).resolve().parent / "valid_minimal" / "spec.yaml"
Edit = Callable[[dict[str, Any]], None]


def _spec() -> dict[str, Any]:
    data = load_yaml(SPEC.read_text(encoding="utf-8")).data
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def _set(path: str, value: object) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = data
        for part in parents:
            target = target[part]
        target[last] = value

    return edit


def _no_knowledge_test(data: dict[str, Any]) -> None:
    data["knowledge_test"] = None
    data["ksbs"] = {}


@pytest.mark.parametrize(
    ("edit", "where", "fragment"),
    [
        (
            _set("knowledge_test.boundaries.1", {"grade": "pass", "min": 4, "max": 3}),
            "knowledge_test.boundaries[1]",
            "is above max",
        ),
        (
            _set("knowledge_test.boundaries.1.grade", "merit"),
            "knowledge_test.boundaries[1].grade",
            "not a grade of the method",
        ),
        (
            _set("knowledge_test.boundaries.2.grade", "pass"),
            "knowledge_test.boundaries[2].grade",
            "has two boundaries",
        ),
        (_set("knowledge_test.ksbs", ["K1", "K2", "K1"]), "knowledge_test.ksbs[2]", "listed twice"),
        (_set("knowledge_test.questions", {}), "knowledge_test.questions", "at least 1"),
        (
            _set("overall.rules.1", {"grade": "distinction"}),
            "overall.rules[1]",
            "rules after it never apply",
        ),
        (_set("overall.rules.1.when", {}), "overall.rules[1].when", "names no condition"),
        (
            _set("overall.rules.1.when", {"at_least": {"distinction": 0}}),
            "overall.rules[1].when.at_least.distinction",
            "at least 1",
        ),
        (_set("overall.grades", ["fail", "pass", "merit", "distinction"]), "", None),
        (
            _set("overall.rules.1.when", {"any": "merit"}),
            "overall.rules[1].when.any",
            "not in overall.grades",
        ),
        (_set("methods.1.key", "knowledge_test"), "methods[1].key", "duplicate method key"),
        (_set("methods.1.min_questions", 5), "methods[1].max_questions", "less than min_questions"),
        (
            _set("methods.0.grades", ["fail", "pass", "pass"]),
            "methods[0].grades",
            "names a grade twice",
        ),
        (
            _set("resit.window", "epa_period"),
            "resit.window_months",
            "only applies to months_from_outcome",
        ),
        (_set("resit.window_months", 0), "resit.window_months", "at least 1"),
        (_set("resit.grade_cap", None), "", None),
        (_set("level", 9), "level", "at most 8"),
        (_set("standard", "st9001"), "standard", "not a valid standard code"),
        (_set("ksbs", {"k1": "Lower case"}), "ksbs.k1", "not a valid KSB code"),
        (_set("practice", "no"), "practice", "should be true or false"),
        (_set("title", "A <b>bold</b> title"), "title", "markup"),
        (_no_knowledge_test, "", None),
    ],
)
def test_spec_rule(edit: Edit, where: str, fragment: str | None) -> None:
    data = _spec()
    edit(data)
    if fragment is None:
        parse_spec(data, "spec.yaml")
        return
    with pytest.raises(BankValidationError) as raised:
        parse_spec(data, "spec.yaml")
    messages = [p.message for p in raised.value.problems]
    assert any(m.startswith(f"{where}: ") and fragment in m for m in messages), messages


def test_a_condition_on_a_grade_no_method_gives_is_refused() -> None:
    data = _spec()
    data["overall"]["grades"] = ["fail", "pass", "merit", "distinction"]
    data["overall"]["rules"][1]["when"] = {"at_least": {"merit": 1}}
    with pytest.raises(BankValidationError) as raised:
        parse_spec(data, "spec.yaml")
    assert [p.message for p in raised.value.problems] == [
        "overall.rules[1].when.at_least.merit: no method can be graded 'merit', so this condition never holds"
    ]


def test_every_spec_problem_is_reported_together() -> None:
    data = _spec()
    data["invigilation"]["ratio"] = 0
    data["resit"]["window"] = "soon"
    data["knowledge_test"]["total_marks"] = 7
    del data["title"]
    with pytest.raises(BankValidationError) as raised:
        parse_spec(data, "spec.yaml")
    assert len(raised.value.problems) == 5  # the total also no longer matches the boundaries

"""What each question type says about bad content, word for word and at which field.

A bank author reads these messages (with the file and line the loader adds) to fix a question, so
the wording, the path to the field and the kind of value found are part of the rule. Each case
gives one fault and expects exactly the issues it should raise: no fewer (a fault slipped
through) and no more (one typo reported twice).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from testengine.domain.errors import DomainError
from testengine.domain.question_types import (
    NOTE,
    OPTION_TEXT,
    ContentIssue,
    describe,
    get_type,
    plain_text_problem,
    response_problem,
)

GUIDE: dict[str, Any] = {
    "indicative_content": ["A point."],
    "two_marks": "Both points.",
    "one_mark": "One point.",
    "zero_marks": "Neither.",
}
ASSESSOR: dict[str, Any] = {
    "method": "observation",
    "pass_shows": ["Explains the check."],
    "distinction_shows": ["Justifies the check."],
}


def _options(*texts: object, correct: int | None = 0) -> list[object]:
    return [{"text": t, "correct": i == correct} if isinstance(t, str) else t for i, t in enumerate(texts)]


def _issues(key: str, raw: dict[str, Any]) -> list[ContentIssue]:
    content, issues = get_type(key).read_content(raw)
    assert (content is None) == bool(issues)
    return issues


def test_describe_names_each_kind_of_value_a_yaml_file_can_hold() -> None:
    assert describe(None) == "empty (null)"
    assert describe(True) == "true/false (True)"
    assert describe(5) == "a number (5)"
    assert describe(2.5) == "a number (2.5)"
    assert describe("x") == "text"
    assert describe([1]) == "a list"
    assert describe({"a": 1}) == "a mapping"
    assert describe(dt.date(2026, 1, 2)) == "a date (2026-01-02)"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("   ", "is empty"),
        ("see <b>bold words here</b>", "contains markup ('<b>bold word'); use plain text, no HTML"),
        ("go to javascript: now", "contains a script address (javascript:); use plain text"),
        ("fish &amp; chips", "contains an HTML entity ('&amp;'); write the character itself"),
    ],
)
def test_plain_text_problems_are_worded_for_the_author(text: str, problem: str) -> None:
    assert plain_text_problem(text, NOTE) == problem


def test_the_markup_excerpt_is_the_first_twelve_characters_of_the_tag() -> None:
    assert plain_text_problem("x <abcdefghijklmnop", OPTION_TEXT) == "contains markup ('<abcdefghijk'); use plain text, no HTML"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, [ContentIssue((), "missing field 'options' (an mcq has 4 options)")]),
        ({"options": "A, B, C, D"}, [ContentIssue(("options",), "should be a list of 4 options, not text")]),
        (
            {"options": _options("A", "B", "C", 7)},
            [ContentIssue(("options", 3), "should be a mapping (key: value), not a number (7)")],
        ),
        (
            {"options": _options("A", "B", "C", ["D"])},
            [ContentIssue(("options", 3), "should be a mapping (key: value), not a list")],
        ),
        (
            {"options": [*_options("A", "B", "C"), {"text": "D", "colour": "red"}]},
            [ContentIssue(("options", 3, "colour"), "unknown field 'colour' (expected text, correct, rationale)")],
        ),
        (
            {"options": [*_options("A", "B", "C"), {"text": 12}]},
            [ContentIssue(("options", 3, "text"), "should be text, not a number (12); put it in quotes")],
        ),
        (
            {"options": [*_options("A", "B", "C"), {"text": None}]},
            [ContentIssue(("options", 3, "text"), "should be text, not empty (null)")],
        ),
        (
            {"options": [*_options("A", "B", "C"), {"text": True}]},
            [ContentIssue(("options", 3, "text"), "should be text, not true/false (True); put it in quotes")],
        ),
        (
            {"options": [*_options("A", "B", "C"), {"text": dt.date(2026, 1, 2)}]},
            [ContentIssue(("options", 3, "text"), "should be text, not a date (2026-01-02); put it in quotes")],
        ),
        (
            {"options": [*_options("A", "B", "C"), {"text": ["D"]}]},
            [ContentIssue(("options", 3, "text"), "should be text, not a list")],
        ),
        (
            {"options": [*_options("A", "B", "C"), {"text": "D", "correct": "yes"}]},
            [ContentIssue(("options", 3, "correct"), "should be true or false, not text")],
        ),
        (
            {"options": [*_options("A", "B", "C"), {"text": "D", "rationale": ""}]},
            [ContentIssue(("options", 3, "rationale"), "is empty")],
        ),
        (
            {"options": _options("A", "B", "C", "D", correct=None)},
            [ContentIssue(("options",), "an mcq has exactly 1 option with 'correct: true', not 0")],
        ),
        (
            {"options": [*_options("A", "B", "C"), {"text": "D", "correct": True}]},
            [ContentIssue(("options",), "an mcq has exactly 1 option with 'correct: true', not 2")],
        ),
        (
            {"options": _options("Keep a record", "B", " keep  a RECORD ", "D")},
            [
                ContentIssue(
                    ("options", 2, "text"),
                    "option C repeats option A (ignoring case and spaces): the options must all differ",
                )
            ],
        ),
    ],
)
def test_mcq_content_issues_are_exact(raw: dict[str, Any], expected: list[ContentIssue]) -> None:
    assert _issues("mcq", raw) == expected


def test_an_unreadable_option_is_not_counted_as_having_no_correct_answer() -> None:
    # The first option cannot be read, so the count of correct options would be a guess: only the
    # unreadable option is reported, although none of the readable ones is marked correct.
    raw = {"options": ["A", *_options("B", "C", "D", correct=None)]}
    assert _issues("mcq", raw) == [ContentIssue(("options", 0), "should be a mapping (key: value), not text")]


def test_every_option_is_checked_after_an_unreadable_one() -> None:
    raw = {"options": ["A", {"text": "B"}, {"text": "<b>C"}, {"text": "B "}]}
    assert _issues("mcq", raw) == [
        ContentIssue(("options", 0), "should be a mapping (key: value), not text"),
        ContentIssue(("options", 2, "text"), "contains markup ('<b>C'); use plain text, no HTML"),
        ContentIssue(("options", 3, "text"), "option D repeats option B (ignoring case and spaces): the options must all differ"),
    ]


def test_repeats_are_found_after_an_option_whose_text_was_refused() -> None:
    raw = {"options": [{"text": "", "correct": True}, {"text": "B"}, {"text": "C"}, {"text": "b"}]}
    assert _issues("mcq", raw) == [
        ContentIssue(("options", 0, "text"), "is empty"),
        ContentIssue(("options", 3, "text"), "option D repeats option B (ignoring case and spaces): the options must all differ"),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, [ContentIssue((), "missing field 'guide' (a short answer needs a marking guide)")]),
        (
            {"guide": {k: v for k, v in GUIDE.items() if k != "indicative_content"}},
            [ContentIssue(("guide",), "missing field 'indicative_content'")],
        ),
        (
            {"guide": {k: v for k, v in GUIDE.items() if k != "two_marks"}},
            [ContentIssue(("guide",), "missing field 'two_marks'")],
        ),
        (
            {"guide": {**GUIDE, "two_marks": 2}},
            [ContentIssue(("guide", "two_marks"), "should be text, not a number (2); put it in quotes")],
        ),
        (
            {"guide": {**GUIDE, "indicative_content": []}},
            [ContentIssue(("guide", "indicative_content"), "should have at least 1 entry")],
        ),
        (
            {"guide": {**GUIDE, "indicative_content": "A point."}},
            [ContentIssue(("guide", "indicative_content"), "should be a list, not text")],
        ),
        (
            {"guide": {**GUIDE, "acceptable_alternatives": [" "]}},
            [ContentIssue(("guide", "acceptable_alternatives", 0), "is empty")],
        ),
    ],
)
def test_short_answer_content_issues_are_exact(raw: dict[str, Any], expected: list[ContentIssue]) -> None:
    assert _issues("short_answer", raw) == expected


def test_a_short_answer_may_list_no_alternatives_and_keeps_the_ones_it_lists() -> None:
    short = get_type("short_answer")
    content, issues = short.read_content({"guide": {**GUIDE, "acceptable_alternatives": []}})
    assert issues == [] and content is not None and content["guide"]["acceptable_alternatives"] == []
    content, _ = short.read_content({"guide": {**GUIDE, "acceptable_alternatives": ["Another point."]}})
    assert content is not None
    assert short.file_content(content) == {"guide": {**GUIDE, "acceptable_alternatives": ["Another point."]}}
    assert short.read_content({"guide": short.file_content(content)["guide"]})[0] == content


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"method": 5, **{k: v for k, v in ASSESSOR.items() if k != "method"}},
            [ContentIssue(("method",), "should be a method key (like observation), not a number (5)")],
        ),
        (
            {**ASSESSOR, "method": "Observation"},
            [ContentIssue(("method",), "should be a method key (like observation), not text")],
        ),
        (
            {**ASSESSOR, "follow_ups": ["<i>why</i>"]},
            [ContentIssue(("follow_ups", 0), "contains markup ('<i>why</i>'); use plain text, no HTML")],
        ),
    ],
)
def test_assessor_question_content_issues_are_exact(raw: dict[str, Any], expected: list[ContentIssue]) -> None:
    assert _issues("assessor_question", raw) == expected


def test_an_assessor_question_keeps_its_follow_ups_and_may_have_none() -> None:
    kind = get_type("assessor_question")
    content, issues = kind.read_content({**ASSESSOR, "follow_ups": ["And then?"]})
    assert issues == [] and content is not None and content["follow_ups"] == ["And then?"]
    assert kind.file_content(content) == {**ASSESSOR, "follow_ups": ["And then?"]}
    empty, issues = kind.read_content({**ASSESSOR, "follow_ups": []})
    assert issues == [] and empty is not None and empty["follow_ups"] == []
    assert kind.file_content(empty) == ASSESSOR


def test_an_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(
        DomainError, match=r"^Unknown question type 'essay' \(known: mcq, short_answer, assessor_question\)\.$"
    ) as refused:
        get_type("essay")
    assert refused.value.code == "unknown_question_type"


def test_options_are_listed_in_number_order_then_as_text() -> None:
    accepted = frozenset({"10", "2", "100", "9999999999", "b", "a"})
    assert response_problem(accepted, "z") == "must be one of the question's options (2, 10, 100, 9999999999, a, b)"
    eleven = frozenset(str(i) for i in range(11))
    assert response_problem(eleven, "11") == "must be one of the question's options (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)"


@pytest.mark.parametrize(
    ("response", "shown"),
    [
        ("x" * 40, repr("x" * 40)),
        ("y" * 41, repr("y" * 40 + "... (41 characters)")),
    ],
)
def test_a_bad_stored_mcq_response_is_logged_cut_to_forty_characters(
    caplog: pytest.LogCaptureFixture, response: str, shown: str
) -> None:
    content, _ = get_type("mcq").read_content({"options": _options("A", "B", "C", "D")})
    assert content is not None
    with caplog.at_level(logging.WARNING, logger="testengine.domain.question_types"):
        assert get_type("mcq").mark(content, response) == 0
    assert [r.getMessage() for r in caplog.records] == [
        f"multiple-choice response {shown} must be one of the question's options (0, 1, 2, 3): marked 0"
    ]

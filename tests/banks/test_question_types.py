"""The question-type registry: marking, content checks and the plain-text rule, as tables."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testengine.domain.errors import DomainError
from testengine.domain.question_types import (
    NOTE,
    OPTION_TEXT,
    QUESTION_TYPES,
    STEM,
    get_type,
    plain_text_problem,
)

MCQ_CONTENT = {
    "options": [
        {"text": "A", "correct": False, "rationale": None},
        {"text": "B", "correct": False, "rationale": None},
        {"text": "C", "correct": True, "rationale": "Why"},
        {"text": "D", "correct": False, "rationale": None},
    ]
}
GUIDE = {
    "indicative_content": ["A point."],
    "two_marks": "Full.",
    "one_mark": "Partial.",
    "zero_marks": "Nothing.",
}


def test_the_registry() -> None:
    assert set(QUESTION_TYPES) == {"mcq", "short_answer", "assessor_question"}
    assessor = get_type("assessor_question")
    assert (assessor.fixed_marks, assessor.auto_marked, assessor.on_papers) == (0, False, False)
    assert get_type("mcq").on_papers and get_type("short_answer").on_papers
    mcq, short = get_type("mcq"), get_type("short_answer")
    assert (mcq.key, mcq.fixed_marks, mcq.auto_marked, mcq.content_fields) == (
        "mcq",
        1,
        True,
        ("options",),
    )
    assert (short.key, short.fixed_marks, short.auto_marked, short.content_fields) == (
        "short_answer",
        2,
        False,
        ("guide",),
    )
    assert mcq.label and short.label


def test_an_unknown_type_is_a_domain_error() -> None:
    with pytest.raises(DomainError) as raised:
        get_type("essay")
    assert raised.value.code == "unknown_question_type"
    assert "essay" in str(raised.value)


@pytest.mark.parametrize(
    ("response", "mark"),
    [
        ("2", 1),
        (" 2 ", 1),
        ("0", 0),
        ("1", 0),
        ("3", 0),
        ("4", 0),
        ("-1", 0),
        ("C", 0),
        ("", 0),
        ("   ", 0),
        (None, 0),
    ],
)
def test_mcq_marks_the_original_option_index(response: str | None, mark: int) -> None:
    assert get_type("mcq").mark(MCQ_CONTENT, response) == mark


def test_a_corrupt_stored_mcq_response_marks_0_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """4,301 digits is past Python's integer-parsing limit: marking must not try to parse it."""
    with caplog.at_level("WARNING"):
        assert get_type("mcq").mark(MCQ_CONTENT, "9" * 4301) == 0
    assert "4301 characters" in caplog.text and "must be one of the question's options (0, 1, 2, 3)" in caplog.text


@given(st.one_of(st.none(), st.text(max_size=6000), st.from_regex(r"\A[0-9]{1,5000}\Z")))
@settings(max_examples=200, deadline=None)
def test_marking_never_raises_on_any_stored_response(response: str | None) -> None:
    for key, content in (("mcq", MCQ_CONTENT), ("short_answer", {"guide": GUIDE}), ("mcq", {"options": "corrupt"}), ("mcq", {})):
        assert get_type(key).mark(content, response) in (0, 1, None)


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        ("2", None),
        (" 2 ", None),
        ("", None),
        (None, None),
        ("4", "options (0, 1, 2, 3)"),
        ("C", "options"),
        ("9" * 4301, "options"),
    ],
)
def test_an_mcq_response_must_be_one_of_the_option_ids(response: str | None, problem: str | None) -> None:
    found = get_type("mcq").response_problem(MCQ_CONTENT, response)
    assert (found is None) if problem is None else (found is not None and problem in found)
    assert get_type("short_answer").response_problem({"guide": GUIDE}, response) is None


@pytest.mark.parametrize(("response", "mark"), [(None, 0), ("", 0), (" \n\t ", 0), ("Some answer", None), ("0", None)])
def test_short_answers_wait_for_a_marker_unless_blank(response: str | None, mark: int | None) -> None:
    assert get_type("short_answer").mark({"guide": GUIDE}, response) == mark


def test_mcq_content_is_normalised() -> None:
    raw = {
        "options": [
            {"text": "A"},
            {"text": "B", "correct": True, "rationale": "R"},
            {"text": "C"},
            {"text": "D", "correct": False},
        ]
    }
    content, issues = get_type("mcq").read_content(raw)
    assert issues == []
    assert content == {
        "options": [
            {"text": "A", "correct": False, "rationale": None},
            {"text": "B", "correct": True, "rationale": "R"},
            {"text": "C", "correct": False, "rationale": None},
            {"text": "D", "correct": False, "rationale": None},
        ]
    }
    # Written back the way people write it: `correct` only on the right answer, no empty rationales.
    assert get_type("mcq").file_content(content) == {
        "options": [
            {"text": "A"},
            {"text": "B", "correct": True, "rationale": "R"},
            {"text": "C"},
            {"text": "D"},
        ]
    }


def test_short_answer_content_is_normalised() -> None:
    content, issues = get_type("short_answer").read_content({"guide": GUIDE})
    assert issues == []
    assert content == {"guide": {**GUIDE, "acceptable_alternatives": []}}
    assert get_type("short_answer").file_content(content) == {"guide": GUIDE}


@pytest.mark.parametrize(
    ("key", "raw", "path", "fragment"),
    [
        ("mcq", {}, (), "missing field 'options'"),
        ("mcq", {"options": "A, B, C, D"}, ("options",), "should be a list"),
        (
            "mcq",
            {"options": [{"text": "A", "correct": True}]},
            ("options",),
            "exactly 4 options, not 1",
        ),
        (
            "mcq",
            {"options": [{"text": "A", "correct": True}, "B", {"text": "C"}, {"text": "D"}]},
            ("options", 1),
            "should be a mapping",
        ),
        (
            "mcq",
            {"options": [{"correct": True}, {"text": "B"}, {"text": "C"}, {"text": "D"}]},
            ("options", 0),
            "missing field 'text'",
        ),
        ("short_answer", {}, (), "missing field 'guide'"),
        ("short_answer", {"guide": ["a"]}, ("guide",), "should be a mapping"),
        (
            "short_answer",
            {"guide": {**GUIDE, "indicative_content": "A point."}},
            ("guide", "indicative_content"),
            "should be a list",
        ),
        (
            "short_answer",
            {"guide": {**GUIDE, "indicative_content": ["Fine.", 7]}},
            ("guide", "indicative_content", 1),
            "should be text",
        ),
        (
            "short_answer",
            {"guide": {**GUIDE, "acceptable_alternatives": ["<p>x</p>"]}},
            ("guide", "acceptable_alternatives", 0),
            "markup",
        ),
        (
            "short_answer",
            {"guide": {**GUIDE, "three_marks": "Too many."}},
            ("guide", "three_marks"),
            "unknown field",
        ),
    ],
)
def test_content_problems_point_at_the_field(key: str, raw: dict[str, Any], path: tuple[object, ...], fragment: str) -> None:
    content, issues = get_type(key).read_content(raw)
    assert content is None
    assert [(issue.path, fragment in issue.message) for issue in issues] == [(path, True)]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("A plain question?", None),
        ("Health & Safety at Work etc. Act 1974", None),
        ("Is 3 < 5 and 7 > 2?", None),
        ("Tabs\tand\nnew lines are fine", None),
        ("Fewer than £100 — “quoted” — café", None),
        ("", "is empty"),
        (" \n\t ", "is empty"),
        ("Too short", "too short"),
        ("x" * 1001, "too long"),
        ("Click <a href='x'>here</a> now", "markup"),
        ("An unclosed <script", "markup"),
        ("A comment <!-- hidden -->", "markup"),
        ("Closing only </div> tag", "markup"),
        ("Visit JavaScript : alert(1) now", "script"),
        ("Visit javascript:alert(1) now", "script"),
        ("Fish &amp; chips today", "HTML entity"),
        ("Fish &#38; chips today", "HTML entity"),
        ("Fish &#x26; chips today", "HTML entity"),
        ("A bell \x07 rings here", "control character"),
        ("Carriage\r\nreturn here", "control character"),
        ("Null \x00 byte here", "control character"),
    ],
)
def test_plain_text_rule(text: str, fragment: str | None) -> None:
    problem = plain_text_problem(text, STEM)
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None and fragment in problem


def test_text_limits_match_the_format() -> None:
    assert (STEM.min_chars, STEM.max_chars) == (10, 1000)
    assert (OPTION_TEXT.min_chars, OPTION_TEXT.max_chars) == (1, 300)
    assert NOTE.max_chars == 1000
    assert plain_text_problem("x" * 300, OPTION_TEXT) is None
    assert plain_text_problem("x" * 1000, STEM) is None
    assert plain_text_problem("x" * 10, STEM) is None


def test_an_assessor_question_needs_pass_and_distinction_indicators() -> None:
    assessor = get_type("assessor_question")
    content, issues = assessor.read_content(
        {"method": "observation", "pass_shows": ["Names a model."], "distinction_shows": ["Adapts it."]}
    )
    assert issues == [] and content is not None
    assert content["follow_ups"] == []
    assert assessor.file_content(content) == {
        "method": "observation",
        "pass_shows": ["Names a model."],
        "distinction_shows": ["Adapts it."],
    }
    assert assessor.mark(content, "anything") is None
    content, issues = assessor.read_content({"method": "Observation!", "pass_shows": []})
    assert content is None
    messages = {(i.path, i.message) for i in issues}
    assert ((), "missing field 'distinction_shows' (an assessor question needs it)") in messages
    content, issues = assessor.read_content({"method": "Observation!", "pass_shows": [], "distinction_shows": ["<b>x</b>"]})
    paths = {i.path for i in issues}
    assert ("method",) in paths and ("pass_shows",) in paths and ("distinction_shows", 0) in paths

"""Moodle XML in: each question type mapped or refused, categories and tags, encodings, XXE, broken files."""

from __future__ import annotations

from pathlib import Path

from testengine.banks import validate_standard
from tests.interop.helpers import FIXTURES, TODAY, run, written

MOODLE = FIXTURES / "moodle"


def _outcomes(result):
    return {entry.source.rsplit(":", 1)[1]: (entry.outcome, entry.reason) for entry in result.entries}


def test_each_type_is_converted_drafted_or_refused(tmp_path: Path) -> None:
    result = run("moodle-xml", MOODLE / "sample.xml", tmp_path)
    outcomes = _outcomes(result)
    assert result.errors == []
    assert outcomes["7"][0] == "converted"
    assert outcomes["24"] == ("refused", "5 options: the ST0663 blueprint's multiple choice has exactly 4 options and one key")
    refused = {line: reason.split(":")[0] for line, (outcome, reason) in outcomes.items() if outcome == "refused"}
    assert refused == {
        "24": "5 options",
        "34": "more than one correct option (or partial credit on options)",
        "43": "true/false",
        "49": "matching",
        "54": "numerical",
        "59": "cloze / embedded answers",
        "63": "drag and drop",
        "67": "ordering",
        "71": "a description, not a question",
    }
    assert outcomes["75"][0] == "draft" and "the source gives 4 marks" in outcomes["75"][1]
    assert outcomes["83"][0] == "draft"


def test_html_is_reduced_and_what_was_dropped_is_named(tmp_path: Path) -> None:
    result = run("moodle-xml", MOODLE / "sample.xml", tmp_path)
    entry = next(e for e in result.entries if e.source.endswith(":7"))
    assert "dropped stem: <img retention chart>" in entry.reason and "dropped stem: <script> content" in entry.reason
    assert "negative weight (-33%)" in entry.reason
    question = written(tmp_path)[entry.item]
    assert question["stem"] == "How long should a provider keep a learner's case notes after the programme ends?"
    assert question["ksb"] == ["K14", "K16"]  # the tag K14, then the category's K16
    assert question["options"][0] == {
        "text": "For the period the contract & retention schedule set",
        "correct": True,
        "rationale": "The contract says how long.",
    }
    assert "rationale" not in question["options"][2]  # an empty feedback is no rationale
    text = (tmp_path / "questions" / "moodle-xml-sample.yaml").read_text(encoding="utf-8")
    assert "# source id: MDL-Q-101" in text and "(Records retention)" in text
    assert "KSB suggestions from the source: records, ST0663" in text


def test_essay_grader_info_and_short_answers_go_into_a_draft_guide(tmp_path: Path) -> None:
    result = run("moodle-xml", MOODLE / "sample.xml", tmp_path)
    questions = written(tmp_path)
    essay = questions[next(e.item for e in result.entries if e.source.endswith(":75"))]
    assert essay["status"] == "draft" and essay["marks"] == 2 and essay["ksb"] == ["K16"]
    assert essay["guide"]["indicative_content"] == [
        "Continuity of support for the learner.",
        "Evidence for the contract and audits.",
    ]
    short = questions[next(e.item for e in result.entries if e.source.endswith(":83"))]
    assert short["guide"]["indicative_content"] == [
        "UK GDPR",
        "Data Protection Act 2018",
        "The Data Protection Act 2018 with UK GDPR.",
    ]
    assert validate_standard(tmp_path, today=TODAY) == []


def test_utf16_and_latin1_as_declared(tmp_path: Path) -> None:
    for name in ("utf16", "latin1"):
        result = run("moodle-xml", MOODLE / f"{name}.xml", tmp_path / name)
        assert result.errors == [] and [e.outcome for e in result.entries] == ["converted"]
        (question,) = written(tmp_path / name).values()
        assert question["stem"] == "Which adjustment helps a learner named Zoë who uses a screen reader? Cost: £0."
        assert question["ksb"] == ["K19"]


def test_an_xxe_attempt_is_refused_and_nothing_is_read(tmp_path: Path) -> None:
    result = run("moodle-xml", MOODLE / "xxe.xml", tmp_path)
    assert [(e.where, e.message) for e in result.errors] == [
        (
            f"{MOODLE / 'xxe.xml'}:2",
            "declares a DTD or entities, which are refused (they can read local files or expand without end)",
        )
    ]
    assert result.entries == [] and not (tmp_path / "questions").exists()


def test_a_broken_file_is_reported_at_its_line(tmp_path: Path) -> None:
    result = run("moodle-xml", MOODLE / "broken.xml", tmp_path)
    assert [(e.where, e.message) for e in result.errors] == [
        (f"{MOODLE / 'broken.xml'}:6", "is not well-formed XML: mismatched tag")
    ]


def test_one_bad_question_never_stops_the_others(tmp_path: Path) -> None:
    result = run("moodle-xml", MOODLE / "bad_item.xml", tmp_path)
    assert [(e.where, e.message) for e in result.errors] == [
        (f"{MOODLE / 'bad_item.xml'}:3", "answer fraction 'lots' is not a number")
    ]
    assert [(e.source, e.outcome) for e in result.entries] == [(f"{MOODLE / 'bad_item.xml'}:8", "draft")]


def test_a_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    from testengine.interop import Limits

    result = run("moodle-xml", MOODLE / "sample.xml", tmp_path, limits=Limits(file_bytes=1000))
    (error,) = result.errors
    assert error.where == str(MOODLE / "sample.xml") and "over the limit of 1,000" in error.message

"""GIFT in: each kind of question mapped or refused, escapes, formats, weights, encodings, broken files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from testengine.banks import validate_standard
from tests.interop.helpers import FIXTURES, TODAY, run, written

GIFT = FIXTURES / "gift"


def test_each_kind_is_converted_drafted_or_refused_with_its_reason(tmp_path: Path) -> None:
    result = run("gift", GIFT / "sample.gift", tmp_path)
    outcomes = {entry.source.rsplit(":", 1)[1]: (entry.outcome, entry.reason) for entry in result.entries}
    assert result.errors == []
    assert outcomes["6"][0] == "converted"  # the [html] multiple choice
    assert outcomes["14"][0] == "converted"  # escapes
    assert outcomes["21"] == ("refused", "3 options: the ST0663 blueprint's multiple choice has exactly 4 options and one key")
    assert outcomes["27"][0] == "converted" and "negative weight (-50%)" in outcomes["27"][1]
    assert outcomes["34"][0] == "refused" and "exactly one key" in outcomes["34"][1]
    assert outcomes["41"][0] == "refused" and outcomes["41"][1].startswith("true/false")
    assert outcomes["43"][0] == "refused" and outcomes["43"][1].startswith("matching")
    assert outcomes["49"][0] == "refused" and outcomes["49"][1].startswith("numerical")
    assert outcomes["51"][0] == "draft" and "no marking guide" in outcomes["51"][1]
    assert outcomes["55"][0] == "draft" and "no KSB" in outcomes["55"][1] and "Interview skills" in outcomes["55"][1]
    assert outcomes["60"][0] == "refused" and outcomes["60"][1].startswith("cloze")
    assert len(result.entries) == 11 and len(result.of("refused")) == 6  # every question in the file is accounted for


def test_html_title_feedback_and_category_are_carried(tmp_path: Path) -> None:
    run("gift", GIFT / "sample.gift", tmp_path)
    question = written(tmp_path)["ST0663-K17-G-001"]  # the ::title:: was already a bank id
    assert question["type"] == "mcq" and question["ksb"] == ["K17"]  # from $CATEGORY: .../K17 Safeguarding
    assert question["status"] == "draft"  # nobody here has reviewed it yet
    assert question["stem"] == "A learner tells you they are being harassed by a neighbour. What should you do first?"
    assert question["options"][0] == {
        "text": "Listen, reassure them and follow the safeguarding procedure",
        "correct": True,
        "rationale": "Right: the procedure says who to tell.",
    }
    assert [o.get("correct", False) for o in question["options"]] == [True, False, False, False]
    text = (tmp_path / "questions" / "gift-sample.yaml").read_text(encoding="utf-8")
    assert "# dropped stem: formatting <b>" in text and "# from " in text


def test_escapes_are_the_characters_themselves(tmp_path: Path) -> None:
    result = run("gift", GIFT / "sample.gift", tmp_path)
    qid = next(e.item for e in result.entries if e.source.endswith(":14"))
    question = written(tmp_path)[qid]
    assert question["stem"] == "Which symbol joins a key and a value in the text a=b, with braces { and } and a colon: here?"
    assert [o["text"] for o in question["options"]] == [
        "The equals sign = between them",
        "The tilde ~ before them",
        "The hash # after them",
        "The colon : around them",
    ]


def test_short_answers_become_drafts_with_the_source_answers_in_the_guide(tmp_path: Path) -> None:
    result = run("gift", GIFT / "sample.gift", tmp_path)
    qid = next(e.item for e in result.entries if e.source.endswith(":55"))
    question = written(tmp_path)[qid]
    assert question["type"] == "short_answer" and question["status"] == "draft" and question["ksb"] == []
    assert question["guide"]["indicative_content"] == [
        "Proof of identity and proof of address",
        "Passport and a utility bill",
        "Both are needed for the right to work check.",
    ]
    # Without a KSB the file fails validation, naming the question, until a reviewer adds one.
    problems = validate_standard(tmp_path, today=TODAY)
    assert [p.message for p in problems] == [f"{qid} ksb: should have at least 1 entry"]


def test_converted_files_validate_once_ksbs_are_given(tmp_path: Path) -> None:
    result = run("gift", GIFT / "sample.gift", tmp_path)
    path = tmp_path / "questions" / "gift-sample.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("ksb: []", "ksb: [K3]"), encoding="utf-8")
    assert validate_standard(tmp_path, today=TODAY) == []
    assert (tmp_path / "spec.yaml").is_file()  # copied in, so the folder validates on its own
    assert len(result.written) == 1


def test_the_same_file_converts_to_the_same_ids(tmp_path: Path) -> None:
    first = [e.item for e in run("gift", GIFT / "sample.gift", tmp_path / "a").entries]
    second = [e.item for e in run("gift", GIFT / "sample.gift", tmp_path / "b").entries]
    assert first == second


def test_utf16_with_a_byte_order_mark(tmp_path: Path) -> None:
    result = run("gift", GIFT / "utf16.gift", tmp_path)
    assert result.errors == [] and [e.outcome for e in result.entries] == ["draft"]  # no KSB
    (question,) = written(tmp_path).values()
    assert question["stem"].startswith("Which café policy")


def test_latin1_as_declared_and_refused_when_undeclared(tmp_path: Path) -> None:
    result = run("gift", GIFT / "latin1.gift", tmp_path / "declared", encoding="iso-8859-1")
    assert result.errors == []
    (question,) = written(tmp_path / "declared").values()
    assert "café" in question["stem"] and "£0" in question["stem"]

    undeclared = run("gift", GIFT / "latin1.gift", tmp_path / "undeclared")
    assert [(e.where, e.message) for e in undeclared.errors] == [
        (f"{GIFT / 'latin1.gift'}:2", "is not UTF-8 text; say its encoding with --encoding (for example iso-8859-1)")
    ]
    assert undeclared.entries == []


def test_a_broken_question_is_reported_at_its_line_and_the_rest_convert(tmp_path: Path) -> None:
    result = run("gift", GIFT / "broken.gift", tmp_path)
    assert [(e.where, e.message) for e in result.errors] == [
        (f"{GIFT / 'broken.gift'}:1", "the answers open with { but never close with }"),
        (f"{GIFT / 'broken.gift'}:14", "no answers: a GIFT question needs its answers in { }"),
    ]
    assert [(e.source, e.outcome) for e in result.entries] == [(f"{GIFT / 'broken.gift'}:7", "draft")]


def test_cli_reports_json_and_exits_2_on_a_broken_file(app, tmp_path: Path) -> None:
    import json

    runner = app.test_cli_runner()
    out = tmp_path / "out"
    result = runner.invoke(
        args=[
            "bank",
            "convert",
            "--from",
            "gift",
            str(GIFT),
            "--standard",
            "ST0663",
            "--out",
            str(out),
            "--json",
            "--encoding",
            "iso-8859-1",
        ]
    )
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"converted", "drafts", "refused", "errors", "written"}
    assert {
        entry["source"].split(":")[0].rsplit("/", 1)[1] for entry in report["converted"] + report["drafts"] + report["refused"]
    } == {"broken.gift", "latin1.gift", "sample.gift", "utf16.gift"}
    assert any(error["source"].endswith("broken.gift:1") for error in report["errors"])
    assert sorted(p.name for p in (out / "questions").iterdir()) == [
        "gift-broken.yaml",
        "gift-latin1.yaml",
        "gift-sample.yaml",
        "gift-utf16.yaml",
    ]
    clean = runner.invoke(
        args=[
            "bank",
            "convert",
            "--from",
            "gift",
            str(GIFT / "sample.gift"),
            "--standard",
            "ST0663",
            "--out",
            str(tmp_path / "clean"),
        ]
    )
    assert clean.exit_code == 0 and "Refused: 6" in clean.stdout


def test_an_unknown_standard_is_refused(app, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(
        args=["bank", "convert", "--from", "gift", str(GIFT / "sample.gift"), "--standard", "ST9999", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "no standard 'ST9999'" in result.output
    assert not (tmp_path / "questions").exists()


def test_today_is_the_conversion_date_and_review_is_due_at_once(tmp_path: Path) -> None:
    run("gift", GIFT / "sample.gift", tmp_path)
    question = written(tmp_path)["ST0663-K17-G-001"]
    assert question["review"] == {"last_reviewed": TODAY, "reviewer": "Not yet reviewed", "next_due": TODAY}
    assert isinstance(question["review"]["next_due"], dt.date)

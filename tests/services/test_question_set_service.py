"""Question sets through the CLI and the service: recorded, reproducible, never repeated, refusals named."""

from __future__ import annotations

import json

from testengine.extensions import db
from testengine.models import QuestionSetDraw
from tests.factories import import_standard


def _draw(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["questions", "draw", *args, "--json"])


def test_sets_for_one_apprentice_never_repeat_until_the_bank_says_what_ran_out(app, clock) -> None:  # type: ignore[no-untyped-def]
    import_standard("ST1379", clock.now())
    seen: set[str] = set()
    for _ in range(3):
        result = _draw(app, "--standard", "ST1379", "--method", "professional_discussion", "--candidate", "1234567890")
        assert result.exit_code == 0, result.output
        drawn = json.loads(result.output)
        ids = [q["id"] for q in drawn["questions"]]
        assert len(ids) >= 8 and len(set(ids)) == len(ids)
        assert [q["pre_picked"] for q in drawn["questions"]] == [True] * 4 + [False] * (len(ids) - 4)
        assert all(q["pass_shows"] and q["distinction_shows"] for q in drawn["questions"])
        assert {"K1", "K10", "K16", "K2", "K11", "K6", "K5", "K15"} <= {k for q in drawn["questions"] for k in q["ksb"]}
        assert not seen & set(ids)
        seen |= set(ids)
    # Another apprentice starts afresh; an observation set for the first one draws from its own bank.
    other = _draw(app, "--standard", "ST1379", "--method", "professional_discussion", "--candidate", "1234567891")
    assert other.exit_code == 0, other.output
    observation = _draw(app, "--standard", "ST1379", "--method", "observation", "--candidate", "1234567890")
    assert observation.exit_code == 0 and len(json.loads(observation.output)["questions"]) >= 5
    refused = None
    for _ in range(10):
        refused = _draw(app, "--standard", "ST1379", "--method", "professional_discussion", "--candidate", "1234567890")
        if refused.exit_code != 0:
            break
        ids = {q["id"] for q in json.loads(refused.output)["questions"]}
        assert not seen & ids
        seen |= ids
    assert refused is not None and refused.exit_code == 2
    # What ran out is named: the method's questions, or a KSB nothing unseen still covers.
    reason = refused.output.partition("Cannot draw a question set for professional_discussion from this bank: ")[2]
    assert reason, refused.output
    assert all(
        part.startswith(("professional_discussion questions: ", "KSB ")) and "unseen" in part and "short)" in part
        for part in reason.rstrip(".\n").split("; ")
    ), reason


def test_a_recorded_set_redraws_identically_and_swaps_are_recorded(app, clock) -> None:  # type: ignore[no-untyped-def]
    from testengine.services.question_sets import reproduce_set, swap_choices, swap_question

    import_standard("ST0663", clock.now())
    result = _draw(app, "--standard", "ST0663", "--method", "presentation", "--candidate", "1234567890", "--seed", "77")
    assert result.exit_code == 0, result.output
    drawn = json.loads(result.output)
    assert len(drawn["questions"]) <= 6 and drawn["pre_picked"] == 0
    record = db.session.get(QuestionSetDraw, drawn["set"])
    _redrawn, same = reproduce_set(record)
    assert same and record.seed == 77
    choices = swap_choices(record, 0)
    assert choices and not set(choices) & set(record.question_ids)
    swap_question(record, 0, choices[0], now=clock.now(), actor=None)
    db.session.commit()
    assert record.question_ids[0] == choices[0] and record.swaps[0]["to"] == choices[0]
    _redrawn, same = reproduce_set(record)
    assert same  # the draw itself is unchanged; the swap is recorded beside it
    shown = app.test_cli_runner().invoke(args=["questions", "show", str(record.id), "--json"])
    assert shown.exit_code == 0 and json.loads(shown.output)["reproduced"] is True
    assert json.loads(shown.output)["questions"][0]["id"] == choices[0]


def test_a_method_without_a_set_is_refused_by_name(app, clock) -> None:  # type: ignore[no-untyped-def]
    import_standard("ST0663", clock.now())
    result = _draw(app, "--standard", "ST0663", "--method", "knowledge_test", "--candidate", "1234567890")
    assert result.exit_code == 2
    assert "Knowledge test has no question set in ST0663 (methods with question sets: presentation)" in result.output


def test_the_bank_report_covers_question_sets(app, clock) -> None:  # type: ignore[no-untyped-def]
    import_standard("ST1379", clock.now())
    import_standard("ST0663", clock.now())
    report = json.loads(app.test_cli_runner().invoke(args=["bank", "report", "--standard", "ST1379", "--json"]).output)
    sets = report["question_sets"]
    assert sets["observation"]["questions_per_set"] == 5 and sets["observation"]["sets_without_repeat"] >= 3
    assert sets["professional_discussion"]["questions_per_set"] == 8
    assert sets["professional_discussion"]["sets_without_repeat"] >= 3
    text = app.test_cli_runner().invoke(args=["bank", "report", "--standard", "ST0663"]).output
    assert "Question sets for presentation:" in text and "sets without repeat for one apprentice:" in text
    st0663 = json.loads(app.test_cli_runner().invoke(args=["bank", "report", "--standard", "ST0663", "--json"]).output)
    assert "assessor_question" not in st0663["approved"]  # paper figures count paper questions only
    assert st0663["question_sets"]["presentation"]["sets_without_repeat"] >= 3


def test_the_reported_sets_without_repeat_are_there_for_one_apprentice(app, clock) -> None:  # type: ignore[no-untyped-def]
    """The report's figure per assessor-led method is a promise: that many sets, in a row, with no question met twice."""
    import_standard("ST1379", clock.now())
    import_standard("ST0663", clock.now())
    for code, method in (("ST1379", "observation"), ("ST1379", "professional_discussion"), ("ST0663", "presentation")):
        report = json.loads(app.test_cli_runner().invoke(args=["bank", "report", "--standard", code, "--json"]).output)
        promised = report["question_sets"][method]["sets_without_repeat"]
        assert promised >= 3
        met: set[str] = set()
        for n in range(promised):
            drawn = _draw(app, "--standard", code, "--method", method, "--candidate", "2000000001", "--seed", str(n))
            assert drawn.exit_code == 0, (code, method, n, drawn.output)
            ids = {q["id"] for q in json.loads(drawn.output)["questions"]}
            assert not met & ids
            met |= ids


def test_the_report_says_a_practice_bank_is_for_practice(app, clock) -> None:  # type: ignore[no-untyped-def]
    import_standard("ST1380", clock.now())
    import_standard("ST0663", clock.now())
    assert json.loads(app.test_cli_runner().invoke(args=["bank", "report", "--standard", "ST1380", "--json"]).output)["practice"]
    assert "A practice bank" in app.test_cli_runner().invoke(args=["bank", "report", "--standard", "ST1380"]).output
    live = app.test_cli_runner().invoke(args=["bank", "report", "--standard", "ST0663"]).output
    assert "A practice bank" not in live

"""`testengine grade`: one word out, the spec's method order, exit 2 with a message on bad input."""

from __future__ import annotations

import pytest

from tests.results.grade_tables import ST0663_OVERALL, ST1379_OVERALL


@pytest.fixture
def grade(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        with app.app_context():  # the test app's bank folder; outside an app `grade` reads the setting
            return runner.invoke(args=["grade", *args])

    return run


@pytest.mark.parametrize(
    ("marks", "word"), [(0, "fail"), (45, "fail"), (46, "pass"), (52, "pass"), (53, "distinction"), (66, "distinction")]
)
def test_marks_print_the_knowledge_test_grade_as_one_word(grade, marks, word):
    result = grade("--standard", "ST0663", "--method", "knowledge_test", "--marks", str(marks))
    assert result.exit_code == 0 and result.output == f"{word}\n"


def test_every_combination_of_both_standards(grade):
    for (presentation, observation, knowledge), overall in ST0663_OVERALL.items():
        result = grade(
            "--standard",
            "ST0663",
            "--overall",
            f"presentation={presentation}",
            f"observation={observation}",
            f"knowledge_test={knowledge}",
        )
        assert result.exit_code == 0 and result.output == f"{overall}\n", (presentation, observation, knowledge)
    for (observation, discussion), overall in ST1379_OVERALL.items():
        result = grade("--standard", "ST1379", "--overall", f"professional_discussion={discussion}", f"observation={observation}")
        assert result.exit_code == 0 and result.output == f"{overall}\n", (observation, discussion)


def test_list_methods_prints_the_keys_in_the_specs_order(grade):
    assert grade("--standard", "ST0663", "--list-methods").output == "presentation\nobservation\nknowledge_test\n"
    assert grade("--standard", "ST1379", "--list-methods").output == "observation\nprofessional_discussion\n"


def test_grades_are_read_case_insensitively(grade):
    result = grade("--standard", "ST1379", "--overall", "observation=Pass", "professional_discussion=DISTINCTION")
    assert result.output == "merit\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "knowledge_test", "--marks", "-1"], "marks must be from 0 to 66, got -1"),
        (["--method", "knowledge_test", "--marks", "67"], "marks must be from 0 to 66, got 67"),
        (["--method", "knowledge_test", "--marks", "forty"], "'forty' is not a valid integer"),
        (["--method", "knowledge_test"], "Give --method and --marks"),
        (["--method", "presentation", "--marks", "40"], "'presentation' is not graded by marks"),
        (["--overall", "presentation=pass", "observation=pass"], "no grade given for method 'knowledge_test'"),
        (["--overall", "presentation=pass", "observation=pass", "knowledge_test=merit"], "'merit' is not a grade"),
        (
            ["--overall", "presentation=pass", "observation=pass", "knowledge_test=pass", "portfolio=pass"],
            "has no method 'portfolio'",
        ),
        (["--overall", "presentation", "observation=pass"], "give each method as METHOD=GRADE"),
        (["--overall", "presentation=pass", "presentation=fail"], "presentation is given twice"),
        (["presentation=pass"], "Give exactly one of"),
        (["--list-methods", "--overall"], "Give exactly one of"),
        (["--marks", "50", "--method", "knowledge_test", "extra"], "go with --overall"),
    ],
)
def test_invalid_input_exits_2_with_a_message(grade, args, message):
    result = grade("--standard", "ST0663", *args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(("code", "message"), [("ST9999", "No standard 'ST9999'"), ("../ST0663", "is not a standard code")])
def test_an_unknown_standard_exits_2(grade, code, message):
    result = grade("--standard", code, "--list-methods")
    assert result.exit_code == 2 and message in result.output


def test_st1379_has_no_method_graded_by_marks(grade):
    result = grade("--standard", "ST1379", "--method", "observation", "--marks", "3")
    assert result.exit_code == 2 and "not graded by marks (the knowledge test method is none)" in result.output

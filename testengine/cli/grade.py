"""`testengine grade`: a method's grade from marks, or the overall grade, from the standard's spec file."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
from flask import current_app, has_app_context

from ..config import banks_dir
from .command import fail


def _banks_dir() -> Path:
    """The app's bank folder when one is running (tests), else the setting: grading needs no app."""
    if has_app_context():
        return Path(current_app.config["TESTENGINE"]["BANKS_DIR"])
    return Path(banks_dir(os.environ))


def _spec(code: str):  # type: ignore[no-untyped-def]
    """Only the spec file: grading needs no questions (and must not fail on a question's review date)."""
    from ..banks import BankValidationError, parse_spec
    from ..banks.yaml_lines import YamlError, load_yaml

    if not re.fullmatch(r"[A-Za-z0-9_-]+", code):
        fail(f"{code!r} is not a standard code (for example ST0663).")
    path = _banks_dir() / code / "spec.yaml"
    if not path.is_file():
        fail(f"No standard {code!r}: {path} does not exist.")
    try:
        document = load_yaml(path.read_text(encoding="utf-8-sig"))
        return parse_spec(document.data, str(path), document.lines)
    except (YamlError, BankValidationError) as error:
        fail(f"The {code} spec does not validate:\n{error}")


@click.command("grade")
@click.option("--standard", required=True, help="Standard code, e.g. ST0663")
@click.option("--method", default=None, help="With --marks: the method graded by marks")
@click.option("--marks", type=int, default=None, help="Marks scored in the knowledge test")
@click.option("--overall", "overall", is_flag=True, help="Combine method grades given as METHOD=GRADE")
@click.option("--list-methods", is_flag=True, help="Print the standard's method keys, one per line")
@click.argument("method_grades", nargs=-1)
def grade(
    standard: str, method: str | None, marks: int | None, overall: bool, list_methods: bool, method_grades: tuple[str, ...]
) -> None:
    """Print a grade as one word: fail, pass, merit or distinction."""
    from ..domain.errors import DomainError
    from ..domain.grading import grade_for_marks, overall_grade

    modes = sum([list_methods, overall, method is not None or marks is not None])
    if modes != 1:
        fail("Give exactly one of: --method M --marks N, --overall METHOD=GRADE ..., or --list-methods.")
    if method_grades and not overall:
        fail(f"Unexpected argument(s) {' '.join(method_grades)}: METHOD=GRADE pairs go with --overall.")
    spec = _spec(standard)
    if list_methods:
        for item in spec.methods:
            click.echo(item.key)
        return
    try:
        if overall:
            grades: dict[str, str] = {}
            for pair in method_grades:
                key, sep, value = pair.partition("=")
                if not sep or not key or not value:
                    fail(f"{pair!r}: give each method as METHOD=GRADE")
                if key in grades:
                    fail(f"{key} is given twice")
                grades[key] = value.strip().lower()
            click.echo(overall_grade(spec, grades))
            return
        if method is None or marks is None:
            fail("Give --method and --marks, or --overall METHOD=GRADE ..., or --list-methods.")
        test = spec.knowledge_test
        if test is None or test.method != method:
            known = test.method if test else "none"
            fail(f"{standard} method {method!r} is not graded by marks (the knowledge test method is {known}).")
        click.echo(grade_for_marks(test.boundaries, marks, test.total_marks))
    except DomainError as refused:
        fail(str(refused))

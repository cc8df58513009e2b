"""`testengine grade`: a method's grade from marks, or the overall grade, from the standard's spec file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .cli import fail


def _spec(code: str):  # type: ignore[no-untyped-def]
    from .banks import BankValidationError, load_standard

    folder = Path(current_app.config["TESTENGINE"]["BANKS_DIR"]) / code
    if not (folder / "spec.yaml").exists():
        fail(f"No standard {code!r}: {folder / 'spec.yaml'} does not exist.")
    try:
        return load_standard(folder, today=dt.datetime.now(dt.timezone.utc).date()).spec
    except BankValidationError as error:
        fail(f"The {code} bank does not validate:\n{error}")


@click.command("grade")
@click.option("--standard", required=True, help="Standard code, e.g. ST0663")
@click.option("--method", default=None, help="With --marks: the method graded by marks")
@click.option("--marks", type=int, default=None, help="Marks scored in the knowledge test")
@click.option("--overall", "overall", is_flag=True, help="Combine method grades given as METHOD=GRADE")
@click.option("--list-methods", is_flag=True, help="Print the standard's method keys, one per line")
@click.argument("method_grades", nargs=-1)
@with_appcontext
def grade(standard: str, method: str | None, marks: int | None, overall: bool, list_methods: bool, method_grades: tuple[str, ...]) -> None:
    """Print a grade as one word: fail, pass, merit or distinction."""
    from .domain.errors import DomainError
    from .domain.grading import grade_for_marks, overall_grade

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

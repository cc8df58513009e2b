"""`testengine bank ...`: validate, import, export, report."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from .cli import bank_group, fail, write_lock
from .clock import utcnow


@bank_group.command("validate")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def validate(path: Path) -> None:
    """Check a standard's folder; print every problem as FILE:LINE: message. Exit 0 clean, 2 otherwise."""
    import datetime as dt
    import os

    from flask import current_app, has_app_context

    from .banks import validate_standard
    from .config import ConfigError, bank_max_file_bytes

    try:
        limit = int(current_app.config["TESTENGINE"]["BANK_MAX_FILE_BYTES"]) if has_app_context() else bank_max_file_bytes(os.environ)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    problems = validate_standard(path, today=dt.datetime.now(dt.UTC).date(), max_file_bytes=limit)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(problems)} problem(s) in {path}", err=True)
        raise SystemExit(2)
    click.echo(f"{path}: valid")


@bank_group.command("import")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
@write_lock
def import_(path: Path) -> None:
    """Import a standard's folder in one transaction: all of it, or nothing."""
    from .banks import BankValidationError
    from .cli_progress import progress
    from .extensions import db
    from .services.banks import import_bank

    try:
        with progress(f"Importing {path.name}") as step:
            summary = import_bank(path, now=utcnow(), progress=step)
    except BankValidationError as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo(f"Nothing imported: {len(error.problems)} problem(s).", err=True)
        raise SystemExit(2) from None
    db.session.commit()
    counts = summary.as_dict()
    if not summary.changed:
        click.echo(f"{summary.standard}: no changes ({counts['unchanged']} questions unchanged).")
    else:
        click.echo(
            f"{summary.standard}: {counts['added']} added, {counts['new_versions']} new versions, "
            f"{counts['metadata_updated']} review records updated, {counts['retired']} retired, {counts['unchanged']} unchanged."
        )


@bank_group.command("export")
@click.option("--standard", required=True)
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export(standard: str, path: Path) -> None:
    """Write the bank as files that validate and re-import to the same bank."""
    from .services.banks import UnknownStandard, export_bank

    try:
        count = export_bank(standard, path)
    except UnknownStandard as error:
        fail(str(error))
    click.echo(f"Wrote {count} questions to {path}")


@bank_group.command("report")
@click.option("--standard", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
@with_appcontext
def report(standard: str, as_json: bool) -> None:
    """Counts by type, status and KSB; review dates; how many papers one apprentice can sit without a repeat."""
    from .services.banks import UnknownStandard, bank_report

    try:
        data = bank_report(standard, utcnow().date())
    except UnknownStandard as error:
        fail(str(error))
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(f"{data['standard']} {data['title']}: {data['questions']} questions")
    click.echo("By status: " + ", ".join(f"{k} {v}" for k, v in sorted(data["by_status"].items())))
    click.echo("Approved and in review date: " + ", ".join(f"{k} {v}" for k, v in data["approved"].items()))
    click.echo("By KSB: " + ", ".join(f"{k} {v}" for k, v in data["ksb"].items()))
    due = data["due_for_review"]
    click.echo(f"Review: {due['overdue']} overdue (never drawn), {due['next_30_days']} due in 30 days, {due['next_90_days']} in 90 days")
    click.echo(f"Papers without repeat for one apprentice: {data['papers_without_repeat']}")

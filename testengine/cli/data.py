"""`testengine data ...`: the retention run (pseudonymise after TESTENGINE_RETENTION_DAYS) and subject access exports."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from ..clock import utcnow
from .command import end_read, fail, writes


@click.group("data")
def data_group() -> None:
    """Data protection: retention and subject access (see docs/data-protection.md)."""


@data_group.command("retention")
@click.option("--dry-run", is_flag=True, help="List who would be pseudonymised; change nothing")
@with_appcontext
def retention(dry_run: bool) -> None:
    """Pseudonymise apprentices whose last finished activity is older than TESTENGINE_RETENTION_DAYS.

    Names, ULN, email and identity details are replaced; marks, answers, grades and statistics are kept.
    All of it in one transaction, each apprentice audited. Safe to run from cron daily.
    """
    from ..services.data_protection import due_for_pseudonymisation

    days = int(current_app.config["TESTENGINE"]["RETENTION_DAYS"])
    now = utcnow()
    if dry_run:
        due = due_for_pseudonymisation(now, days)
        end_read()
        for row in due:
            click.echo(f"{row.candidate_number}\t{row.name}\tlast activity {row.last_activity:%Y-%m-%d}")
        click.echo(f"{len(due)} apprentice(s) would be pseudonymised (retention {days} days). Nothing changed.")
        return
    done = _pseudonymise(now, days)
    for row in done:
        click.echo(f"{row.candidate_number}\tpseudonymised")
    click.echo(f"{len(done)} apprentice(s) pseudonymised (retention {days} days).")


@writes
def _pseudonymise(now: dt.datetime, days: int) -> list[Any]:
    """All of them in one transaction, each audited."""
    from ..services.data_protection import apply_retention
    from .progress import progress

    with progress("Pseudonymising") as step:
        return apply_retention(now, days, progress=step)


@writes
def _record_export(apprentice: Any) -> None:
    from ..services.subject_access import record_export

    record_export(apprentice, actor=None)


@data_group.command("export")
@click.option("--candidate", "identifier", required=True, help="The apprentice's 10-digit ULN (or candidate number)")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def export(identifier: str, path: Path | None) -> None:
    """Subject access: everything held about one apprentice as JSON, to PATH (or standard output).

    Their answers are withheld under the exam scripts exemption (DPA 2018 Sch. 2 para 25); the
    export says so. The export itself is recorded in the audit log.
    """
    from ..services.subject_access import DataProtectionError, find_apprentice, subject_access_export

    try:
        apprentice = find_apprentice(identifier)
    except DataProtectionError as missing:
        fail(str(missing))
    data = subject_access_export(apprentice, now=utcnow())
    end_read()  # before taking the write lock for the audit entry
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if path is not None:
        # Personal data: readable by the owner only.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
    _record_export(apprentice)
    if path is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"Wrote the subject access export for {data['apprentice']['candidate_number']} to {path}.", err=True)

"""`testengine bank ...`: validate, import, export, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from ..clock import utcnow
from .command import bank_group, fail, writes


@bank_group.command("validate")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def validate(path: Path) -> None:
    """Check a standard's folder; print every problem as FILE:LINE: message. Exit 0 clean, 2 otherwise."""
    import datetime as dt
    import os

    from flask import current_app, has_app_context

    from ..banks import load_standard, validate_standard
    from ..banks.lint import lint_loaded
    from ..config import ConfigError, bank_max_file_bytes

    try:
        limit = (
            int(current_app.config["TESTENGINE"]["BANK_MAX_FILE_BYTES"]) if has_app_context() else bank_max_file_bytes(os.environ)
        )
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    today = dt.datetime.now(dt.UTC).date()
    problems = validate_standard(path, today=today, max_file_bytes=limit)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(problems)} problem(s) in {path}", err=True)
        raise SystemExit(2)
    # The item linter: warnings are shown and do not block; an error blocks like a schema problem.
    report = lint_loaded(load_standard(path, today=today, max_file_bytes=limit))
    for finding in report.findings:
        click.echo(str(finding), err=True)
    if report.errors:
        click.echo(f"{len(report.errors)} item-writing error(s) in {path}", err=True)
        raise SystemExit(2)
    warnings = len(report.findings)
    click.echo(f"{path}: valid" + (f" ({warnings} item-writing warning(s))" if warnings else ""))


@bank_group.command("lint")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--standard", help="Lint question_banks/<STANDARD> (the configured banks folder)")
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
@with_appcontext
def lint(path: Path | None, standard: str | None, as_json: bool) -> None:
    """Item-writing faults (cueing, near-duplicates, option faults, marking guides, readability).

    Every finding as FILE:LINE: severity [rule] item: message. Exit 0 with no errors, 2 otherwise.
    """
    import datetime as dt

    from flask import current_app

    from ..banks import BankValidationError, load_standard
    from ..banks.lint import lint_loaded

    if (path is None) == (standard is None):
        fail("Give either a standard folder or --standard CODE.")
    folder = path if path is not None else Path(current_app.config["TESTENGINE"]["BANKS_DIR"]) / str(standard)
    if not folder.is_dir():
        fail(f"No bank folder {folder}")
    try:
        loaded = load_standard(folder, today=dt.datetime.now(dt.UTC).date())
    except BankValidationError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        fail(f"{folder} does not validate ({len(error.problems)} problem(s)); fix those first.")
    report = lint_loaded(loaded)
    if as_json:
        click.echo(json.dumps({"standard": loaded.spec.code, **report.as_dict()}, indent=2))
    else:
        for finding in report.findings:
            click.echo(str(finding))
        click.echo(
            f"{loaded.spec.code}: {len(report.errors)} error(s), "
            f"{len(report.findings) - len(report.errors)} warning(s); key strictly longest in "
            f"{report.key_longest_count} of {report.mcq_count} MCQs ({report.key_longest_share:.0%}, "
            f"p = {report.key_longest_p:.2g}); {len(report.undeclared_near_duplicates)} undeclared "
            "near-duplicate pair(s)"
        )
    if report.errors:
        raise SystemExit(2)


@bank_group.command("import")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
@writes
def import_(path: Path) -> None:
    """Import a standard's folder in one transaction: all of it, or nothing."""
    from flask import current_app

    from ..banks import BankValidationError, load_standard
    from ..banks.lint import lint_loaded
    from ..services.banks import import_bank
    from .progress import progress

    now = utcnow()
    try:
        limit = int(current_app.config["TESTENGINE"]["BANK_MAX_FILE_BYTES"])
        loaded = load_standard(path, today=now.date(), max_file_bytes=limit)
        # Item-writing errors block an import as a schema problem does; warnings are for reviewers.
        report = lint_loaded(loaded)
        if report.errors:
            for finding in report.errors:
                click.echo(str(finding), err=True)
            click.echo(f"Nothing imported: {len(report.errors)} item-writing error(s).", err=True)
            raise SystemExit(2)
        with progress(f"Importing {path.name}") as step:
            summary = import_bank(path, now=now, loaded=loaded, progress=step)
    except BankValidationError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo(f"Nothing imported: {len(error.problems)} problem(s).", err=True)
        raise SystemExit(2) from None
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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "qti3", "moodle-xml"]),
    default="yaml",
    show_default=True,
    help="yaml: bank files (a folder); qti3: a QTI 3.0 content package (a .zip); moodle-xml: one .xml file",
)
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def export(standard: str, fmt: str, path: Path) -> None:
    """Write the bank as files that validate and re-import (or convert back) to the same bank."""
    from ..services.banks import UnknownStandard, current_bank_questions, export_bank, get_standard

    if fmt == "yaml":
        if path.exists() and not path.is_dir():
            fail(f"{path} is a file: a yaml export writes a folder")
        try:
            count = export_bank(standard, path)
        except UnknownStandard as error:
            fail(str(error))
        click.echo(f"Wrote {count} questions to {path}")
        return
    from ..interop.export import exportable, moodle_xml, qti3_package

    if path.is_dir():
        fail(f"{path} is a folder: a {fmt} export writes one file")
    try:
        questions = current_bank_questions(get_standard(standard))
    except UnknownStandard as error:
        fail(str(error))
    data = qti3_package(standard, questions) if fmt == "qti3" else moodle_xml(standard, questions).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    written = exportable(questions)
    left = len(questions) - len(written)
    click.echo(
        f"Wrote {len(written)} questions to {path} ({fmt})"
        + (f"; {left} assessor question(s) stay in the bank files (the format has no place for them)" if left else "")
    )


@bank_group.command("report")
@click.option("--standard", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
@with_appcontext
def report(standard: str, as_json: bool) -> None:
    """Counts by type, status and KSB; review dates; papers and question sets one apprentice can meet without a repeat."""
    from ..services.bank_report import bank_report
    from ..services.banks import UnknownStandard

    try:
        data = bank_report(standard, utcnow().date())
    except UnknownStandard as error:
        fail(str(error))
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(f"{data['standard']} {data['title']}: {data['questions']} questions")
    if data["practice"]:
        click.echo("A practice bank: its papers are practice papers, which never count towards a result")
    click.echo("By status: " + ", ".join(f"{k} {v}" for k, v in sorted(data["by_status"].items())))
    click.echo("Approved and in review date: " + ", ".join(f"{k} {v}" for k, v in data["approved"].items()))
    click.echo("By KSB: " + ", ".join(f"{k} {v}" for k, v in data["ksb"].items()))
    due = data["due_for_review"]
    click.echo(
        f"Review: {due['overdue']} overdue (never drawn), {due['next_30_days']} due in 30 days, {due['next_90_days']} in 90 days"
    )
    click.echo(f"Papers without repeat for one apprentice: {data['papers_without_repeat']}")
    for method, figures in data["question_sets"].items():
        click.echo(
            f"Question sets for {method}: {figures['approved']} approved questions, {figures['questions_per_set']} per set"
            f" ({figures['pre_picked']} pre-picked) covering {' '.join(figures['required_ksbs'])};"
            f" sets without repeat for one apprentice: {figures['sets_without_repeat']}"
        )
    _print_parallel(data["parallel_papers"])


def _print_parallel(parallel: dict[str, Any]) -> None:
    """The spread of expected totals over simulated draws, without and with steering."""
    if "without_steering" not in parallel:
        click.echo(
            f"Parallel papers: {parallel['items_with_statistics']} drawable items have {parallel['min_responses']}+ marked"
            " responses; papers are not steered yet" + (f" ({parallel['error']})" if "error" in parallel else "")
        )
        return
    click.echo(
        f"Parallel papers: {parallel['items_with_statistics']} of {parallel['drawable_items']} drawable items have statistics;"
        f" target {parallel['with_steering']['target']:.1f} expected marks"
    )
    for label, key in (("without steering", "without_steering"), ("with steering", "with_steering")):
        s = parallel[key]
        click.echo(
            f"  {s['draws']} simulated papers {label}: expected total {s['mean']:.1f} (sd {s['sd']:.2f},"
            f" {s['lowest']:.1f} to {s['highest']:.1f}); {s['within_one_mark']:.1%} within 1 mark of the target"
        )


def _banks_dir() -> Path:
    import os

    from flask import current_app, has_app_context

    if has_app_context():
        return Path(current_app.config["TESTENGINE"]["BANKS_DIR"])
    return Path(os.environ.get("TESTENGINE_BANKS_DIR") or Path.cwd() / "question_banks")


@bank_group.command("convert")
@click.option("--from", "fmt", required=True, type=click.Choice(["moodle-xml", "gift", "qti"]), help="The source's format")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--standard", required=True, help="The standard the questions are for (its spec.yaml in the banks folder)")
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write question files into"
)
@click.option("--encoding", default=None, help="Encoding of a GIFT file without a byte-order mark (default UTF-8)")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON")
def convert_(fmt: str, source: Path, standard: str, out: Path, encoding: str | None, as_json: bool) -> None:
    """Convert Moodle XML, GIFT or QTI questions into bank files in OUT, with a report of every item.

    Exit 0 when every input was read, 2 when a file (or a package entry) is malformed or refused;
    the items that could be read are converted either way.
    """
    from ..interop import SourceError, convert

    spec_path = _banks_dir() / standard / "spec.yaml"
    if not spec_path.is_file():
        fail(f"no standard {standard!r}: {spec_path} does not exist")
    try:
        result = convert(fmt, source, spec_path=spec_path, out=out, today=utcnow().date(), encoding=encoding)
    except SourceError as unreadable:
        fail(str(unreadable))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(result.as_text())
    if result.errors:
        for problem in result.errors:
            click.echo(f"{problem.where}: {problem.message}", err=True)
        raise SystemExit(2)

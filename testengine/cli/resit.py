"""`testengine resit ...`: record the employer's agreement to a re-sit or re-take; ask what an apprentice may sit."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from ..clock import utcnow
from ..domain.errors import DomainError
from .command import fail, writes


@click.group("resit")
def resit_group() -> None:
    """Re-sits and re-takes: the employer's agreement, and eligibility."""


def _apprentice_and_standard(uln: str, code: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Apprentice
    from ..services.accounts import validate_uln
    from ..services.banks import get_standard

    standard = get_standard(code)
    apprentice = db.session.scalar(select(Apprentice).where(Apprentice.uln == validate_uln(uln)))
    if apprentice is None:
        raise DomainError(f"No apprentice with ULN {uln}.", code="unknown_apprentice")
    return apprentice, standard


@resit_group.command("agree")
@click.option("--candidate", "uln", required=True, help="The apprentice's 10-digit ULN")
@click.option("--standard", required=True)
@click.option("--method", required=True, help="The failed method's key (see `testengine grade --list-methods`)")
@click.option("--employer-contact", required=True, help="Who at the employer agreed")
@click.option("--agreed-on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="When they agreed (default today)")
@click.option("--further-learning", default=None, help="The further learning done: makes the attempt a re-take")
@with_appcontext
@writes
def agree(
    uln: str, standard: str, method: str, employer_contact: str, agreed_on: dt.datetime | None, further_learning: str | None
) -> None:
    """Record the employer's agreement to a re-sit (or, with --further-learning, a re-take) of a failed method."""
    from ..services import eligibility
    from ..services.accounts import AccountError

    now = utcnow()
    try:
        apprentice, standard_row = _apprentice_and_standard(uln, standard)
        agreement = eligibility.record_agreement(
            apprentice,
            standard_row,
            method,
            employer_contact=employer_contact,
            agreed_on=agreed_on.date() if agreed_on else now.date(),
            further_learning=further_learning,
            now=now,
            actor=None,
        )
    except (DomainError, AccountError) as refused:
        fail(str(refused))
    kind = "re-take" if agreement.further_learning else "re-sit"
    click.echo(
        f"Recorded: {agreement.employer_contact} agreed on {agreement.agreed_on.isoformat()} to a {kind} of "
        f"{method} for {apprentice.candidate_number}."
    )


@resit_group.command("check")
@click.option("--candidate", "uln", required=True, help="The apprentice's 10-digit ULN")
@click.option("--standard", required=True)
@click.option("--method", default=None, help="The method (default: the knowledge test)")
@with_appcontext
def check(uln: str, standard: str, method: str | None) -> None:
    """Print the kind of attempt (first, resit, retake) the apprentice may sit now, or the rule that refuses it."""
    from ..services import eligibility
    from ..services.accounts import AccountError

    try:
        apprentice, standard_row = _apprentice_and_standard(uln, standard)
        decision = eligibility.check(apprentice, standard_row, method, today=utcnow().date())
    except (DomainError, AccountError) as refused:
        fail(str(refused))
    click.echo(decision.kind.value)

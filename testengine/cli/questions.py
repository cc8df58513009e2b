"""`testengine questions ...`: draw the question set for an assessor-led method, show a recorded one."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ..clock import utcnow
from ..domain.errors import DomainError
from .command import fail, writes


@click.group("questions")
def questions_group() -> None:
    """Question sets for observation, presentation and professional discussion."""


def _print_set(record, rows, as_json: bool, reproduced: bool | None = None) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        payload = {
            "set": record.id,
            "method": record.method_key,
            "seed": record.seed,
            "pre_picked": record.pre_picked,
            "questions": rows,
        }
        if reproduced is not None:
            payload["reproduced"] = reproduced
        click.echo(json.dumps(payload))
        return
    click.echo(
        f"Question set {record.id} for {record.method_key} (seed {record.seed}): {len(rows)} questions, "
        f"{record.pre_picked} pre-picked, {len(rows) - record.pre_picked} the assessor may swap"
    )
    if reproduced is not None:
        click.echo(f"Redrawn from its seed and inputs: {'identical' if reproduced else 'DIFFERENT'}")
    for row in rows:
        mark = "pre-picked" if row["pre_picked"] else "assessor's choice"
        click.echo(f"{row['position']:>3}. {row['id']}  [{' '.join(row['ksb'])}]  {mark}")
        click.echo(f"     {row['stem']}")


@questions_group.command("draw")
@click.option("--standard", required=True)
@click.option("--method", "method_key", required=True, help="The method's key in spec.yaml (e.g. observation)")
@click.option("--candidate", "uln", required=True, help="The apprentice's 10-digit ULN")
@click.option("--seed", type=int, default=None, help="Fix the seed (for rehearsals and audits)")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@writes
def draw(standard: str, method_key: str, uln: str, seed: int | None, as_json: bool) -> None:
    """Draw and record a question set for an apprentice; exit 2 naming what ran out when the bank cannot."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Apprentice
    from ..services.accounts import AccountError, next_candidate_number, validate_uln
    from ..services.banks import get_standard
    from ..services.question_sets import draw_set, set_view

    try:
        uln = validate_uln(uln)
        standard_row = get_standard(standard)
        apprentice = db.session.scalar(select(Apprentice).where(Apprentice.uln == uln))
        if apprentice is None:
            apprentice = Apprentice(
                uln=uln, candidate_number=next_candidate_number(), given_name="", family_name="", created_at=utcnow()
            )
            db.session.add(apprentice)
            db.session.flush()
        record = draw_set(apprentice, standard_row, method_key, now=utcnow(), actor=None, seed=seed)
        rows = set_view(record)
    except (DomainError, AccountError) as refused:
        fail(str(refused))
    _print_set(record, rows, as_json)


@questions_group.command("show")
@click.argument("set_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def show(set_id: int, as_json: bool) -> None:
    """Show a recorded set and whether a redraw from its seed gives the same questions."""
    from ..extensions import db
    from ..models import QuestionSetDraw
    from ..services.question_sets import reproduce_set, set_view

    record = db.session.get(QuestionSetDraw, set_id)
    if record is None:
        fail(f"No question set {set_id}.")
    _redrawn, same = reproduce_set(record)
    _print_set(record, set_view(record), as_json, reproduced=same)


@questions_group.command("appoint")
@click.option("--assessor", "assessor_email", required=True, help="The assessor's account email")
@click.option("--candidate", "uln", required=True, help="The apprentice's 10-digit ULN")
@click.option("--standard", required=True)
@click.option("--method", "method_key", required=True)
@click.option(
    "--at",
    "when",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    help="When (UTC), e.g. 2026-12-10T09:30",
)
@with_appcontext
@writes
def appoint(assessor_email: str, uln: str, standard: str, method_key: str, when) -> None:  # type: ignore[no-untyped-def]
    """Book an assessor with an apprentice for an assessor-led method (an administrator's task)."""
    import datetime as dt

    from sqlalchemy import select

    from ..extensions import db
    from ..models import Apprentice, User
    from ..services import appointments
    from ..services.accounts import AccountError, validate_uln
    from ..services.banks import get_standard

    try:
        uln = validate_uln(uln)
        standard_row = get_standard(standard)
        apprentice = db.session.scalar(select(Apprentice).where(Apprentice.uln == uln))
        if apprentice is None:
            raise DomainError(f"No apprentice with ULN {uln}.", code="not_found")
        assessor = db.session.scalar(select(User).where(User.email == assessor_email.strip().lower()))
        if assessor is None:
            raise DomainError(f"No account {assessor_email}.", code="not_found")
        appointment = appointments.create(
            apprentice=apprentice,
            standard=standard_row,
            method_key=method_key,
            assessor=assessor,
            scheduled_for=when.replace(tzinfo=dt.UTC),
            now=utcnow(),
            actor=None,
        )
    except (DomainError, AccountError) as refused:
        fail(str(refused))
    click.echo(
        f"Appointment {appointment.id}: {assessor.email} with {apprentice.candidate_number} for {method_key} at {when:%Y-%m-%d %H:%M} UTC"
    )

"""`testengine paper ...`: issue a paper to an apprentice, show a recorded paper."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ..clock import utcnow
from ..domain.attempt_states import AttemptKind
from ..domain.errors import DomainError
from .command import fail, paper_group, writes


@paper_group.command("draw")
@click.option("--standard", required=True)
@click.option("--candidate", "uln", required=True, help="The apprentice's 10-digit ULN")
@click.option("--seed", type=int, default=None, help="Fix the seed (for rehearsals and audits)")
@click.option(
    "--kind",
    type=click.Choice([kind.value for kind in AttemptKind]),
    default=None,
    help="Refuse unless the apprentice's history makes the attempt this kind (the kind is never chosen here)",
)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@writes
def draw(standard: str, uln: str, seed: int | None, kind: str | None, as_json: bool) -> None:
    """Issue and record a paper, if the apprentice may sit the test now; never prints answers or keys.

    Whether it is a first attempt, a re-sit or a re-take follows from the apprentice's history
    (results, the employer's agreement, the window); a refusal names the rule.
    """
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Apprentice
    from ..services import eligibility
    from ..services.accounts import AccountError, next_candidate_number, validate_uln
    from ..services.banks import get_standard
    from ..services.papers import issue_paper

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
        now = utcnow()
        if kind is not None:
            derived = eligibility.check(apprentice, standard_row, today=now.date()).kind.value
            if derived != kind:
                raise DomainError(
                    f"This would be a {derived} attempt, not a {kind} (the kind follows from the history).", code="kind_mismatch"
                )
        attempt = issue_paper(apprentice, standard_row, now=now, actor=None, seed=seed)
    except (DomainError, AccountError) as refused:
        fail(str(refused))
    questions = [
        {"id": aq.version.question.external_id, "type": aq.version.type, "marks": aq.marks, "ksb": list(aq.version.ksb)}
        for aq in attempt.questions
    ]
    if as_json:
        click.echo(json.dumps({"attempt": attempt.id, "kind": attempt.kind, "seed": attempt.seed, "questions": questions}))
        return
    click.echo(
        f"Attempt {attempt.id} ({attempt.kind}) for {apprentice.candidate_number} (seed {attempt.seed}): {len(questions)} questions, {sum(q['marks'] for q in questions)} marks"
    )
    for position, q in enumerate(questions, start=1):
        click.echo(f"{position:>3}. {q['id']}  {q['type']}  {q['marks']}  {' '.join(q['ksb'])}")


@paper_group.command("show")
@click.argument("attempt_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def show(attempt_id: int, as_json: bool) -> None:
    """Show a recorded paper (for administrators): each question's version and option order, and whether a redraw matches."""
    from ..extensions import db
    from ..models import Attempt
    from ..services.papers import reproduce_paper

    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        fail(f"No attempt {attempt_id}.")
    _paper, matches = reproduce_paper(attempt)
    rows = [
        {
            "position": aq.position,
            "id": aq.version.question.external_id,
            "version": aq.version.version,
            "type": aq.version.type,
            "marks": aq.marks,
            "ksb": list(aq.version.ksb),
            "option_order": aq.option_order,
            "stem": aq.version.stem,
        }
        for aq in attempt.questions
    ]
    if as_json:
        click.echo(
            json.dumps(
                {"attempt": attempt.id, "seed": attempt.seed, "state": attempt.state, "reproduced": matches, "questions": rows}
            )
        )
        return
    click.echo(f"Attempt {attempt.id}: seed {attempt.seed}, state {attempt.state}, issued {attempt.issued_at:%Y-%m-%d %H:%M} UTC")
    click.echo(f"Redrawn from its seed and inputs: {'identical' if matches else 'DIFFERENT'}")
    for row in rows:
        click.echo(f"{row['position']:>3}. {row['id']} v{row['version']}  {row['type']}  {row['marks']}  {' '.join(row['ksb'])}")
        click.echo(f"     {row['stem'][:110]}")

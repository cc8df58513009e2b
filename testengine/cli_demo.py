"""`testengine demo` (a ready-to-use demonstration) and `testengine sweep` (submit attempts whose time ran out)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .cli import login_url, write_lock
from .clock import utcnow
from .domain.attempt_states import AttemptState
from .domain.sitting_states import SittingState

DEMO_PEOPLE = [
    # email, name, roles, uln, moderator
    ("admin@demo.test", "Alex Admin", ["admin"], None, False),
    ("invigilator@demo.test", "Sam Invigilator", ["invigilator"], None, False),
    ("marker@demo.test", "Jo Marker", ["marker"], None, False),
    ("moderator@demo.test", "Pat Moderator", ["marker"], None, True),
    ("reviewer@demo.test", "Robin Reviewer", ["reviewer"], None, False),
    ("reviewer2@demo.test", "Morgan Reviewer", ["reviewer"], None, False),
    ("apprentice1@demo.test", "Avery Apprentice", ["apprentice"], "1000000001", False),
    ("apprentice2@demo.test", "Bailey Apprentice", ["apprentice"], "1000000002", False),
    ("apprentice3@demo.test", "Casey Apprentice", ["apprentice"], "1000000003", False),
]


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the server will listen (for the address printed)")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="The server's port (for the address printed)")
@with_appcontext
@write_lock
def demo(host: str, port: int) -> None:
    """Set up a demonstration: schema, the ST0663 and ST1379 banks, a user for every role, a sitting open now.

    Prints each demo user's password. Running it again resets those passwords and keeps everything else.
    """
    from flask_migrate import upgrade
    from sqlalchemy import select

    from .extensions import db
    from .models import Sitting, User
    from .services import accounts, sittings
    from .services.adjustments import add_adjustment
    from .services.banks import get_standard, import_bank

    upgrade(directory=current_app.extensions["migrate"].directory)
    now = utcnow()
    banks = Path(current_app.config["TESTENGINE"]["BANKS_DIR"])
    for code in ("ST0663", "ST1379"):
        summary = import_bank(banks / code, now=now)
        click.echo(f"Bank {code}: {summary.as_dict()}")
    passwords: list[tuple[str, str, str]] = []
    users: dict[str, User] = {}
    for email, name, roles, uln, moderator in DEMO_PEOPLE:
        password = accounts.generate_password()
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            # The demo's own people live at demo.test, a reserved test domain: allowed for them alone.
            user = accounts.create_user(email=email, display_name=name, password=password, roles=roles, uln=uln, moderator=moderator,
                                        allow_test_domains=True)
        else:
            accounts.reset_password(user, password, None, temporary=False)
        users[email] = user
        passwords.append((", ".join(roles) + (" (moderator)" if moderator else ""), email, password))
    standard = get_standard("ST0663")
    sitting = db.session.scalar(select(Sitting).where(Sitting.title == "Demo sitting: ST0663 knowledge test", Sitting.state != SittingState.CLOSED.value))
    if sitting is None:
        sitting = sittings.create_sitting(
            standard=standard, title="Demo sitting: ST0663 knowledge test", venue="Training room 1, Leeds",
            remote=False, window_start=now - dt.timedelta(minutes=5), window_end=now + dt.timedelta(hours=3), now=now, actor=None,
        )
        invigilator = users["invigilator@demo.test"]
        sittings.assign_invigilator(sitting, invigilator, actor=None)
        sittings.sign_in(sitting, invigilator, now=now)
        from .policy import load_policy

        sittings.confirm_venue(sitting, {item.key: True for item in load_policy().venue_checklist}, now=now, actor=invigilator)
        third = users["apprentice3@demo.test"].apprentice
        add_adjustment(third, kind="extra_time", extra_percent=25, extra_minutes=0, reason="Dyslexia: specialist assessment report seen",
                       approval_reference="RA-DEMO-001", approved_by="Alex Admin", expires_on=None, now=now, actor=None)
        for index, email in enumerate(["apprentice1@demo.test", "apprentice2@demo.test", "apprentice3@demo.test"], start=1):
            booking = sittings.book(sitting, users[email].apprentice, now=now, actor=None)
            if index < 3:  # the third waits for the invigilator to check them in
                booking.checked_in_at = None
                sittings.check_in(booking, document_type="driving_licence", last_digits=f"00{index:02d}", photo_matched=True,
                                  uln_confirmed=True, seat=f"A{index}", now=now - dt.timedelta(minutes=6), actor=invigilator)
                sittings.prepare_paper(booking, now=now, actor=invigilator)
    from .demo_assessor import seed_assessor  # an assessor with an ST1379 appointment (see that module)

    seed_assessor(now, passwords)
    db.session.commit()
    click.echo("")
    click.echo("Demo users (keep these; run `testengine demo` again to reset them):")
    for roles, email, password in passwords:
        click.echo(f"  {roles:<24} {email:<26} {password}")
    click.echo("")
    click.echo(f"A sitting is open now: '{sitting.title}'. Apprentices 1 and 2 are checked in and can start;")
    click.echo("apprentice 3 (25% extra time) waits for the invigilator to check them in.")
    click.echo(f"Start the server with: testengine serve --host {host} --port {port}   (then open {login_url(host, port)})")


@click.command("sweep")
@with_appcontext
@write_lock
def sweep() -> None:
    """Submit every attempt whose time (plus the network grace) has run out. Safe to run from cron every minute."""
    from sqlalchemy import select

    from .extensions import db
    from .models import Attempt
    from .services.sweeps import finalise_each

    now = utcnow()
    attempts = list(db.session.scalars(select(Attempt).where(Attempt.state == AttemptState.IN_PROGRESS.value, Attempt.deadline_at.is_not(None)).order_by(Attempt.id)))
    report = finalise_each(attempts, now)  # each attempt on its own: one failure never stops the others
    db.session.commit()
    from .ops.metrics import SWEEP_RUNS, SWEEP_SUBMITTED

    SWEEP_RUNS.inc()
    SWEEP_SUBMITTED.inc(len(report.submitted))
    click.echo(f"Submitted {len(report.submitted)} attempt(s) whose time was up.")
    for note in report.unreadable:
        click.echo(f"Unreadable response, {note}.")
    for attempt_id, error in sorted(report.failed.items()):
        click.echo(f"Could not submit attempt {attempt_id}: {error}", err=True)
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} attempt(s) could not be submitted; see above and the audit log (attempt.submit_failed).")

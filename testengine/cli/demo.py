"""`testengine demo` (a ready-to-use demonstration) and `testengine sweep` (submit attempts whose time ran out)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from ..clock import utcnow
from ..domain.attempt_states import AttemptState
from ..domain.errors import DomainError
from ..domain.sitting_states import SittingState
from .command import writes
from .ops import login_url

if TYPE_CHECKING:
    from ..services.sweeps import SweepReport

DEMO_PEOPLE = [
    # email, name, roles, uln, moderator
    ("admin@demo.test", "Alex Admin", ["admin"], None, False),
    ("admin2@demo.test", "Blake Admin", ["admin"], None, False),
    ("invigilator@demo.test", "Sam Invigilator", ["invigilator"], None, False),
    ("marker@demo.test", "Jo Marker", ["marker"], None, False),
    ("moderator@demo.test", "Pat Moderator", ["marker"], None, True),
    ("moderator2@demo.test", "Lee Moderator", ["marker"], None, True),
    ("reviewer@demo.test", "Robin Reviewer", ["reviewer"], None, False),
    ("reviewer2@demo.test", "Morgan Reviewer", ["reviewer"], None, False),
    ("apprentice1@demo.test", "Avery Apprentice", ["apprentice"], "1000000001", False),
    ("apprentice2@demo.test", "Bailey Apprentice", ["apprentice"], "1000000002", False),
    ("apprentice3@demo.test", "Casey Apprentice", ["apprentice"], "1000000003", False),
    ("apprentice4@demo.test", "Dana Apprentice", ["apprentice"], "1000000004", False),
]
SITTING = "Demo sitting: ST0663 knowledge test"
NEXT_SITTING = "Demo sitting: ST0663 knowledge test, next week"
REVIEW_DUE = 3  # questions put in the review queue: one overdue, the rest due soon
TRY = [
    (
        "apprentice",
        "apprentice1@demo.test",
        "Start the test (then Start now), answer a few questions, Submit; after release, My results and the letter.",
    ),
    (
        "invigilator",
        "invigilator@demo.test",
        "The open sitting's board: check in apprentice 3, pause the room; the next sitting: confirm the venue.",
    ),
    (
        "marker",
        "marker@demo.test",
        "Standardise on a short-answer question (agree with the reference marks), then mark the next script.",
    ),
    (
        "moderator",
        "moderator@demo.test",
        "Draw the second-marking sample for the open sitting, second-mark; disagreements go to the other moderator.",
    ),
    ("moderator", "moderator2@demo.test", "Resolve the disagreements the first moderator's second marks raised."),
    (
        "admin",
        "admin@demo.test",
        "Results: Dana Apprentice's ST1379 grades are ready to sign off; Users: add apprentice5@demo.test.",
    ),
    ("admin", "admin2@demo.test", "Release what the first admin signed off (a different admin must release it)."),
    ("reviewer", "reviewer@demo.test", "The review queue: questions due, keep or propose a revision."),
    (
        "reviewer",
        "reviewer2@demo.test",
        "Approve the revision Robin Reviewer proposed (the change is highlighted), or reject it with a reason.",
    ),
    (
        "assessor",
        "assessor@demo.test",
        "The ST1379 professional discussion appointment: declare no conflict, open the set, record evidence and a grade.",
    ),
    (
        "apprentice",
        "apprentice2@demo.test",
        "Practice (in the menu): two practice papers' feedback and progress by KSB; start another, timed or untimed.",
    ),
    ("learner", "learner@demo.test", "A training provider's learner: take a practice paper and read its feedback by KSB."),
]


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the server will listen (for the address printed)")
@click.option(
    "--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="The server's port (for the address printed)"
)
@with_appcontext
@writes
def demo(host: str, port: int) -> None:
    """Set up a demonstration: schema, the ST0663 and ST1379 banks and the ST1380 practice bank, a user for every role, a sitting open now.

    Prints each demo user's password. Running it again resets those passwords and keeps everything else.
    """
    from flask_migrate import upgrade
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Sitting, User
    from ..service_settings import bank_max_file_bytes
    from ..services import accounts, sittings
    from ..services.adjustments import add_adjustment
    from ..services.banks import get_standard, import_bank

    upgrade(directory=current_app.extensions["migrate"].directory)
    now = utcnow()
    banks = Path(current_app.config["TESTENGINE"]["BANKS_DIR"])
    for code in ("ST0663", "ST1379", "ST1380"):
        summary = import_bank(banks / code, now=now, max_file_bytes=bank_max_file_bytes())
        click.echo(f"Bank {code}: {summary.as_dict()}")
    passwords: list[tuple[str, str, str]] = []
    users: dict[str, User] = {}
    for email, name, roles, uln, moderator in DEMO_PEOPLE:
        password = accounts.generate_password()
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            # The demo's own people live at demo.test, a reserved test domain: allowed for them alone.
            user = accounts.create_user(
                email=email,
                display_name=name,
                password=password,
                roles=roles,
                uln=uln,
                moderator=moderator,
                allow_test_domains=True,
            )
        else:
            accounts.reset_password(user, password, None, temporary=False)
        users[email] = user
        passwords.append((", ".join(roles) + (" (moderator)" if moderator else ""), email, password))
    standard = get_standard("ST0663")
    not_booked: list[str] = []
    sitting = db.session.scalar(select(Sitting).where(Sitting.title == SITTING, Sitting.state != SittingState.CLOSED.value))
    if sitting is None:
        sitting = sittings.create_sitting(
            standard=standard,
            title=SITTING,
            venue="Training room 1, Leeds",
            remote=False,
            window_start=now - dt.timedelta(minutes=5),
            window_end=now + dt.timedelta(hours=3),
            now=now,
            actor=None,
        )
        invigilator = users["invigilator@demo.test"]
        sittings.assign_invigilator(sitting, invigilator, actor=None)
        sittings.sign_in(sitting, invigilator, now=now)
        from ..policy import load_policy

        sittings.confirm_venue(sitting, {item.key: True for item in load_policy().venue_checklist}, now=now, actor=invigilator)
        third = users["apprentice3@demo.test"].apprentice
        add_adjustment(
            third,
            kind="extra_time",
            extra_percent=25,
            extra_minutes=0,
            reason="Dyslexia: specialist assessment report seen",
            approval_reference="RA-DEMO-001",
            approved_by="Alex Admin",
            expires_on=None,
            now=now,
            actor=None,
        )
        for index, email in enumerate(["apprentice1@demo.test", "apprentice2@demo.test", "apprentice3@demo.test"], start=1):
            try:
                with (
                    db.session.begin_nested()
                ):  # one apprentice who may not sit again (e.g. a fail not yet released) stops nobody else
                    booking = sittings.book(sitting, users[email].apprentice, now=now, actor=None)
                    if index < 3:  # the third waits for the invigilator to check them in
                        booking.checked_in_at = None
                        sittings.check_in(
                            booking,
                            document_type="driving_licence",
                            last_digits=f"00{index:02d}",
                            photo_matched=True,
                            uln_confirmed=True,
                            seat=f"A{index}",
                            now=now - dt.timedelta(minutes=6),
                            actor=invigilator,
                        )
                        sittings.prepare_paper(booking, now=now, actor=invigilator)
            except DomainError as refused:
                not_booked.append(f"{email} is not booked into the new sitting: {refused}")
    next_sitting = _next_sitting(users, now)
    standardised = _standardisation(users["moderator@demo.test"], now)
    due, revision = _review_queue(users["reviewer@demo.test"], now)
    _results_to_sign_off(users, now)
    from .demo_assessor import seed_assessor  # an assessor with an ST1379 appointment (see that module)

    seed_assessor(now, passwords)
    from .demo_practice import seed_practice  # the practice bank, practice papers for apprentice 2, a learner

    seed_practice(now, passwords)
    click.echo("")
    click.echo("Demo users (keep these; run `testengine demo` again to reset them):")
    for roles, email, password in passwords:
        click.echo(f"  {roles:<24} {email:<26} {password}")
    click.echo("")
    click.echo(f"A sitting is open now: '{sitting.title}'. Apprentices 1 and 2 are checked in and can start;")
    click.echo("apprentice 3 (25% extra time) waits for the invigilator to check them in.")
    for note in not_booked:
        click.echo(f"  {note}")
    click.echo(f"'{next_sitting.title}' ({next_sitting.venue}) waits for the invigilator to confirm its venue.")
    click.echo(
        f"Standardisation is set up for {standardised} short-answer questions; {due} questions are due for review,"
        f" and {revision} has a revision waiting for a second reviewer."
    )
    click.echo("Dana Apprentice (apprentice4) has ST1379 grades ready to sign off; a different admin releases them.")
    click.echo("")
    click.echo("What to try, by role (no command line needed):")
    for role, email, hint in TRY:
        click.echo(f"  {role:<12} {email:<24} {hint}")
    click.echo("")
    if current_app.config["TESTENGINE"].get("ALLOW_TEST_EMAIL_DOMAINS"):
        click.echo("TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS is true: the admin's web form accepts @demo.test addresses.")
    else:
        click.echo(
            "To add @demo.test people on the admin's web form, serve with TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS=true"
            " (scripts/demo sets it)."
        )
    click.echo(f"Start the server with: testengine serve --host {host} --port {port}   (then open {login_url(host, port)})")


def _next_sitting(users, now: dt.datetime):  # type: ignore[no-untyped-def]
    """A sitting next week, invigilator assigned, venue not yet confirmed: the invigilator's check to do."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Sitting
    from ..services import sittings
    from ..services.banks import get_standard

    sitting = db.session.scalar(select(Sitting).where(Sitting.title == NEXT_SITTING, Sitting.state != SittingState.CLOSED.value))
    if sitting is None:
        start = (now + dt.timedelta(days=7)).replace(hour=9, minute=30, second=0, microsecond=0)
        sitting = sittings.create_sitting(
            standard=get_standard("ST0663"),
            title=NEXT_SITTING,
            venue="Community hall, Bradford",
            remote=False,
            window_start=start,
            window_end=start + dt.timedelta(hours=3),
            now=now,
            actor=None,
        )
        sittings.assign_invigilator(sitting, users["invigilator@demo.test"], actor=None)
        sittings.book(sitting, users["apprentice4@demo.test"].apprentice, now=now, actor=None)
    return sitting


def _standardisation(moderator, now: dt.datetime) -> int:  # type: ignore[no-untyped-def]
    """Two reference answers (full marks, no marks) for every short-answer question of the demo's knowledge test.

    The full-marks answer is built from the question's own marking guide. Questions that already have
    items keep them, so a second run adds nothing.
    """
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Question, QuestionVersion, StandardisationItem
    from ..services.banks import get_standard
    from ..services.marking_quality import add_standardisation_item

    standard = get_standard("ST0663")
    have = set(db.session.scalars(select(StandardisationItem.question_id)))
    rows = db.session.execute(
        select(Question, QuestionVersion)
        .join(
            QuestionVersion, (QuestionVersion.question_id == Question.id) & (QuestionVersion.version == Question.current_version)
        )
        .where(Question.standard_id == standard.id, QuestionVersion.type == "short_answer")
        .order_by(Question.external_id)
    ).all()
    for question, version in rows:
        if question.id in have:
            continue
        guide = version.content.get("guide", {})
        points = list(guide.get("indicative_content", []))[:2]
        full = " ".join(points) if points else "A full answer that meets the two-mark descriptor."
        add_standardisation_item(
            question.id,
            response=full,
            reference_mark=version.marks,
            rationale=guide.get("two_marks") or "Meets the full-marks descriptor.",
            moderator=moderator,
            now=now,
        )
        add_standardisation_item(
            question.id,
            response="I am not sure; I would leave it for someone else to deal with.",
            reference_mark=0,
            rationale=guide.get("zero_marks") or "Nothing creditworthy.",
            moderator=moderator,
            now=now,
        )
    return len(rows)


def _review_queue(reviewer, now: dt.datetime) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Put a few ST0663 questions in the review queue (one overdue, the rest due soon) and propose a
    revision of another, for a second reviewer to approve. A second run changes nothing."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Question, QuestionReview, QuestionVersion
    from ..services import review
    from ..services.banks import as_bank_question, get_standard

    standard = get_standard("ST0663")
    mcqs = list(
        db.session.scalars(
            select(Question)
            .join(
                QuestionVersion,
                (QuestionVersion.question_id == Question.id) & (QuestionVersion.version == Question.current_version),
            )
            .where(Question.standard_id == standard.id, QuestionVersion.type == "mcq")
            .order_by(Question.external_id)
        )
    )
    due = mcqs[:REVIEW_DUE]
    today = now.date()
    for index, question in enumerate(due):
        if question.next_due is not None and question.next_due > today + dt.timedelta(days=30):
            question.next_due = today - dt.timedelta(days=3) if index == 0 else today + dt.timedelta(days=7 * index)
    target = mcqs[REVIEW_DUE]
    reviewed = db.session.scalar(select(QuestionReview.id).where(QuestionReview.question_id == target.id).limit(1))
    if reviewed is None and not review.pending_revisions([target.id]):
        current = db.session.scalar(
            select(QuestionVersion).where(
                QuestionVersion.question_id == target.id, QuestionVersion.version == target.current_version
            )
        )
        assert current is not None
        stem = current.stem.replace("What is the most appropriate first response?", "What should the practitioner do first?")
        if stem == current.stem:
            stem = current.stem.rstrip("?") + ", in your first contact with them?"
        review.propose_revision(
            target,
            stem=stem,
            content_fields={"options": as_bank_question(target, current).to_file_dict()["options"]},
            comments="Clearer wording: the stem should ask what to do first.",
            actor=reviewer,
            now=now,
        )
    db.session.flush()
    return len(due), target.external_id


def _results_to_sign_off(users, now: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """Dana Apprentice's two ST1379 method grades, recorded and waiting for an admin to sign them off."""
    from ..services import results
    from ..services.banks import get_standard

    standard = get_standard("ST1379")
    dana = users["apprentice4@demo.test"].apprentice
    if results.current_method_results(dana.id, standard.id):
        return
    admin = users["admin@demo.test"]
    for key, grade in (("observation", "distinction"), ("professional_discussion", "pass")):
        results.record_method_grade(
            dana,
            standard,
            method_key=key,
            grade=grade,
            assessed_on=now.date() - dt.timedelta(days=2),
            assessor="Jo Assessor",
            now=now,
            actor=admin,
        )


@click.command("sweep")
@with_appcontext
def sweep() -> None:
    """Submit every attempt whose time (plus the network grace) has run out. Safe to run from cron every minute."""
    report = _submit_the_overdue(utcnow())  # committed: what was submitted stays so even if some failed
    from ..ops.metrics import SWEEP_RUNS, SWEEP_SUBMITTED

    SWEEP_RUNS.inc()
    SWEEP_SUBMITTED.inc(len(report.submitted))
    click.echo(f"Submitted {len(report.submitted)} attempt(s) whose time was up.")
    for note in report.unreadable:
        click.echo(f"Unreadable response, {note}.")
    for attempt_id, error in sorted(report.failed.items()):
        click.echo(f"Could not submit attempt {attempt_id}: {error}", err=True)
    if report.failed:
        raise click.ClickException(
            f"{len(report.failed)} attempt(s) could not be submitted; see above and the audit log (attempt.submit_failed)."
        )


@writes
def _submit_the_overdue(now: dt.datetime) -> SweepReport:
    """Each attempt on its own (a savepoint each): one failure never stops the others."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Attempt
    from ..service_settings import attempt_settings
    from ..services.sweeps import finalise_each

    attempts = list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.state == AttemptState.IN_PROGRESS.value, Attempt.deadline_at.is_not(None))
            .order_by(Attempt.id)
        )
    )
    return finalise_each(attempts, now, attempt_settings())  # the configured grace, as the web's sweep uses

"""The access matrix: every registered route x anonymous and every role, with own and someone else's objects.

Expectations come from the rules themselves (`testengine.access`: each area's roles, the public
endpoints), so a route is covered the moment it is added. What the rules cannot say is which URL
parameters name the signed-in person's own object: that is the OWNED table. A route the matrix cannot
classify (no rule, a URL parameter it cannot fill, an ownable parameter missing from OWNED) fails the
test, naming the route.

Expected: anonymous -> 302 to /login for pages, 401 JSON for /api; a signed-in person whose role the
area does not allow -> 403; the right role -> neither, and for owned objects: their own -> not 404,
someone else's -> 404 (another person's attempt, booking, sitting or result does not exist for them).
Anything else (a server error, an exception) fails the test too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Blueprint
from sqlalchemy import select
from werkzeug.routing import AnyConverter

from testengine import access
from testengine.extensions import db
from testengine.models import Booking, MethodResult, Question, QuestionVersion
from tests.conftest import csrf_token_from

ROLES = ("apprentice", "invigilator", "marker", "reviewer", "admin", "assessor", "learner")
PERSONAS = ("anonymous", *ROLES)
SKIPPED_METHODS = {"HEAD", "OPTIONS"}

# Routes whose URL parameters name an object that belongs to the signed-in person:
# endpoint -> {parameter: kind}. Whose it is follows from the area's role (apprentice or invigilator).
ATTEMPT = {"attempt_id": "attempt"}
SITTING = {"sitting_id": "sitting"}
OWNED: dict[str, dict[str, str]] = {
    "apprentice.start": {"booking_id": "booking"},
    "apprentice.sit": ATTEMPT,
    "apprentice.finished": ATTEMPT,
    "apprentice.result": {"result_id": "result"},
    "api.attempts.status": ATTEMPT,
    "api.attempts.clock": ATTEMPT,
    "api.attempts.question": ATTEMPT,
    "api.attempts.save": ATTEMPT,
    "api.attempts.flag": ATTEMPT,
    "api.attempts.position": ATTEMPT,
    "api.attempts.event": ATTEMPT,
    "api.attempts.submit": ATTEMPT,
    "api.live.stream": ATTEMPT,
    "api.live.heartbeat": ATTEMPT,
    "api.attempts.capability": ATTEMPT,
    "api.lane.status": ATTEMPT,
    "api.lane.clock": ATTEMPT,
    "api.lane.question": ATTEMPT,
    "api.lane.save": ATTEMPT,
    "api.lane.flag": ATTEMPT,
    "api.lane.position": ATTEMPT,
    "api.lane.event": ATTEMPT,
    "api.bookings.start": {"booking_id": "booking"},
    "invigilator.sitting": SITTING,
    "invigilator.sign_in": SITTING,
    "invigilator.sign_out": SITTING,
    "invigilator.venue": SITTING,
    "invigilator.pause_room": SITTING,
    "invigilator.resume_room": SITTING,
    "invigilator.message": SITTING,
    "invigilator.incident": SITTING,
    "invigilator.close": SITTING,
    "invigilator.report": SITTING,
    "invigilator.check_in": {"sitting_id": "sitting", "booking_id": "booking"},
    "invigilator.absent": {"sitting_id": "sitting", "booking_id": "booking"},
    "invigilator.allow_device": {"sitting_id": "sitting", "booking_id": "booking"},
    "invigilator.attempt_action": {"sitting_id": "sitting", "attempt_id": "attempt"},
    "api.sittings.board": SITTING,
    "assessor.appointment": {"appointment_id": "appointment"},
    "assessor.declare": {"appointment_id": "appointment"},
    "assessor.open_set": {"appointment_id": "appointment"},
    "assessor.grade": {"appointment_id": "appointment"},
    "assessor.swap": {"appointment_id": "appointment"},
}
# Parameters that, in these roles' areas, can only name the person's own object: such a route must be in OWNED.
OWNABLE = {
    "apprentice": {"attempt_id", "booking_id", "result_id", "sitting_id"},
    "invigilator": {"attempt_id", "booking_id", "sitting_id"},
    "assessor": {"appointment_id"},
}

# Values for every other URL parameter, by name (any object of the kind will do), from the World.
PARAMETERS: dict[str, Callable[[World], Any]] = {
    "filename": lambda w: "css/app.css",
    "user_id": lambda w: w.spare_user_id,
    "apprentice_id": lambda w: w.apprentice_row_id,
    "sitting_id": lambda w: w.own[("invigilator", "sitting")],
    "attempt_id": lambda w: w.own[("apprentice", "attempt")],
    "booking_id": lambda w: w.own[("apprentice", "booking")],
    "result_id": lambda w: w.own[("apprentice", "result")],
    "position": lambda w: 1,
    "action": lambda w: "pause",
    "code": lambda w: "ST0663",
    "question_id": lambda w: w.question_id,
    "version_id": lambda w: w.version_id,
    "adjustment_id": lambda w: w.adjustment_id,
}

# JSON bodies that pass validation, so that ownership (not the body) decides the answer.
API_BODIES: dict[str, dict[str, Any]] = {
    "api.attempts.save": {"response": "An answer", "revision": 1, "client_token": "matrix"},
    "api.attempts.flag": {"flagged": True, "client_token": "matrix"},
    "api.attempts.position": {"position": 1, "client_token": "matrix"},
    "api.attempts.event": {"kind": "blur", "client_token": "matrix"},
    "api.attempts.submit": {"confirm": True, "client_token": "matrix"},
    "api.live.heartbeat": {"client_token": "matrix"},
    "api.lane.save": {"response": "An answer", "revision": 1},
    "api.lane.flag": {"flagged": True},
    "api.lane.position": {"position": 1},
    "api.lane.event": {"kind": "blur"},
}


@dataclass
class World:
    """The objects the matrix fills URLs with: each owning role's own objects, and someone else's."""

    own: dict[tuple[str, str], int] = field(default_factory=dict)
    others: dict[tuple[str, str], int] = field(default_factory=dict)
    spare_user_id: int = 0
    apprentice_row_id: int = 0
    question_id: int = 0
    version_id: int = 0
    adjustment_id: int = 0
    capability: str | None = None  # the apprentice's attempt capability, from their test page


@dataclass(frozen=True)
class Check:
    endpoint: str
    method: str
    persona: str
    expect: str  # open | login | forbidden | allowed | not_found | capability
    values: dict[str, Any]
    is_api: bool
    owned: bool = False


@dataclass
class Plan:
    checks: list[Check] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    endpoints: set[str] = field(default_factory=set)


def _area(endpoint: str) -> str | None:
    return endpoint.rpartition(".")[0] or None


def _fill(converter: Any, name: str, world: World) -> Any:
    if isinstance(converter, AnyConverter):
        return min(converter.items)
    return PARAMETERS[name](world)


def plan_for(app: Any, world: World) -> Plan:
    """Classify every route of `app` and list the requests to make; what cannot be classified is a problem."""
    plan = Plan()
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        plan.endpoints.add(endpoint)
        public = endpoint in access.PUBLIC_ENDPOINTS
        roles = access.AREA_RULES.get(_area(endpoint) or "")
        if not public and roles is None:
            plan.problems.append(f"{endpoint} ({rule.rule}): no access rule, and not public")
            continue
        owner = next(iter(roles)) if roles and len(roles) == 1 and next(iter(roles)) in OWNABLE else None
        owned = OWNED.get(endpoint, {})
        own_values: dict[str, Any] = {}
        cannot = False
        for name in sorted(rule.arguments):
            if name in owned:
                if owner is None:
                    plan.problems.append(f"{endpoint}: listed in OWNED but its area has no single owning role")
                    cannot = True
                    continue
                own_values[name] = world.own[(owner, owned[name])]
            elif owner is not None and name in OWNABLE[owner]:
                plan.problems.append(f"{endpoint} ({rule.rule}): <{name}> names the {owner}'s own object; add the route to OWNED")
                cannot = True
            elif name in PARAMETERS or isinstance(rule._converters.get(name), AnyConverter):
                own_values[name] = _fill(rule._converters.get(name), name, world)
            else:
                plan.problems.append(
                    f"{endpoint} ({rule.rule}): no value for <{name}>; add it to PARAMETERS (or the route to OWNED)"
                )
                cannot = True
        if cannot:
            continue
        is_api = rule.rule.startswith("/api/")
        for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
            for persona in PERSONAS:
                if public:
                    expect = "open"
                elif _area(endpoint) in access.CAPABILITY_AREAS and persona != owner:
                    # Let in by the attempt capability alone: whoever holds none is refused, signed in or not.
                    expect = "capability"
                elif persona == "anonymous":
                    expect = "login"
                elif roles and persona not in roles:
                    expect = "forbidden"
                else:
                    expect = "allowed"
                plan.checks.append(Check(endpoint, method, persona, expect, own_values, is_api, owned=bool(owned)))
                if expect == "allowed" and owned:
                    # Someone else's object in each owned parameter in turn (the others stay the person's own).
                    for name, kind in owned.items():
                        other = {**own_values, name: world.others[(owner, kind)]}  # type: ignore[index]
                        plan.checks.append(Check(endpoint, method, persona, "not_found", other, is_api, owned=True))
    return plan


def _send(app: Any, client: Any, csrf: str, check: Check, capability: str | None = None) -> Any:
    url = app.url_map.bind("localhost").build(check.endpoint, check.values, method=check.method)
    headers = {"X-CSRFToken": csrf}
    if capability is not None and _area(check.endpoint) in access.CAPABILITY_AREAS:
        headers["X-Attempt-Capability"] = capability  # the apprentice's own, from their test page
    if check.method == "GET":
        return client.get(url, headers=headers)
    if check.is_api:
        return client.open(url, method=check.method, json=API_BODIES.get(check.endpoint, {}), headers=headers)
    return client.open(url, method=check.method, data={"csrf_token": csrf}, headers=headers)


def _to_login(response: Any) -> bool:
    """Sent to sign in first (a refusal carries `next=`; signing out also lands on /login, without it)."""
    location = urlsplit(response.headers.get("Location", ""))
    return response.status_code == 302 and location.path == "/login" and "next=" in location.query


def verdict(check: Check, response: Any) -> str | None:
    """None if the response is what the rules promise; otherwise what went wrong."""
    status = response.status_code
    body = response.get_json(silent=True) if check.is_api else None
    if status >= 500:
        return f"server error {status}"
    if check.expect == "open":
        return None if status not in (401, 403) and not _to_login(response) else f"public route refused ({status})"
    if check.expect == "login":
        if check.is_api:
            return (
                None if status == 401 and body and body.get("error") == "login_required" else f"expected 401 JSON, got {status}"
            )
        return None if _to_login(response) else f"expected a redirect to /login, got {status} {response.headers.get('Location')}"
    if check.expect == "capability":
        return (
            None
            if status == 401 and body and body.get("error") == "capability_required"
            else f"expected 401 capability_required, got {status}"
        )
    if check.expect == "forbidden":
        if status != 403:
            return f"expected 403, got {status}"
        return None if not check.is_api or (body and body.get("error") == "forbidden") else f"expected JSON forbidden, got {body}"
    if check.expect == "not_found":
        return None if status == 404 else f"someone else's object gave {status}, not 404"
    if status in (401, 403) or _to_login(response):
        return f"the right role was refused ({status})"
    if check.owned and status == 404:
        return "the person's own object gave 404"
    return None


# --- the world: two rooms, two apprentices with started attempts and released results, a person per role ---


def _released_result(apprentice_id: int, standard_id: int, now: dt.datetime) -> int:
    row = MethodResult(
        apprentice_id=apprentice_id,
        standard_id=standard_id,
        method_key="presentation",
        grade="pass",
        achieved_grade="pass",
        marks=None,
        attempt_id=None,
        assessed_on=now.date(),
        assessor="Independent assessor",
        kind="first",
        current=True,
        recorded_at=now,
        status="released",
        signed_off_at=now,
        released_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row.id


@pytest.fixture
def world(app, st0663, room, make_user, start_sitter, login, clock) -> tuple[World, dict[str, Any], dict[str, str]]:
    from tests.factories import open_sitting

    sitter_a = start_sitter()
    invigilator_b = make_user("invigilator")
    room_b = open_sitting(st0663, [invigilator_b], clock.now())
    sitter_b = start_sitter(sitting=room_b)

    w = World()
    from testengine.services import appointments

    # Booked before the presentation results below: an appointment is booked only for a method still to pass.
    assessors = {"own": make_user("assessor"), "others": make_user("assessor")}
    for kind_of_person, sitter, target in (("own", sitter_a, w.own), ("others", sitter_b, w.others)):
        target[("assessor", "appointment")] = appointments.create(
            apprentice=sitter.user.apprentice,
            standard=st0663,
            method_key="presentation",
            assessor=assessors[kind_of_person],
            scheduled_for=clock.now(),
            now=clock.now(),
            actor=None,
        ).id
    for kind_of_person, sitter, sitting, target in (("own", sitter_a, room, w.own), ("others", sitter_b, room_b, w.others)):
        apprentice = sitter.user.apprentice
        booking = db.session.scalar(
            select(Booking).where(Booking.apprentice_id == apprentice.id, Booking.sitting_id == sitting.id)
        )
        target[("apprentice", "attempt")] = target[("invigilator", "attempt")] = sitter.attempt_id
        target[("apprentice", "booking")] = target[("invigilator", "booking")] = booking.id
        target[("invigilator", "sitting")] = sitting.id
        target[("apprentice", "result")] = _released_result(apprentice.id, st0663.id, clock.now())
        if kind_of_person == "own":
            w.apprentice_row_id = apprentice.id
            w.capability = sitter.capability
    w.spare_user_id = make_user("marker").id
    question = db.session.scalars(select(Question).where(Question.standard_id == st0663.id).order_by(Question.id)).first()
    w.question_id = question.id
    w.version_id = db.session.scalar(select(QuestionVersion.id).where(QuestionVersion.question_id == question.id))
    from testengine.services.adjustments import add_adjustment

    w.adjustment_id = add_adjustment(
        sitter_a.user.apprentice,
        kind="large_text",
        extra_percent=0,
        extra_minutes=0,
        reason="Visual impairment",
        approval_reference="RA-M",
        approved_by="Quality lead",
        expires_on=None,
        now=clock.now(),
        actor=None,
    ).id
    db.session.commit()

    clients: dict[str, Any] = {"anonymous": app.test_client(), "apprentice": sitter_a.client}
    csrf: dict[str, str] = {}
    # Each role at its fullest: the marker is a senior marker (moderator), so every marking page is theirs.
    # Finer rules inside an area (moderator-only pages, a second approver) are that area's own tests' business.
    people = {
        "invigilator": room.test_invigilator,
        "marker": make_user("marker", moderator=True),
        "reviewer": make_user("reviewer"),
        "admin": make_user("admin"),
        "assessor": assessors["own"],
        "learner": make_user("learner"),
    }
    for role, user in people.items():
        clients[role] = app.test_client()
        assert login(user, test_client=clients[role]).status_code == 302
    for persona in PERSONAS:
        # Any page carries the session's CSRF token; the not-found page depends on no area's code.
        page = clients[persona].get("/no-such-page")
        assert page.status_code == 404
        csrf[persona] = csrf_token_from(page.get_data(as_text=True))
    return w, clients, csrf


def _order(check: Check) -> tuple[int, int]:
    # Signing out ends the person's session, so it comes last for each of them.
    return (PERSONAS.index(check.persona), check.endpoint == "auth.logout")


def test_every_route_gives_each_person_what_the_rules_promise(app, world):
    w, clients, csrf = world
    plan = plan_for(app, w)
    assert not plan.problems, "Routes the access matrix cannot classify:\n  " + "\n  ".join(plan.problems)
    failures = []
    for check in sorted(plan.checks, key=_order):
        try:
            capability = w.capability if check.persona == "apprentice" else None
            response = _send(app, clients[check.persona], csrf[check.persona], check, capability)
        except Exception as error:  # noqa: BLE001  (the app raised: tests propagate what production turns into a 500)
            db.session.rollback()
            problem = f"raised {type(error).__name__}: {error}"
        else:
            problem = verdict(check, response)
        if problem:
            failures.append(f"{check.method} {check.endpoint} {check.values} as {check.persona}: {problem}")
    assert not failures, f"{len(failures)} of {len(plan.checks)} access checks failed:\n  " + "\n  ".join(failures)
    # Every registered route was checked for every person.
    checked = {(c.endpoint, c.persona) for c in plan.checks}
    assert {(e, p) for e in plan.endpoints for p in PERSONAS} <= checked


def test_the_matrix_reports_a_route_without_a_rule_and_the_app_refuses_it(app_config, tmp_path, make_user, login):
    """A test of the test: routes added without a rule are refused by the app and reported by the matrix."""
    from testengine import create_app

    other = create_app(app_config)
    other.instance_path = str(tmp_path / "other-instance")
    other.add_url_rule("/unruled", endpoint="unruled", view_func=lambda: "nobody should see this")
    other.add_url_rule("/api/unruled", endpoint="unruled_api", view_func=lambda: {"nobody": "should see this"})
    stray = Blueprint("stray", __name__, url_prefix="/stray")
    stray.add_url_rule("/", endpoint="index", view_func=lambda: "nor this")
    other.register_blueprint(stray)
    other.add_url_rule("/admin/things/<int:thing_id>", endpoint="admin.thing", view_func=lambda thing_id: "a new kind of object")
    other.add_url_rule(
        "/apprentice/attempts/<int:attempt_id>/notes", endpoint="apprentice.notes", view_func=lambda attempt_id: "own?"
    )

    # (a) The app refuses a route without a rule, to everyone, signed in or not.
    admin = make_user("admin")
    client = other.test_client()
    for path in ("/unruled", "/stray/"):
        assert client.get(path).status_code == 403
    refused = client.get("/api/unruled")
    assert refused.status_code == 403 and refused.get_json()["error"] == "no_access_rule"
    assert login(admin, test_client=client).status_code == 302
    assert client.get("/unruled").status_code == 403
    assert client.get("/stray/").status_code == 403
    assert client.get("/api/unruled").get_json()["error"] == "no_access_rule"

    # (b) The matrix reports each of them, by name, as well as routes it cannot fill or judge.
    placeholders = {(role, kind): 1 for role in OWNABLE for kind in ("attempt", "booking", "sitting", "result", "appointment")}
    problems = "\n".join(plan_for(other, World(own=placeholders, others=placeholders)).problems)
    for name in ("unruled (/unruled)", "unruled_api (/api/unruled)", "stray.index (/stray/)"):
        assert f"{name}: no access rule" in problems
    assert "admin.thing (/admin/things/<int:thing_id>): no value for <thing_id>" in problems
    assert (
        "apprentice.notes (/apprentice/attempts/<int:attempt_id>/notes): <attempt_id> names the apprentice's own object"
        in problems
    )
    with other.app_context():
        db.session.remove()
        db.engine.dispose()

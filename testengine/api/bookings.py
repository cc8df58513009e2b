"""Starting a booked test from the JSON API, for the apprentice whose booking it is."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from .. import access
from ..clock import utcnow
from ..extensions import db
from ..models import Booking
from ..services import sittings as sitting_service
from ..services import starts
from ..storage import reads_then_writes
from ..storage.requests import writing_from_here
from .errors import json_error

bp = Blueprint("bookings", __name__, url_prefix="/bookings")
access.restrict(bp, roles=("apprentice",), within="api")


@bp.errorhandler(sitting_service.SittingError)
def sitting_error(error: sitting_service.SittingError):  # type: ignore[no-untyped-def]
    return json_error(error.status, error.code, str(error))


@bp.post("/<int:booking_id>/start")
@reads_then_writes
def start(booking_id: int):  # type: ignore[no-untyped-def]
    """Start the test of this booking, by the same rules as the start button: the room's checks and
    the apprentice's eligibility (a refusal is 409 with the rule's code as `error`)."""
    apprentice = current_user.apprentice
    booking = db.session.get(Booking, booking_id)
    if apprentice is None or booking is None or booking.apprentice_id != apprentice.id:
        return json_error(404, "not_found", "No such booking.")
    ahead = starts.read_ahead(booking, now=utcnow())
    writing_from_here()
    attempt = starts.start(booking, now=utcnow(), actor=current_user, ahead=ahead)
    return {"attempt": attempt.id, "kind": attempt.kind, "state": attempt.state}

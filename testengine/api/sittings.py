"""The room board's data for invigilators, polled every few seconds."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from .. import access
from ..clock import utcnow
from ..service_settings import attempt_settings
from ..services import invigilation
from ..services import sittings as sitting_service
from ..storage.requests import write_apart
from .errors import json_error, refusal_status

bp = Blueprint("sittings", __name__, url_prefix="/sittings")
access.restrict(bp, roles=("invigilator",), within="api")


@bp.errorhandler(sitting_service.SittingError)
def sitting_error(error: sitting_service.SittingError):  # type: ignore[no-untyped-def]
    return json_error(refusal_status(error), error.code, str(error))


@bp.get("/<int:sitting_id>/board")
def board(sitting_id: int):  # type: ignore[no-untyped-def]
    now = utcnow()
    sitting = sitting_service.invigilator_sitting(sitting_id, current_user)
    room = invigilation.load_room(sitting)
    failed: dict[int, str] = {}
    if room.has_expired_attempts(now, settings=attempt_settings()):
        # Only then the write lock: submit what ran out (each submit re-checks its row), then read again.
        failed = write_apart(lambda: sitting_service.sweep(sitting, now, settings=attempt_settings())).failed
        room = invigilation.load_room(sitting)
    return invigilation.board(sitting, now, room, failed)

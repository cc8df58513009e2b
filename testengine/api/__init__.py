"""The JSON API: one parent area that needs a signed-in user, and child areas per role."""

from __future__ import annotations

from flask import Blueprint

from .. import access

bp = Blueprint("api", __name__, url_prefix="/api")
access.restrict(bp, roles=())


from ..fast_lane.views import bp as lane_bp  # noqa: E402
from .attempts import bp as attempts_bp  # noqa: E402
from .bookings import bp as bookings_bp  # noqa: E402
from .live import bp as live_bp  # noqa: E402
from .sittings import bp as sittings_bp  # noqa: E402

bp.register_blueprint(attempts_bp)
bp.register_blueprint(bookings_bp)
bp.register_blueprint(live_bp)
bp.register_blueprint(sittings_bp)
bp.register_blueprint(lane_bp)


@bp.route("/me")
def me():  # type: ignore[no-untyped-def]
    from flask_login import current_user

    return {"id": current_user.id, "roles": sorted(current_user.roles)}

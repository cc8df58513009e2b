"""The invigilator's area: their sittings, check-in, the live room board, incidents."""

from __future__ import annotations

from flask import Blueprint, render_template

from .. import access

bp = Blueprint("invigilator", __name__, url_prefix="/invigilate")
access.restrict(bp, roles=("invigilator",))


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("invigilator/home.html", sittings=[])

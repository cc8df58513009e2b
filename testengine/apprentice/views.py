"""The apprentice's area: their sittings, the test itself, their results."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from .. import access

bp = Blueprint("apprentice", __name__, url_prefix="/apprentice")
access.restrict(bp, roles=("apprentice",))


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("apprentice/home.html", apprentice=current_user.apprentice, attempts=[])

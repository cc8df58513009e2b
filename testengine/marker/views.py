"""The marker's area: standardisation and the short-answer marking queue."""

from __future__ import annotations

from flask import Blueprint, render_template

from .. import access

bp = Blueprint("marker", __name__, url_prefix="/mark")
access.restrict(bp, roles=("marker",))


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("marker/home.html", queue=[])

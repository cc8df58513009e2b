"""The bank reviewer's area: the review queue, item statistics, versioned edits."""

from __future__ import annotations

from flask import Blueprint, render_template

from .. import access

bp = Blueprint("reviewer", __name__, url_prefix="/review")
access.restrict(bp, roles=("reviewer",))


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("reviewer/home.html", due=[])

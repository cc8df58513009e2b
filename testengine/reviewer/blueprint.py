"""The reviewer area's blueprint, on its own so that every module of routes can import it and the package's
__init__ can import them all (nothing imports back up)."""

from __future__ import annotations

from flask import Blueprint

from .. import access

bp = Blueprint("reviewer", __name__, url_prefix="/review")
access.restrict(bp, roles=("reviewer",))

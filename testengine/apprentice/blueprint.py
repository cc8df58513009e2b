"""The apprentice area's blueprint, on its own so that every module of routes can import it and the package's
__init__ can import them all (nothing imports back up)."""

from __future__ import annotations

from flask import Blueprint

from .. import access

bp = Blueprint("apprentice", __name__, url_prefix="/apprentice")
access.restrict(bp, roles=("apprentice",))

"""Warm-up before the development server takes its first request.

Without it the first page pays for what every later page gets for free: opening the database, compiling
the templates, the dummy password hash (about half a second of argon2id), the lazily imported modules.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import text


def warm_up(app: Flask) -> None:
    """Open the database, render the sign-in page once and make the dummy password hash."""
    from .extensions import db
    from .services.accounts import prepare_dummy_hash

    with app.app_context():
        db.session.execute(text("select 1"))
        db.session.remove()
        prepare_dummy_hash()
    response = app.test_client().get("/login")
    if response.status_code != 200:
        raise RuntimeError(f"The sign-in page answered {response.status_code} while warming up.")
    app.jinja_env.get_template("base.html")

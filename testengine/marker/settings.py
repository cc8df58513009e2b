"""The running app's settings, as the marking services take them (they read no app themselves)."""

from __future__ import annotations

from flask import current_app

from ..services.marking import MarkingSettings


def marking_settings() -> MarkingSettings:
    """TESTENGINE_CLAIM_MINUTES and the secret key that shuffles each marker's order."""
    return MarkingSettings(
        claim_minutes=int(current_app.config["TESTENGINE"]["CLAIM_MINUTES"]),
        secret=str(current_app.secret_key or "").encode(),
    )

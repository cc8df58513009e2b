"""The running app's settings, as the services take them: they are given settings and read no app themselves."""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context

from .services.attempts import AttemptSettings
from .services.marking import MarkingSettings


def attempt_settings() -> AttemptSettings:
    """TESTENGINE_SAVE_GRACE_SECONDS, and how long a save waits for the group commit (the busy timeout and a margin)."""
    settings = current_app.config["TESTENGINE"]
    return AttemptSettings(
        grace=dt.timedelta(seconds=int(settings["SAVE_GRACE_SECONDS"])),
        write_timeout=int(settings["SQLITE_BUSY_TIMEOUT_MS"]) / 1000 + 5.0,
    )


def marking_settings() -> MarkingSettings:
    """TESTENGINE_CLAIM_MINUTES and the secret key that shuffles each marker's order."""
    return MarkingSettings(
        claim_minutes=int(current_app.config["TESTENGINE"]["CLAIM_MINUTES"]),
        secret=str(current_app.secret_key or "").encode(),
    )


def test_email_domains_allowed() -> bool:
    """TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS (false outside an app, e.g. a bare script)."""
    return bool(current_app.config["TESTENGINE"].get("ALLOW_TEST_EMAIL_DOMAINS", False)) if has_app_context() else False


def bank_max_file_bytes() -> int:
    """TESTENGINE_BANK_MAX_FILE_BYTES of the running app (the loader's default outside one)."""
    from .banks.loader import DEFAULT_MAX_FILE_BYTES

    settings = current_app.config.get("TESTENGINE") if has_app_context() else None
    return int(settings["BANK_MAX_FILE_BYTES"]) if settings else DEFAULT_MAX_FILE_BYTES

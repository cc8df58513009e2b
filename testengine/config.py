"""Settings: defaults, then TESTENGINE_* environment variables, then an explicit mapping.

Read when the app is created, never at import time. A bad setting stops the app at start-up
with a message that names it, rather than failing later in the middle of a sitting.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PREFIX = "TESTENGINE_"


class ConfigError(RuntimeError):
    """A setting is missing or invalid."""


# name -> (default, parser, description). Defaults that depend on the instance folder are None here.
def _int(value: str) -> int:
    return int(value)


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not a time zone name (for example Europe/London)") from None
    return value


SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "DATABASE_URL": (None, str, "SQLAlchemy URL; default a SQLite file in the instance folder"),
    "SECRET_KEY": (None, str, "signs sessions and CSRF tokens; generated once into the instance folder"),
    "BANKS_DIR": (None, str, "folder of standards' bank files; default ./question_banks"),
    "SECURE_COOKIES": (False, _bool, "send cookies only over HTTPS (set true behind TLS)"),
    "CSRF_TIME_LIMIT": (12 * 3600, _int, "seconds a form token stays valid; must outlast the longest sitting"),
    "SAVE_GRACE_SECONDS": (60, _int, "network grace after the deadline for answers already in flight"),
    "LIVE_STREAM_SECONDS": (
        25,
        _int,
        "how long one live-update stream of a sitting page stays open before the browser reconnects",
    ),
    "LIVE_STREAMS_PER_PROCESS": (
        16,
        _int,
        "live-update streams one server process holds at once (each holds a thread); beyond it pages poll the clock",
    ),
    "LOGIN_FAILURES_ALLOWED": (5, _int, "wrong passwords for one account before it is throttled"),
    "LOGIN_LOCK_SECONDS": (300, _int, "how long a throttled account waits"),
    "RATELIMIT_STORAGE_URI": (
        "memory://",
        str,
        "Flask-Limiter storage: database:// keeps the counts in the app's database, shared by many hosts",
    ),
    "RATELIMIT_PER_ADDRESS": ("600 per minute", str, "requests to the login form per address"),
    "DISPLAY_TIMEZONE": ("Europe/London", _timezone, "time zone of times shown in letters and reports (times are stored in UTC)"),
    "RETENTION_DAYS": (2190, _int, "days after a result is released before personal data is pseudonymised"),
    "CLAIM_MINUTES": (20, _int, "minutes a marker's claim on a response lasts if abandoned"),
    "SQLITE_BUSY_TIMEOUT_MS": (30000, _int, "how long a SQLite writer waits for the lock"),
    "ARGON2_TIME_COST": (3, _int, "argon2id passes"),
    "ARGON2_MEMORY_KIB": (65536, _int, "argon2id memory per hash, in KiB"),
    "ALLOW_TEST_EMAIL_DOMAINS": (
        False,
        _bool,
        "accept reserved test domains (.test, .example, example.com/.net/.org) in email addresses: demo and test systems only",
    ),
    "RELEASE_NEEDS_SECOND_ADMIN": (
        True,
        _bool,
        "a result is released by a different administrator from the one who signed it off",
    ),
    "BANK_MAX_FILE_BYTES": (1024 * 1024, _int, "largest bank file (spec or questions) read; larger ones are refused unread"),
    "MIGRATION_DATABASE_URL": (
        "",
        str,
        "URL `init-db` and `db grant-app-role` connect with (the owner role), when the app's own role may not alter tables",
    ),
    "TRUSTED_PROXIES": (
        0,
        _int,
        "reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (nginx alone: 1); 0 ignores them",
    ),
    "METRICS_ALLOW_FROM": (
        "",
        str,
        "comma-separated addresses or CIDR networks that may read /metrics without signing in (admins always may)",
    ),
}

BANK_FILE_LIMITS = (1024, 64 * 1024 * 1024)


def check_bank_max_file_bytes(value: int) -> int:
    """The bank file size limit, or ConfigError: at least a small question file, at most 64 MiB."""
    low, high = BANK_FILE_LIMITS
    if not low <= int(value) <= high:
        raise ConfigError(f"{PREFIX}BANK_MAX_FILE_BYTES must be between {low} and {high} bytes: {value} is not")
    return int(value)


def bank_max_file_bytes(environ: Mapping[str, str]) -> int:
    """The bank file size limit from the environment alone (for `bank validate`, which needs no app)."""
    raw = environ.get(PREFIX + "BANK_MAX_FILE_BYTES")
    if raw is None:
        return int(SETTINGS["BANK_MAX_FILE_BYTES"][0])
    try:
        value = _int(raw)
    except ValueError as error:
        raise ConfigError(f"{PREFIX}BANK_MAX_FILE_BYTES={raw!r} is not valid: {error}") from None
    return check_bank_max_file_bytes(value)


def _instance_secret(instance_path: Path) -> str:
    """A secret kept in the instance folder: stable across restarts and workers, never in the repo."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Create exclusively so two workers starting together agree on one key.
    try:
        with open(key_file, "x") as handle:
            handle.write(key)
        os.chmod(key_file, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    return key


def _database_url(name: str, url: str) -> str:
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; say so instead of failing on a missing psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not (url.startswith("sqlite:///") or url.startswith("postgresql+psycopg://")):
        raise ConfigError(f"{PREFIX}{name}={url!r}: use sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB")
    return url


def _networks(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """A CIDR list (a string from the environment, or already a list) as networks; a bad entry is named."""
    items = value.split(",") if isinstance(value, str) else list(value)
    networks = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"{PREFIX}METRICS_ALLOW_FROM: {item!r} is not an address or CIDR network (e.g. 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return tuple(networks)


def load_settings(instance_path: Path, environ: Mapping[str, str], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Resolve every setting; raise ConfigError naming the first bad one."""
    values: dict[str, Any] = {}
    for name, (default, parse, _description) in SETTINGS.items():
        raw = environ.get(PREFIX + name)
        if raw is None:
            values[name] = default
            continue
        try:
            values[name] = parse(raw)
        except ValueError as error:
            raise ConfigError(f"{PREFIX}{name}={raw!r} is not valid: {error}") from None
    for key, value in (overrides or {}).items():
        name = key[len(PREFIX) :] if key.startswith(PREFIX) else key
        values[name] = value

    if not values["DATABASE_URL"]:
        instance_path.mkdir(parents=True, exist_ok=True)
        values["DATABASE_URL"] = f"sqlite:///{instance_path / 'testengine.sqlite3'}"
    url = _database_url("DATABASE_URL", str(values["DATABASE_URL"]))
    values["DATABASE_URL"] = url
    if values["MIGRATION_DATABASE_URL"]:
        values["MIGRATION_DATABASE_URL"] = _database_url("MIGRATION_DATABASE_URL", str(values["MIGRATION_DATABASE_URL"]))
    if not isinstance(values["TRUSTED_PROXIES"], int) or not 0 <= values["TRUSTED_PROXIES"] <= 5:
        raise ConfigError(
            f"{PREFIX}TRUSTED_PROXIES must be a whole number from 0 to 5: the proxies in front of the app (nginx alone: 1)"
        )
    values["METRICS_ALLOW_FROM"] = _networks(values["METRICS_ALLOW_FROM"])
    if not values["SECRET_KEY"]:
        values["SECRET_KEY"] = _instance_secret(instance_path)
    if len(str(values["SECRET_KEY"])) < 16:
        raise ConfigError(f"{PREFIX}SECRET_KEY is too short: use at least 16 random characters")
    if not 0 <= int(values["SAVE_GRACE_SECONDS"]) <= 300:
        raise ConfigError(
            f"{PREFIX}SAVE_GRACE_SECONDS must be between 0 and 300: it lets answers in flight count, not extend the test"
        )
    if not 1 <= int(values["LIVE_STREAM_SECONDS"]) <= 300:
        raise ConfigError(f"{PREFIX}LIVE_STREAM_SECONDS must be between 1 and 300: a stream holds a server thread while open")
    if int(values["LIVE_STREAMS_PER_PROCESS"]) < 0:
        raise ConfigError(f"{PREFIX}LIVE_STREAMS_PER_PROCESS must be 0 (no streams: pages poll) or more")
    if int(values["CSRF_TIME_LIMIT"]) < 6 * 3600:
        raise ConfigError(f"{PREFIX}CSRF_TIME_LIMIT must be at least 21600 seconds: a sitting can last over 4 hours")
    for name in ("ALLOW_TEST_EMAIL_DOMAINS", "RELEASE_NEEDS_SECOND_ADMIN"):
        if not isinstance(values[name], bool):
            raise ConfigError(f"{PREFIX}{name} must be true or false, not {values[name]!r}")
    check_bank_max_file_bytes(values["BANK_MAX_FILE_BYTES"])
    if not values["BANKS_DIR"]:
        values["BANKS_DIR"] = banks_dir({})
    return values


def banks_dir(environ: Mapping[str, str]) -> str:
    """The bank folder alone, for commands that read a spec without creating the app (`testengine grade`)."""
    return environ.get(PREFIX + "BANKS_DIR") or str(Path.cwd() / "question_banks")


def flask_config(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Translate our settings into the names Flask and its extensions read."""
    from .storage.engines import engine_options  # the database layer only once an app is made

    secure = bool(settings["SECURE_COOKIES"])
    return {
        "SECRET_KEY": settings["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": settings["DATABASE_URL"],
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(str(settings["DATABASE_URL"])),
        "WTF_CSRF_TIME_LIMIT": int(settings["CSRF_TIME_LIMIT"]),
        "WTF_CSRF_SSL_STRICT": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": secure,
        "RATELIMIT_STORAGE_URI": settings["RATELIMIT_STORAGE_URI"],
        "RATELIMIT_HEADERS_ENABLED": False,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "SEND_FILE_MAX_AGE_DEFAULT": 3600,
    }

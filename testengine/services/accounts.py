"""Accounts: creating users, passwords (argon2id), sign-in with per-account throttling."""

from __future__ import annotations

import datetime as dt
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..clock import utcnow
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Apprentice, Role, User, UserRole
from ..models.people import ULN_PATTERN
from . import audit

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_dummy: str | None = None


def _dummy_hash() -> str:
    """Verified against when the account does not exist, so timing does not reveal which emails are real.

    Made on first use, not at import: a hash costs about half a second, and every worker imports this.
    """
    global _dummy
    if _dummy is None:
        _dummy = _hasher.hash("not a real password")
    return _dummy


def prepare_dummy_hash() -> None:
    """Make the dummy hash now (the server's warm-up), so the first failed sign-in does not pay for it."""
    _dummy_hash()


def configure_hasher(time_cost: int, memory_kib: int) -> None:
    """Set the argon2id cost from settings (production keeps the library's defaults)."""
    global _hasher, _dummy
    if (_hasher.time_cost, _hasher.memory_cost) != (time_cost, memory_kib):
        _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        _dummy = None

ROLES = tuple(role.value for role in Role)
MIN_PASSWORD = 10


class AccountError(DomainError):
    code = "account_error"


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Password must be at least {MIN_PASSWORD} characters.")
    return _hasher.hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def validate_uln(uln: str) -> str:
    uln = uln.strip()
    if not ULN_PATTERN.match(uln):
        raise AccountError("ULN must be exactly 10 digits.", code="invalid_uln")
    return uln


def next_candidate_number() -> str:
    count = db.session.scalar(select(func.count(Apprentice.id))) or 0
    while True:
        count += 1
        number = f"C{count:06d}"
        if db.session.scalar(select(Apprentice.id).where(Apprentice.candidate_number == number)) is None:
            return number


def create_user(
    *,
    email: str,
    display_name: str,
    password: str,
    roles: list[str],
    actor: User | None = None,
    uln: str | None = None,
    given_name: str | None = None,
    family_name: str | None = None,
    candidate_number: str | None = None,
    moderator: bool = False,
) -> User:
    email = email.strip().lower()
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise AccountError(f"Unknown role(s): {', '.join(sorted(unknown)) or 'none given'}.")
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"A user with email {email} already exists.", code="duplicate_email")
    now = utcnow()
    user = User(
        email=email,
        display_name=display_name.strip() or email,
        password_hash=hash_password(password),
        created_at=now,
        is_moderator=moderator,
    )
    user.role_rows = [UserRole(role=role) for role in sorted(set(roles))]
    db.session.add(user)
    if Role.APPRENTICE.value in roles:
        if uln is None:
            raise AccountError("An apprentice needs a ULN.", code="invalid_uln")
        uln = validate_uln(uln)
        if db.session.scalar(select(Apprentice.id).where(Apprentice.uln == uln)) is not None:
            raise AccountError(f"ULN {uln} is already registered.", code="duplicate_uln")
        names = (display_name.strip() or email).split(" ", 1)
        db.session.add(
            Apprentice(
                user=user,
                uln=uln,
                candidate_number=candidate_number or next_candidate_number(),
                given_name=given_name or names[0],
                family_name=family_name or (names[1] if len(names) > 1 else ""),
                created_at=now,
            )
        )
    db.session.flush()
    audit.record(actor, "user.create", user, after={"email": email, "roles": sorted(roles)})
    return user


def set_roles(user: User, roles: list[str], actor: User | None) -> None:
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise AccountError("Choose at least one known role.")
    before = sorted(user.roles)
    if Role.APPRENTICE.value in roles and user.apprentice is None:
        raise AccountError("Create apprentices with their ULN; a role alone is not enough.")
    user.role_rows = [UserRole(role=role) for role in sorted(set(roles))]
    user.session_version += 1  # a role change takes effect on the next request
    db.session.flush()
    audit.record(actor, "user.roles", user, before={"roles": before}, after={"roles": sorted(roles)})


def reset_password(user: User, new_password: str, actor: User | None) -> None:
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    audit.record(actor, "user.password_reset", user)


def find_user(identifier: str) -> User | None:
    identifier = identifier.strip()
    user = db.session.scalar(select(User).where(User.email == identifier.lower()))
    if user is None:
        user = db.session.scalar(
            select(User).join(Apprentice, Apprentice.user_id == User.id).where(
                Apprentice.candidate_number == identifier.upper()
            )
        )
    return user


def authenticate(
    identifier: str, password: str, *, allowed_failures: int, lock_seconds: int
) -> User:
    """Check a password; throttle the account after repeated failures (kept in the database, so every worker agrees)."""
    now = utcnow()
    user = find_user(identifier)
    if user is None:
        try:
            _hasher.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        raise AccountError("Email or password not recognised.", code="bad_credentials")
    if user.locked_until is not None and user.locked_until > now:
        wait = int((user.locked_until - now).total_seconds()) + 1
        raise AccountError(
            f"Too many failed sign-ins for this account. Try again in {wait} seconds, or ask an administrator.",
            code="throttled",
        )
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        window = dt.timedelta(seconds=lock_seconds)
        if user.first_failed_at is None or now - user.first_failed_at > window:
            user.first_failed_at = now
            user.failed_logins = 0
        user.failed_logins += 1
        if user.failed_logins >= allowed_failures:
            user.locked_until = now + window
            audit.record(None, "user.throttled", user, after={"failed_logins": user.failed_logins})
        db.session.flush()
        raise AccountError("Email or password not recognised.", code="bad_credentials") from None
    if not user.active:
        raise AccountError("This account is disabled.", code="disabled")
    user.failed_logins = 0
    user.first_failed_at = None
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    db.session.flush()
    return user


def end_all_sessions(user: User) -> None:
    """Logout: every cookie issued so far for this user stops working."""
    user.session_version += 1
    db.session.flush()


def load_user_from_cookie(value: str) -> User | None:
    user_id, _, version = value.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    # Every request loads its user: the roles come in the same statement.
    user = db.session.get(User, int(user_id), options=[joinedload(User.role_rows)])
    if user is None or user.session_version != int(version) or not user.active:
        return None
    return user

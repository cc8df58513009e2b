"""Accounts: creating users, passwords (argon2id), sign-in with per-account throttling."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError
from email_validator import validate_email as _check_email
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..clock import utcnow
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Apprentice, AuditEntry, Role, User, UserRole
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


# Reserved for testing and documentation (RFC 2606, RFC 6761): never a real person's address.
RESERVED_TLDS = ("test", "example", "invalid", "localhost")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


def _reserved(domain: str) -> bool:
    labels = domain.rstrip(".").split(".")
    return labels[-1] in RESERVED_TLDS or any(
        domain == reserved or domain.endswith("." + reserved) for reserved in RESERVED_DOMAINS
    )


def validate_email(email: str, *, allow_test_domains: bool = False) -> str:
    """The one email rule, for the admin form and the CLI alike: a well-formed address whose domain
    could receive mail; reserved test domains only where the setting (or the demo) allows them.
    Returns the address as stored (trimmed, lower case)."""
    allowed = allow_test_domains  # the caller gives TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS (service_settings)
    cleaned = (email or "").strip().lower()
    if not cleaned:
        raise AccountError("Enter an email address.", code="invalid_email")
    domain = cleaned.rpartition("@")[2]
    if _reserved(domain) and not allowed:
        raise AccountError(
            f"{domain} is a reserved test domain, not a real mailbox; use the person's real address"
            " (test systems may allow these with TESTENGINE_ALLOW_TEST_EMAIL_DOMAINS=true).",
            code="invalid_email",
        )
    try:
        # .test passes only in test mode; .invalid and .localhost never (nothing there receives mail).
        _check_email(cleaned, check_deliverability=False, test_environment=allowed)
    except EmailNotValidError as refused:
        raise AccountError(f"Enter a valid email address: {refused}", code="invalid_email") from None
    return cleaned


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
    temporary_password: bool = False,
    allow_test_domains: bool = False,
) -> User:
    """A new account. `temporary_password`: someone else chose it (an administrator), so the person
    must choose their own at first sign-in."""
    email = validate_email(email, allow_test_domains=allow_test_domains)
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise AccountError(f"Unknown role(s): {', '.join(sorted(unknown)) or 'none given'}.", code="invalid_role")
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"A user with email {email} already exists.", code="duplicate_email")
    now = utcnow()
    user = User(
        email=email,
        display_name=display_name.strip() or email,
        password_hash=hash_password(password),
        created_at=now,
        is_moderator=moderator,
        must_change_password=temporary_password,
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
    audit.record(actor, "user.create", user, after={"user_id": user.id, "roles": sorted(roles)})
    return user


def set_roles(user: User, roles: list[str], actor: User | None, *, moderator: bool | None = None) -> None:
    """New roles (and, when given, whether they moderate: only a marker can)."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise AccountError("Choose at least one known role.")
    before = {"roles": sorted(user.roles), "moderator": user.is_moderator}
    if Role.APPRENTICE.value in roles and user.apprentice is None:
        raise AccountError("Create apprentices with their ULN; a role alone is not enough.")
    if moderator and Role.MARKER.value not in roles:
        raise AccountError("Only a marker can be a moderator.", code="moderator_not_marker")
    user.role_rows = [UserRole(role=role) for role in sorted(set(roles))]
    if moderator is not None:
        user.is_moderator = moderator
    elif Role.MARKER.value not in roles:
        user.is_moderator = False
    user.session_version += 1  # a role change takes effect on the next request
    db.session.flush()
    audit.record(actor, "user.roles", user, before=before, after={"roles": sorted(roles), "moderator": user.is_moderator})


def reset_password(user: User, new_password: str, actor: User | None, *, temporary: bool = True) -> None:
    """An administrator sets a password: a temporary one (the person must change it at their next
    sign-in) unless `temporary` is False (the demo, which prints its passwords for use as they are)."""
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    user.failed_logins = 0
    user.locked_until = None
    user.must_change_password = temporary
    db.session.flush()
    audit.record(actor, "user.password_reset", user, after={"must_change_password": temporary})


class PasswordChangeError(AccountError):
    """A refusal that belongs to one field of the change-password form (`field`)."""

    def __init__(self, message: str, *, field: str, code: str) -> None:
        super().__init__(message, code=code)
        self.field = field


def change_password(user: User, current: str, new: str) -> None:
    """The person chooses their own password. Every other session of theirs ends (the session version
    moves on); the view signs this browser in again with the new version."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise PasswordChangeError("Your current password is not right.", field="current", code="bad_current_password") from None
    if new == current:
        raise PasswordChangeError("Choose a password different from the current one.", field="new", code="password_unchanged")
    try:
        user.password_hash = hash_password(new)
    except AccountError as refused:
        raise PasswordChangeError(str(refused), field="new", code="password_too_short") from None
    user.must_change_password = False
    user.session_version += 1
    db.session.flush()
    audit.record(user, "user.password_change", user)


def find_user(identifier: str) -> User | None:
    identifier = identifier.strip()
    user = db.session.scalar(select(User).where(User.email == identifier.lower()))
    if user is None:
        user = db.session.scalar(
            select(User).join(Apprentice, Apprentice.user_id == User.id).where(Apprentice.candidate_number == identifier.upper())
        )
    return user


def _throttled(locked_until: dt.datetime, now: dt.datetime) -> AccountError:
    """The one refusal for a throttled sign-in, whether or not the account exists."""
    wait = int((locked_until - now).total_seconds()) + 1
    return AccountError(
        f"Too many failed sign-ins for this account. Try again in {wait} seconds, or ask an administrator.",
        code="throttled",
    )


def _verify_dummy(password: str) -> None:
    """The cost of one password check, spent where there is no real one to make (unknown or throttled)."""
    try:
        _hasher.verify(_dummy_hash(), password)
    except VerificationError:
        pass


UNKNOWN_FAILED = "sign_in.unknown_failed"
UNKNOWN_THROTTLED = "sign_in.unknown_throttled"


def _identifier_key(identifier: str, secret: bytes) -> str:
    """A keyed digest of what was typed: failures for it are counted without keeping the text itself."""
    return hmac.new(secret, identifier.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def _refuse_unknown(
    identifier: str, password: str, *, now: dt.datetime, secret: bytes, allowed_failures: int, lock_seconds: int
) -> AccountError:
    """Sign-in with an identifier no account has: counted and throttled exactly as a real account is.

    Otherwise the throttle would tell an attacker which emails are real: the ones that lock. The
    failures are kept in the audit log (by a keyed digest of the identifier), so every worker agrees.
    """
    key = _identifier_key(identifier, secret)
    window = dt.timedelta(seconds=lock_seconds)
    _verify_dummy(password)
    throttled_at = db.session.scalar(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.action == UNKNOWN_THROTTLED, AuditEntry.object_id == key, AuditEntry.at > now - window
        )
    )
    if throttled_at is not None:
        return _throttled(throttled_at + window, now)
    since = db.session.scalar(
        select(func.max(AuditEntry.at)).where(AuditEntry.action == UNKNOWN_THROTTLED, AuditEntry.object_id == key)
    )
    counted = select(func.count(AuditEntry.id)).where(
        AuditEntry.action == UNKNOWN_FAILED, AuditEntry.object_id == key, AuditEntry.at > now - window
    )
    if since is not None:
        counted = counted.where(AuditEntry.at > since)
    failures = (db.session.scalar(counted) or 0) + 1
    audit.record(None, UNKNOWN_FAILED, object_type="sign_in", object_id=key)
    if failures >= allowed_failures:
        audit.record(None, UNKNOWN_THROTTLED, object_type="sign_in", object_id=key, after={"failed_logins": failures})
    return AccountError("Email or password not recognised.", code="bad_credentials")


def authenticate(
    identifier: str, password: str, *, now: dt.datetime, secret: bytes, allowed_failures: int, lock_seconds: int
) -> User:
    """Check a password; throttle the account after repeated failures (kept in the database, so every worker agrees).

    Every path costs one password hash and ends in one of the same messages, so neither the
    message nor the time taken says whether an account exists: an unknown identifier is
    throttled after the same failures, with the same words, as a real account. `secret` keys the
    digest under which an unknown identifier's failures are counted (the app's secret key).
    """
    user = find_user(identifier)
    if user is None:
        raise _refuse_unknown(
            identifier, password, now=now, secret=secret, allowed_failures=allowed_failures, lock_seconds=lock_seconds
        )
    if user.locked_until is not None and user.locked_until > now:
        _verify_dummy(password)
        raise _throttled(user.locked_until, now)
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

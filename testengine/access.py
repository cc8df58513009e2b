"""Who may do what: one rule per area (blueprint), checked once, failing closed.

Every endpoint must belong to an area with a rule or be listed as public; a request to an
endpoint without a rule is refused (403) and a test fails when such a route is added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Blueprint, Flask, abort, jsonify, redirect, request, url_for
from flask_login import current_user

# blueprint name -> roles allowed (empty set: any signed-in user)
AREA_RULES: dict[str, frozenset[str]] = {}
PUBLIC_ENDPOINTS: set[str] = {"static", "favicon"}
# What a person with a temporary password may still reach: everything else sends them to choose their own.
PASSWORD_CHANGE_ENDPOINTS: frozenset[str] = frozenset({"auth.change_password", "auth.logout"})
# area -> a check of the request's own credential (the attempt capability of the sitting's fast lane),
# used INSTEAD of a signed-in user: None lets the request in, else (status, error code, message).
CAPABILITY_AREAS: dict[str, Callable[[], tuple[int, str, str] | None]] = {}
# endpoint -> a test of the request's address that lets a machine in without signing in (a metrics scraper).
ADDRESS_RULES: dict[str, Callable[[], bool]] = {}


def public(endpoint: str) -> None:
    """Mark one endpoint as open to anonymous visitors (login page, health check)."""
    PUBLIC_ENDPOINTS.add(endpoint)


def allow_by_address(endpoint: str, allowed: Callable[[], bool]) -> None:
    """Besides its area's rule, let one endpoint answer requests whose address `allowed()` accepts."""
    ADDRESS_RULES[endpoint] = allowed


def restrict(blueprint: Blueprint, roles: Iterable[str], *, within: str | None = None) -> None:
    """Give an area its rule. A blueprint nested in another (the API's) names its parent with `within`,
    because requests carry the full dotted name ("api.attempts")."""
    name = f"{within}.{blueprint.name}" if within else blueprint.name
    AREA_RULES[name] = frozenset(roles)


def restrict_to_capability(
    blueprint: Blueprint, check: Callable[[], tuple[int, str, str] | None], *, owner: str, within: str | None = None
) -> None:
    """An area whose requests carry a signed capability instead of a signed-in session user.

    `owner` is the role the capability is issued to (the access matrix expects it let in, with its
    capability, and everyone without one refused with 401). The check must not touch the database:
    what can be revoked is re-checked by each request's own statement.
    """
    name = f"{within}.{blueprint.name}" if within else blueprint.name
    AREA_RULES[name] = frozenset({owner})
    CAPABILITY_AREAS[name] = check


def _rule_for(blueprint_name: str | None) -> frozenset[str] | None:
    # Exact names only: a nested area never inherits its parent's (looser) rule by accident.
    return AREA_RULES.get(blueprint_name) if blueprint_name else None


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _refuse(status: int, code: str, message: str):  # type: ignore[no-untyped-def]
    if _wants_json():
        response = jsonify(error=code, message=message)
        response.status_code = status
        return response
    abort(status)


def check_access():  # type: ignore[no-untyped-def]
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return None  # unknown URLs fall through to 404
    full_name = endpoint.rpartition(".")[0] or None
    rule = _rule_for(full_name)
    if rule is None:
        return _refuse(403, "no_access_rule", "This page has no access rule.")
    by_capability = CAPABILITY_AREAS.get(full_name or "")
    if by_capability is not None:  # no user is loaded: the capability says who, and for what
        refused = by_capability()
        return None if refused is None else _refuse(*refused)
    by_address = ADDRESS_RULES.get(endpoint)
    if by_address is not None and by_address():
        return None
    if not current_user.is_authenticated:
        if _wants_json():
            return _refuse(401, "login_required", "Sign in first.")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if getattr(current_user, "must_change_password", False) and endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        if _wants_json():
            return _refuse(403, "password_change_required", "Choose your own password first.")
        return redirect(url_for("auth.change_password"))
    if rule and not current_user.has_role(*rule):
        return _refuse(403, "forbidden", "Your role cannot use this.")
    return None


def install(app: Flask) -> None:
    # First of the request hooks, ahead of the CSRF check: an anonymous request is told to sign in
    # (401 from the API, as documented) rather than that its form token is missing.
    app.before_request_funcs.setdefault(None, []).insert(0, check_access)

"""/healthz for a load balancer or monitor, /metrics for Prometheus (admins or a configured address)."""

from __future__ import annotations

import ipaddress
import logging

from flask import Blueprint, Response, current_app, jsonify, request

from .. import access
from ..extensions import db
from . import metrics
from .schema import current_revision, head_revisions

bp = Blueprint("ops", __name__)
access.restrict(bp, roles=("admin",))
log = logging.getLogger("testengine")


@bp.route("/healthz")
def health():  # type: ignore[no-untyped-def]
    """200 when the database answers and is at this release's schema version; 503 (saying which) otherwise."""
    try:
        revision = current_revision(db.session.connection())
    except Exception:  # any failure to reach or read the database is what this check reports
        log.exception("health check: database unreachable")
        db.session.rollback()
        return jsonify(status="unavailable", database="error"), 503
    db.session.rollback()
    heads = head_revisions()
    if revision not in heads:
        return jsonify(
            status="unavailable", database="ok", schema=revision, expected=sorted(heads), message="run `testengine init-db`"
        ), 503
    return jsonify(status="ok", database="ok", schema=revision)


access.public("ops.health")


@bp.route("/metrics")
def scrape():  # type: ignore[no-untyped-def]
    return Response(metrics.exposition(), mimetype="text/plain; version=0.0.4; charset=utf-8")


def _from_allowed_address() -> bool:
    """The scraper's own address (after ProxyFix, when proxies are trusted) is in TESTENGINE_METRICS_ALLOW_FROM."""
    if request.endpoint != "ops.scrape" or not request.remote_addr:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr)
    except ValueError:
        return False
    return any(address in network for network in current_app.config["TESTENGINE"]["METRICS_ALLOW_FROM"])


access.allow_by_address("ops.scrape", _from_allowed_address)

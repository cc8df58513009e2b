"""Running the service: /healthz for a monitor, /metrics for Prometheus, and the client's address behind a proxy."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from testengine import create_app
from testengine.config import ConfigError
from testengine.extensions import db
from testengine.ops.schema import head_revisions
from tests.conftest import csrf_token_from


def test_healthz_is_public_and_names_the_schema(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["schema"] in head_revisions()


def test_healthz_is_503_when_the_schema_is_behind_this_release(client, app):
    head = next(iter(head_revisions()))
    db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.session.commit()
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["status"] == "unavailable"
        assert "init-db" in response.get_json()["message"]
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()


def _families(body: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(body)}


def _sample(families: dict[str, Any], name: str, **labels: str) -> float:
    for family in families.values():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_metrics_parse_and_count_starts_saves_and_open_attempts(app, client, login_as, start_sitter):
    sitter = start_sitter()
    login_as("admin")  # signs in `client`
    before = _families(client.get("/metrics").get_data(as_text=True))
    assert sitter.save(20, "An answer", revision=1).get_json()["stored"] is True
    assert sitter.save(20, "An older answer", revision=1).get_json()["stored"] is False
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    after = _families(response.get_data(as_text=True))

    assert _sample(after, "testengine_open_attempts", state="in_progress") == 1
    assert (
        _sample(after, "testengine_saves_total", outcome="saved")
        == _sample(before, "testengine_saves_total", outcome="saved") + 1
    )
    assert (
        _sample(after, "testengine_saves_total", outcome="duplicate")
        == _sample(before, "testengine_saves_total", outcome="duplicate") + 1
    )
    assert _sample(after, "testengine_starts_total") >= 1
    assert _sample(after, "testengine_requests_total", endpoint="api.attempts.save", method="PUT", status="200") >= 2
    assert _sample(after, "testengine_request_seconds_count", endpoint="api.attempts.save") >= 2
    assert "testengine_request_seconds" in after and after["testengine_request_seconds"].type == "histogram"
    assert "testengine_sweep_submitted" in after


@pytest.mark.parametrize("role", ["apprentice", "invigilator", "marker", "reviewer"])
def test_metrics_refused_to_other_roles(client, login_as, role):
    login_as(role)
    assert client.get("/metrics").status_code == 403


def test_metrics_anonymous_is_sent_to_sign_in(client):
    response = client.get("/metrics")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.fixture
def make_app(app_config, tmp_path):
    made = []

    def make(**settings: Any) -> Any:
        application = create_app({**app_config, **settings})
        application.instance_path = str(tmp_path / "instance")
        made.append(application)
        return application

    yield make
    for application in made:  # no app context was held open: each request had its own, as in production
        with application.app_context():
            db.engine.dispose()


def test_metrics_open_to_a_configured_address_only(make_app):
    application = make_app(METRICS_ALLOW_FROM=["192.0.2.0/24"])
    client = application.test_client()
    allowed = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    other = client.get("/metrics", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    forged = client.get("/metrics", environ_base={"REMOTE_ADDR": "198.51.100.7"}, headers={"X-Forwarded-For": "192.0.2.7"})
    assert allowed.status_code == 200 and "testengine_open_attempts" in allowed.get_data(as_text=True)
    assert other.status_code == 302
    assert forged.status_code == 302  # no proxy is trusted: the header is ignored


def _sign_in_posts(application: Any, proxy: str, forwarded_for: str, count: int) -> list[int]:
    """Wrong-password sign-ins from one browser (its own cookies and form token) reaching the app through `proxy`."""
    client = application.test_client()
    through = {"environ_base": {"REMOTE_ADDR": proxy}, "headers": {"X-Forwarded-For": forwarded_for}}
    token = csrf_token_from(client.get("/login", **through).get_data(as_text=True))
    return [
        client.post(
            "/login", data={"identifier": "nobody@example.org", "password": "x", "csrf_token": token}, **through
        ).status_code
        for _ in range(count)
    ]


def test_behind_a_trusted_proxy_two_clients_are_limited_separately(make_app):
    application = make_app(TRUSTED_PROXIES=1, RATELIMIT_PER_ADDRESS="3 per minute")
    first = _sign_in_posts(application, "10.0.0.1", "203.0.113.5", 4)
    second = _sign_in_posts(application, "10.0.0.1", "203.0.113.6", 3)
    assert 429 not in first[:3] and first[3] == 429
    assert 429 not in second  # the same proxy, another client: its own allowance


@pytest.mark.parametrize("trusted, recorded", [(1, "203.0.113.9"), (0, "10.0.0.1")])
def test_the_audit_log_records_the_client_address_only_through_a_trusted_proxy(make_app, trusted, recorded):
    from sqlalchemy import select

    from testengine.models import AuditEntry
    from testengine.services import accounts
    from tests.conftest import PASSWORD

    application = make_app(TRUSTED_PROXIES=trusted, LOGIN_FAILURES_ALLOWED=2)
    with application.app_context():
        accounts.create_user(
            allow_test_domains=True, email="dana@example.org", display_name="Dana", password=PASSWORD, roles=["marker"]
        )
        db.session.commit()
    client = application.test_client()
    through = {"environ_base": {"REMOTE_ADDR": "10.0.0.1"}, "headers": {"X-Forwarded-For": "203.0.113.9"}}
    token = csrf_token_from(client.get("/login", **through).get_data(as_text=True))
    for _ in range(3):
        client.post("/login", data={"identifier": "dana@example.org", "password": "wrong", "csrf_token": token}, **through)
    with application.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.throttled"))
        assert entry is not None and entry.address == recorded
        db.session.remove()


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(make_app):
    application = make_app(RATELIMIT_PER_ADDRESS="3 per minute")
    first = _sign_in_posts(application, "10.0.0.1", "203.0.113.5", 3)
    second = _sign_in_posts(application, "10.0.0.1", "203.0.113.6", 1)
    assert 429 not in first
    assert second == [429]  # a new X-Forwarded-For is still the same address


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("TRUSTED_PROXIES", "-1", "TRUSTED_PROXIES"),
        ("TRUSTED_PROXIES", "nine", "TRUSTED_PROXIES"),
        ("TRUSTED_PROXIES", "6", "0 to 5"),
        ("METRICS_ALLOW_FROM", "10.0.0.0/33", "METRICS_ALLOW_FROM"),
        ("MIGRATION_DATABASE_URL", "mysql://x", "MIGRATION_DATABASE_URL"),
    ],
)
def test_bad_operations_settings_stop_the_app(monkeypatch, tmp_path, name, value, message):
    monkeypatch.setenv("TESTENGINE_" + name, value)
    monkeypatch.setenv("TESTENGINE_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=message):
        create_app({"SECRET_KEY": "k" * 32, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})


def test_multiprocess_mode_adds_up_every_process(database_url, tmp_path):
    """Under gunicorn each worker counts in its own process: with PROMETHEUS_MULTIPROC_DIR a scrape sees them all."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    count = "from testengine.ops.metrics import SAVES; SAVES.labels('saved').inc({n})"
    for n in (2, 3):  # two workers, each saving and exiting
        subprocess.run([sys.executable, "-c", count.format(n=n)], env=env, cwd=REPO, check=True, timeout=120)
    scrape = (
        "from testengine import create_app; from testengine.ops.metrics import exposition\n"
        f"app = create_app({{'SECRET_KEY': 'k' * 32, 'DATABASE_URL': {database_url!r}}})\n"
        "with app.app_context(): print(exposition().decode())\n"
    )
    env["TESTENGINE_INSTANCE_PATH"] = str(tmp_path / "instance")
    done = subprocess.run(
        [sys.executable, "-c", scrape], env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    families = _families(done.stdout)
    assert _sample(families, "testengine_saves_total", outcome="saved") == 5
    assert _sample(families, "testengine_open_attempts", state="in_progress") == 0

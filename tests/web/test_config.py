"""Settings fail fast with a clear message; SQLite is set up for exam data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from testengine.config import ConfigError, load_settings
from testengine.extensions import db
from tests.conftest import PG_URL


def test_bad_settings_stop_start_up_naming_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="TESTENGINE_DATABASE_URL"):
        load_settings(tmp_path, {"TESTENGINE_DATABASE_URL": "mysql://x"}, None)
    with pytest.raises(ConfigError, match="TESTENGINE_SECURE_COOKIES"):
        load_settings(tmp_path, {"TESTENGINE_SECURE_COOKIES": "perhaps"}, None)
    with pytest.raises(ConfigError, match="TESTENGINE_CSRF_TIME_LIMIT"):
        load_settings(tmp_path, {"TESTENGINE_CSRF_TIME_LIMIT": "3600"}, None)
    with pytest.raises(ConfigError, match="TESTENGINE_SECRET_KEY"):
        load_settings(tmp_path, {"TESTENGINE_SECRET_KEY": "short"}, None)
    with pytest.raises(ConfigError, match="TESTENGINE_LOGIN_LOCK_SECONDS"):
        load_settings(tmp_path, {"TESTENGINE_LOGIN_LOCK_SECONDS": "ten"}, None)
    with pytest.raises(ConfigError, match="TESTENGINE_SAVE_GRACE_SECONDS"):
        load_settings(tmp_path, {"TESTENGINE_SAVE_GRACE_SECONDS": "3600"}, None)
    for bad in ("a lot", "0", "100", str(65 * 1024 * 1024)):
        with pytest.raises(ConfigError, match="TESTENGINE_BANK_MAX_FILE_BYTES"):
            load_settings(tmp_path, {"TESTENGINE_BANK_MAX_FILE_BYTES": bad}, None)
    assert load_settings(tmp_path, {}, None)["BANK_MAX_FILE_BYTES"] == 1024 * 1024
    assert load_settings(tmp_path, {"TESTENGINE_BANK_MAX_FILE_BYTES": "2048"}, None)["BANK_MAX_FILE_BYTES"] == 2048


def test_bank_validate_and_import_use_the_bank_file_limit(app, tmp_path, monkeypatch):
    """The setting reaches the loader, from the command line (no app needed) and in an import."""
    import shutil

    from testengine.banks import BankValidationError
    from testengine.services.banks import import_bank
    from tests.banks.test_loader import TODAY, VALID
    from tests.conftest import REPO

    bank = tmp_path / "bank"
    shutil.copytree(VALID, bank)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["bank", "validate", str(bank)]).exit_code == 0
    monkeypatch.setitem(app.config["TESTENGINE"], "BANK_MAX_FILE_BYTES", 1024)
    refused = runner.invoke(args=["bank", "validate", str(bank)])
    assert refused.exit_code == 2 and f"{bank / 'questions' / 'K1.yaml'}: is " in refused.output
    import datetime as dt

    from testengine.service_settings import bank_max_file_bytes

    with pytest.raises(BankValidationError, match="over the limit of 1,024 bytes"):  # the service is given the setting
        import_bank(
            bank, now=dt.datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=dt.UTC), max_file_bytes=bank_max_file_bytes()
        )
    # Without an app, `testengine bank validate` reads the environment.
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "TESTENGINE_BANK_MAX_FILE_BYTES": "1024", "HOME": str(tmp_path)}
    script = "import sys; from testengine.cli.banks import validate; validate.main(sys.argv[1:])"
    outside = subprocess.run([sys.executable, "-c", script, str(bank)], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert outside.returncode == 2 and "over the limit of 1,024 bytes" in outside.stderr, outside.stderr


def test_defaults_sqlite_in_the_instance_folder_and_a_secret_generated_once(tmp_path):
    first = load_settings(tmp_path, {}, None)
    assert first["DATABASE_URL"] == f"sqlite:///{tmp_path / 'testengine.sqlite3'}"
    assert (tmp_path / "secret_key").exists()
    assert load_settings(tmp_path, {}, None)["SECRET_KEY"] == first["SECRET_KEY"]
    assert (
        load_settings(tmp_path, {"TESTENGINE_DATABASE_URL": "postgresql://u:p@h/d"}, None)["DATABASE_URL"]
        == "postgresql+psycopg://u:p@h/d"
    )


def test_database_connections_are_set_up_for_exam_data(app):
    if PG_URL:
        assert db.engine.dialect.name == "postgresql" and db.engine.dialect.driver == "psycopg"
        with db.engine.connect() as conn:
            assert int(conn.exec_driver_sql("SHOW server_version_num").scalar()) >= 150000
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_foreign_keys_are_enforced(app):
    from testengine.models import UserRole

    db.session.add(UserRole(user_id=999999, role="admin"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()

"""The deployment guide's files, checked by the tools that will read them on the server:
`systemd-analyze verify` for the units and `nginx -t` for the site (each installed with apt-get where missing).

The files name the production paths (/opt/testengine, /etc/ssl/testengine, /var/log/nginx); the
test points them at this checkout, its virtualenv and a self-signed certificate made here, and
changes nothing else, so what passes here is what will be installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
DEPLOY = REPO / "deploy"
UNITS = [
    "testengine.service",
    "testengine-sweep.service",
    "testengine-sweep.timer",
    "testengine-retention.service",
    "testengine-retention.timer",
    "testengine-backup.service",
    "testengine-backup.timer",
]


def need(command: str, package: str) -> str:
    """The path of `command`, installing its Debian package first if it is missing."""
    found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")
    if found is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", package], check=True, env=env, capture_output=True, timeout=600)
        found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")
    assert found, f"{command} not available after installing {package}"
    return found


def as_installed_here(text: str) -> str:
    venv = Path(sys.prefix)
    return text.replace("/opt/testengine/.venv", str(venv)).replace("/opt/testengine", str(REPO))


def test_every_unit_the_guide_names_exists():
    guide = (REPO / "docs" / "deploy.md").read_text()
    for unit in UNITS:
        assert (DEPLOY / unit).is_file(), unit
        assert unit in guide, f"docs/deploy.md does not mention {unit}"
    assert "nginx-testengine.conf" in guide and "postgres-roles.sql" in guide


def test_unit_files_pass_systemd_analyze_verify(tmp_path):
    analyze = need("systemd-analyze", "systemd")
    for unit in UNITS:
        (tmp_path / unit).write_text(as_installed_here((DEPLOY / unit).read_text()))
    assert (Path(sys.prefix) / "bin" / "gunicorn").exists() and (Path(sys.prefix) / "bin" / "testengine").exists()
    done = subprocess.run(
        [analyze, "verify", *(str(tmp_path / unit) for unit in UNITS)], capture_output=True, text=True, timeout=120, check=False
    )
    # verify exits 0 on unknown keys and only warns: any message at all is a failure here.
    assert done.returncode == 0 and done.stderr.strip() == "" and done.stdout.strip() == "", done.stderr + done.stdout


def test_the_timers_run_the_sweep_each_minute_and_retention_daily():
    assert "OnCalendar=*-*-* *:*:00" in (DEPLOY / "testengine-sweep.timer").read_text()
    assert "OnCalendar=*-*-* 03:15:00" in (DEPLOY / "testengine-retention.timer").read_text()
    assert "testengine backup" in (DEPLOY / "testengine-backup.service").read_text()


def test_nginx_site_passes_nginx_t(tmp_path):
    nginx = need("nginx", "nginx")
    openssl = need("openssl", "openssl")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=testengine.example.org",
            "-keyout",
            str(tmp_path / "privkey.pem"),
            "-out",
            str(tmp_path / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    site = as_installed_here((DEPLOY / "nginx-testengine.conf").read_text())
    site = site.replace("/etc/ssl/testengine", str(tmp_path)).replace("/var/log/nginx", str(logs))
    (tmp_path / "site.conf").write_text(site)
    # The surroundings Debian's /etc/nginx/nginx.conf gives a site, with every writable path in tmp_path.
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {logs}/error.log;\nevents {{}}\nhttp {{\n"
        f"    include /etc/nginx/mime.types;\n    access_log {logs}/access.log;\n"
        f"    client_body_temp_path {tmp_path}/body;\n    proxy_temp_path {tmp_path}/proxy;\n"
        f"    include {tmp_path}/site.conf;\n}}\n"
    )
    done = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-e", str(logs / "error.log")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    assert "[warn]" not in done.stderr, done.stderr


def test_gunicorn_config_loads_and_binds_behind_nginx():
    settings: dict[str, object] = {}
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), settings)  # noqa: S102
    assert settings["bind"] == "127.0.0.1:8000"
    assert "server 127.0.0.1:8000;" in (DEPLOY / "nginx-testengine.conf").read_text()
    assert callable(settings["child_exit"])

"""`testengine serve` and `scripts/demo` serve pages: run as subprocesses, as the README says to run them."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import urllib.request

from tests.cli.conftest import SCRIPT, free_port, run
from tests.conftest import REPO


def _serve_and_fetch(process: subprocess.Popen[str], port: int, timeout: float = 120) -> tuple[list[str], str, bytes]:
    """Read the server's output until it says where it serves, then fetch /login and /favicon.ico."""
    lines: list[str] = []
    announced = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Serving testengine on" in line:
                announced.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not announced.is_set():
        assert process.poll() is None, f"the server exited ({process.returncode}):\n{''.join(lines)}"
        assert time.monotonic() < deadline, f"the server never said where it serves:\n{''.join(lines)}"
        time.sleep(0.1)
    page = icon = None
    while page is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as response:
                assert response.status == 200
                page = response.read().decode()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/favicon.ico", timeout=10) as response:
                assert response.status == 200 and response.headers["Content-Type"].startswith("image/")
                icon = response.read()
        except OSError:
            assert process.poll() is None, f"the server exited ({process.returncode}):\n{''.join(lines)}"
            assert time.monotonic() < deadline, "the server announced itself but never answered"
            time.sleep(0.2)
    assert icon is not None
    return lines, page, icon


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_serve_serves_the_sign_in_page_with_a_form_token_on_the_port_asked_for(command_env):
    assert run([SCRIPT, "init-db"], command_env).returncode == 0
    port = free_port()
    process = subprocess.Popen(
        [SCRIPT, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=command_env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines, page, icon = _serve_and_fetch(process, port)
    finally:
        _stop(process)
    assert f"Serving testengine on http://127.0.0.1:{port}/login" in "".join(lines)
    assert "Ignoring a call to 'app.run()'" not in "".join(lines)
    assert re.search(r'name="csrf_token"[^>]*value="[^"]{20,}"', page), "the sign-in form has no CSRF token"
    assert icon.startswith(b"\x00\x00\x01\x00")  # an ICO file


def test_scripts_demo_sets_up_the_demo_and_serves_on_PORT_without_reinstalling(command_env, tmp_path):
    """scripts/demo with its virtual environment already installed: a venv layered over this one (a .pth to
    its packages and to this checkout, as an editable install is), whose stamp matches pyproject.toml, so
    the script installs nothing; then the demo is set up and served on PORT, and the printed address agrees."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    here = [p for p in sys.path if p.endswith("site-packages")]
    (site / "testengine-layer.pth").write_text("\n".join([str(REPO), *here]) + "\n")
    digest = subprocess.run(["sha256sum", "pyproject.toml"], cwd=REPO, capture_output=True, text=True, check=True)
    (venv / ".testengine-installed").write_text(f"{digest.stdout.split()[0]} {REPO}\n")
    pip_ran = tmp_path / "pip-ran"
    guard = venv / "bin" / "pip"  # the venv has no pip: any install would run this and stop the script
    guard.write_text(f"#!/bin/sh\ntouch {pip_ran}\nexit 97\n")
    guard.chmod(0o755)
    port = free_port()
    env = {**command_env, "PORT": str(port), "HOST": "127.0.0.1", "TESTENGINE_VENV": str(venv)}
    env["PATH"] = "/usr/bin:/bin"  # no pip or testengine from elsewhere: the script must use its venv
    process = subprocess.Popen(
        [str(REPO / "scripts" / "demo")], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines, page, _icon = _serve_and_fetch(process, port, timeout=240)
    finally:
        _stop(process)
    output = "".join(lines)
    assert "Demo users" in output and "admin@demo.test" in output
    assert f"(then open http://127.0.0.1:{port}/login)" in output
    assert f"Serving testengine on http://127.0.0.1:{port}/login" in output
    assert ":5000" not in output
    assert 'name="csrf_token"' in page
    assert (venv / ".testengine-installed").read_text().startswith(digest.stdout.split()[0])
    assert not pip_ran.exists()  # nothing was installed

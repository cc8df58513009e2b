"""Browser tests: the real app served on loopback in a thread, driven by Playwright in the system Chromium.

The server shares this process's app object, so a test can move the app's clock (`live_clock`)
and prepare data with services inside `app.app_context()`.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from testengine.extensions import db

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_JS = Path(__import__("axe_playwright_python").__file__).parent / "axe.min.js"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_app(app_config: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    """A separate app object for the server thread (its own sessions), with a frozen clock tests can move."""
    import datetime as dt

    from testengine import create_app

    # Streams as long as in service (the browser reconnects after each), so a test sees them end and resume too.
    application = create_app({**app_config, "LIVE_STREAM_SECONDS": 20})
    application.instance_path = str(tmp_path / "live-instance")
    clock = application.extensions["testengine.clock"]
    clock.freeze(dt.datetime.now(dt.UTC).replace(microsecond=0))
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def prepared(live_app: Any) -> Callable[[], Any]:
    """`with prepared():` writes test data in one short write transaction, then lets go of the database.

    The server runs in other threads on the same SQLite file: a test that kept a transaction open
    while the browser works would block it.
    """
    import contextlib

    from testengine.storage import write_transaction

    @contextlib.contextmanager
    def block() -> Iterator[Any]:
        db.session.close()
        with write_transaction():
            yield db.session
            db.session.commit()
        db.session.close()

    return block


@pytest.fixture
def live_clock(live_app: Any) -> Any:
    return live_app.extensions["testengine.clock"]


@pytest.fixture
def live_server(live_app: Any) -> Iterator[LiveServer]:
    with LiveServer(live_app) as server:
        yield server


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open pages in fresh browser contexts (each context is a separate person's browser)."""
    contexts: list[Any] = []

    def open_page(**context_args: Any) -> Any:
        context = browser.new_context(**context_args)
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def browser_login(page: Any, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email or candidate number").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def axe_violations(
    page: Any, tags: tuple[str, ...] = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
) -> list[dict[str, Any]]:
    """Run axe-core in the page; return violations of WCAG 2.2 A/AA rules."""
    # Evaluated through the debugging protocol, so the page's CSP (no inline scripts) stays on.
    page.evaluate(AXE_JS.read_text())
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", list(tags))
    return [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]]

"""Fuzzing the JSON API from its OpenAPI description (docs/openapi.yaml) with schemathesis, in process.

Every generated request, valid or not, must get an answer that is not a server error and that conforms
to the description (status code, content type, body schema); every 4xx is a JSON {error, message} and
leaves the database exactly as it was. The attempt is fuzzed in progress, paused, and after submission,
so out-of-order requests are covered too. Bounded: about 30 examples per operation and mode.

Then the schemathesis command line runs with every check over HTTP against a live server (10 examples per
operation and phase): unsupported methods (405 with Allow), requests without or with forged credentials
(401/403, before any CSRF check), invalid data refused, valid data accepted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from testengine.extensions import db
from testengine.models import Attempt
from testengine.services import attempts as attempt_service
from tests.conftest import REPO
from tests.factories import csrf_of

OPENAPI_PATH = REPO / "docs" / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
ATTEMPT_OPERATIONS = [
    "GET /api/attempts/{attempt_id}",
    "GET /api/attempts/{attempt_id}/clock",
    "GET /api/attempts/{attempt_id}/questions/{position}",
    "PUT /api/attempts/{attempt_id}/answers/{position}",
    "PUT /api/attempts/{attempt_id}/flags/{position}",
    "POST /api/attempts/{attempt_id}/events",
]
SUBMIT = "POST /api/attempts/{attempt_id}/submit"
BOARD = "GET /api/sittings/{sitting_id}/board"
ME = "GET /api/me"


@pytest.fixture(scope="module")
def api_schema() -> Any:
    return schemathesis.openapi.from_path(OPENAPI_PATH)


def operation(api_schema: Any, label: str) -> Any:
    found = api_schema.find_operation_by_label(label)
    assert found is not None, f"{label} is not in docs/openapi.yaml"
    return found


class SignedInBrowser:
    """A signed-in test client as schemathesis's WSGI transport drives it, keeping the browser's identity.

    The generated `session` cookie would replace the real sign-in, and the tool's own User-Agent would
    (rightly) end a session protected against theft; both are left out, so every request is the
    signed-in person's. Refusals of anonymous or forged sessions are the access matrix's business.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def open(self, **request: Any) -> Any:
        request["headers"].pop("User-Agent", None)
        return self.client.open(**request)

    def set_cookie(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def delete_cookie(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class Fuzzer:
    """Sends generated cases through a signed-in test client and checks every answer."""

    def __init__(self, app: Any, client: Any, csrf: str, snapshot: Callable[[], Any], token: str | None = None) -> None:
        self.app = app
        self.client = client
        self.csrf = csrf
        self.snapshot = snapshot
        self.token = token
        self.outcomes: Counter[tuple[str, int]] = Counter()
        self.known_state: Any = None

    def send(self, case: Any) -> Any:
        # The state after a refusal is the state before the next request: read it once.
        before = self.known_state if self.known_state is not None else self.snapshot()
        self.known_state = None
        response = case.call(session=SignedInBrowser(self.client), app=self.app, headers={"X-CSRFToken": self.csrf})
        case.validate_response(response, checks=CHECKS)
        status = response.status_code
        assert status < 500, response.text
        if 400 <= status < 500:
            body = response.json()
            assert isinstance(body.get("error"), str) and body["error"], body
            assert isinstance(body.get("message"), str) and body["message"], body
            assert "Traceback" not in response.text
            assert self.snapshot() == before, f"{case.operation.label} answered {status} but changed the database"
            self.known_state = before
        self.outcomes[(case.operation.label, status)] += 1
        return response

    def forget(self) -> None:
        """The test changed the database itself: read the state afresh before the next request."""
        self.known_state = None

    def run(
        self,
        op: Any,
        mode: GenerationMode,
        *,
        max_examples: int = 30,
        path_parameters: dict[str, Any] | None = None,
        positions: bool = False,
    ) -> None:
        """Generate `max_examples` cases for one operation; `positions` mixes in positions that exist on the paper."""
        strategy = op.as_strategy(generation_mode=mode, path_parameters=path_parameters)
        real_position = st.one_of(st.none(), st.integers(min_value=1, max_value=41)) if positions else st.none()

        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, position=real_position)
        def check(case: Any, position: int | None) -> None:
            if position is not None and "position" in (case.path_parameters or {}):
                case.path_parameters["position"] = position
            if mode is POSITIVE and self.token and isinstance(case.body, dict) and "client_token" in case.body:
                case.body["client_token"] = self.token  # the page's own token, so valid saves really store
            self.send(case)

        check()

    def statuses(self, label: str) -> set[int]:
        return {status for (name, status) in self.outcomes if name == label}


def test_attempt_api_never_fails_and_refusals_change_nothing(api_schema, app, start_sitter, snapshot, room, clock):
    sitter = start_sitter()
    fuzz = Fuzzer(app, sitter.client, sitter.csrf, snapshot, token=sitter.token)
    own = {"attempt_id": sitter.attempt_id}

    # In progress: valid and invalid requests against the apprentice's own attempt, then anyone's.
    for label in ATTEMPT_OPERATIONS:
        op = operation(api_schema, label)
        fuzz.run(op, POSITIVE, path_parameters=own, positions=True)
        fuzz.run(op, NEGATIVE, path_parameters=own if "{position}" in label or op.body else None)
        fuzz.run(op, POSITIVE, max_examples=10)
    fuzz.run(operation(api_schema, ME), POSITIVE, max_examples=5)
    assert 200 in fuzz.statuses("PUT /api/attempts/{attempt_id}/answers/{position}"), fuzz.outcomes
    assert 400 in fuzz.statuses("PUT /api/attempts/{attempt_id}/answers/{position}"), fuzz.outcomes
    assert 404 in fuzz.statuses("GET /api/attempts/{attempt_id}/questions/{position}"), fuzz.outcomes

    # Paused by the invigilator: reads still work, writes are refused with 423 and change nothing.
    attempt = db.session.get(Attempt, sitter.attempt_id)
    attempt_service.begin_stoppage(attempt, "pause", now=clock.now(), actor=room.test_invigilator)
    db.session.commit()
    fuzz.forget()
    fuzz.outcomes.clear()
    for label in ATTEMPT_OPERATIONS:
        fuzz.run(operation(api_schema, label), POSITIVE, max_examples=10, path_parameters=own, positions=True)
    assert 423 in fuzz.statuses("PUT /api/attempts/{attempt_id}/answers/{position}"), fuzz.outcomes
    attempt_service.end_stoppage(attempt, now=clock.now(), actor=room.test_invigilator)
    db.session.commit()
    fuzz.forget()

    # Submission, then everything again: out of order now, so refused (409) and nothing changes.
    submit = operation(api_schema, SUBMIT)
    fuzz.run(submit, NEGATIVE, path_parameters=own)
    fuzz.run(submit, POSITIVE, max_examples=5, path_parameters=own)
    db.session.expire_all()
    assert db.session.get(Attempt, sitter.attempt_id).state == "submitted"
    fuzz.outcomes.clear()
    for label in [*ATTEMPT_OPERATIONS, SUBMIT]:
        fuzz.run(operation(api_schema, label), POSITIVE, max_examples=10, path_parameters=own, positions=True)
    assert fuzz.statuses("PUT /api/attempts/{attempt_id}/answers/{position}") <= {404, 409}, fuzz.outcomes
    assert fuzz.statuses(SUBMIT) == {409}, fuzz.outcomes


def test_room_board_api_never_fails(api_schema, app, room, start_sitter, login, snapshot):
    start_sitter()
    client = app.test_client()
    assert login(room.test_invigilator, test_client=client).status_code == 302
    csrf = csrf_of(client.get("/invigilate/").get_data(as_text=True))
    fuzz = Fuzzer(app, client, csrf, snapshot)
    board = operation(api_schema, BOARD)
    fuzz.run(board, POSITIVE, path_parameters={"sitting_id": room.id}, max_examples=5)
    fuzz.run(board, POSITIVE)
    fuzz.run(board, NEGATIVE)
    fuzz.run(operation(api_schema, ME), POSITIVE, max_examples=5)
    assert 200 in fuzz.statuses(BOARD) and 404 in fuzz.statuses(BOARD), fuzz.outcomes


# --- the whole API, as a third party runs it: the schemathesis command line, every check, over HTTP ------------

AGENT = "testengine-api-check/1"  # the browser the session was signed in with (session protection compares it)


def _signed_in_client(app: Any, login: Callable[..., Any], user: Any) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = AGENT
    assert login(user, test_client=client).status_code == 302
    return client


def _st_run(server_url: str, client: Any, csrf: str, parameters: dict[str, int], paths: str, tmp_path: Any, mode: str) -> Any:
    import subprocess
    import sys

    config = tmp_path / f"schemathesis-{mode}.toml"
    config.write_text(
        ("[parameters]\n" if parameters else "")
        + "".join(f"{name} = {value}\n" for name, value in parameters.items())
        # A valid request for another person's attempt is 404 and one out of order 409, by design (as documented).
        + '\n[checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "404", "409"]\n'
        # The signed-in session and the page's CSRF token, as the schemes the description declares: the tool
        # then also sends each request without them, or with forged ones, and expects 401 or 403.
        + f'\n[auth.openapi.session]\napi_key = "{client.get_cookie("session").value}"\n'
        + f'\n[auth.openapi.csrfToken]\napi_key = "{csrf}"\n'
    )
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        str(OPENAPI_PATH),
        "--url",
        server_url,
        "--checks",
        "all",
        "--mode",
        mode,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "10",
        "--seed",
        "24",
        "--generation-deterministic",
        "--workers",
        "1",
        "--no-color",
        "--include-path-regex",
        paths,
        "-H",
        f"User-Agent: {AGENT}",
    ]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=600, cwd=tmp_path)


def test_a_schemathesis_run_with_every_check_passes_against_the_whole_api(app, room, make_user, login, clock, tmp_path):
    from tests.browser.conftest import LiveServer
    from tests.factories import Sitter, book_and_check_in

    apprentice = make_user("apprentice")
    book_and_check_in(room, apprentice, room.test_invigilator, clock.now())
    sitter_client = _signed_in_client(app, login, apprentice)
    home = sitter_client.get("/apprentice/").get_data(as_text=True)
    started = sitter_client.post(
        re.search(r'action="(/apprentice/bookings/\d+/start)"', home).group(1),
        data={"csrf_token": csrf_of(home)},  # type: ignore[union-attr]
    )
    sitter = Sitter(sitter_client, int(started.headers["Location"].rstrip("/").split("/")[-1]))
    invigilator_client = _signed_in_client(app, login, room.test_invigilator)
    invigilator_csrf = csrf_of(invigilator_client.get("/invigilate/").get_data(as_text=True))
    sitting_id = room.id
    db.session.remove()  # the server threads have the database to themselves

    with LiveServer(app) as server:
        # Valid requests go to the apprentice's own attempt and the invigilator's own room. Invalid ones are left
        # free, because the tool's pinned values would replace the invalid identifiers it means to send.
        runs = {
            "apprentice, valid": _st_run(
                server.url,
                sitter.client,
                sitter.csrf,
                {"attempt_id": sitter.attempt_id},
                "^/api/(attempts|me)",
                tmp_path,
                "positive",
            ),
            "apprentice, invalid": _st_run(
                server.url, sitter.client, sitter.csrf, {}, "^/api/(attempts|me)", tmp_path, "negative"
            ),
            "invigilator, valid": _st_run(
                server.url,
                invigilator_client,
                invigilator_csrf,
                {"sitting_id": sitting_id},
                "^/api/sittings",
                tmp_path,
                "positive",
            ),
            "invigilator, invalid": _st_run(
                server.url, invigilator_client, invigilator_csrf, {}, "^/api/sittings", tmp_path, "negative"
            ),
        }
    failed = {who: f"{run.stdout[-5000:]}\n{run.stderr[-1000:]}" for who, run in runs.items() if run.returncode != 0}
    assert not failed, "\n\n".join(f"{who}:\n{output}" for who, output in failed.items())
    for who, run in runs.items():
        assert re.search(r"Test cases:\s+[1-9]\d* generated", run.stdout), f"{who} generated nothing:\n{run.stdout[-3000:]}"

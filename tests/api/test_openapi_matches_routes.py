"""docs/openapi.yaml describes the JSON API as it is: every /api route, no route that does not exist,
the same path parameters, and request bodies with the same fields and limits as the pydantic models."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from werkzeug.routing import IntegerConverter

from testengine.api import attempts as attempts_api
from testengine.api import live as live_api
from testengine.fast_lane import views as lane_api
from testengine.services.attempts import BROWSER_EVENTS, MAX_ANSWER_CHARS

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
BODY_MODELS = {
    "saveAnswer": attempts_api.SaveBody,
    "setFlag": attempts_api.FlagBody,
    "setPosition": attempts_api.PositionBody,
    "recordEvent": attempts_api.EventBody,
    "submitAttempt": attempts_api.SubmitBody,
    "heartbeat": live_api.HeartbeatBody,
    "laneSaveAnswer": lane_api.SaveBody,
    "laneSetFlag": lane_api.FlagBody,
    "laneSetPosition": lane_api.PositionBody,
    "laneRecordEvent": lane_api.EventBody,
}
LIMITS = ("type", "minLength", "maxLength", "minimum", "maximum", "nullable")


def _api_routes(app: Any) -> dict[tuple[str, str], Any]:
    routes = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            routes[(method.lower(), path)] = rule
    return routes


def _described(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def _resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_the_description_is_valid_openapi(openapi_document):
    assert openapi_document["openapi"].startswith("3.0")
    schemathesis.openapi.from_dict(openapi_document).validate()


def test_every_api_route_is_described_and_every_description_exists(app, openapi_document):
    routes = _api_routes(app)
    described = _described(openapi_document)
    assert routes, "no /api routes found"
    missing = sorted(f"{m.upper()} {p}" for m, p in set(routes) - set(described))
    extra = sorted(f"{m.upper()} {p}" for m, p in set(described) - set(routes))
    assert not missing, f"API routes not in docs/openapi.yaml: {missing}"
    assert not extra, f"docs/openapi.yaml describes routes that do not exist: {extra}"


def test_path_parameters_match_the_routes(app, openapi_document):
    for (method, path), rule in _api_routes(app).items():
        item = openapi_document["paths"][path]
        parameters = [_resolve(openapi_document, p) for p in [*item.get("parameters", []), *item[method].get("parameters", [])]]
        in_path = {p["name"]: p for p in parameters if p["in"] == "path"}
        assert set(in_path) == set(rule.arguments), f"{method.upper()} {path}"
        for name, parameter in in_path.items():
            assert parameter["required"] is True
            if isinstance(rule._converters[name], IntegerConverter):
                schema = parameter["schema"]
                converter = rule._converters[name]
                assert schema["type"] == "integer", f"{path} {name}"
                assert schema["maximum"] == converter.max, f"{path} {name}: ids beyond {converter.max} are not routed"


def test_every_write_needs_the_csrf_header_and_every_error_is_the_error_schema(openapi_document):
    schemes = openapi_document["components"]["securitySchemes"]
    assert schemes["csrfToken"] == {**schemes["csrfToken"], "type": "apiKey", "in": "header", "name": "X-CSRFToken"}
    error = openapi_document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message"}
    for (method, path), operation in _described(openapi_document).items():
        if method != "get":
            # The session API takes the session cookie; the fast lane the attempt capability; both the CSRF header.
            assert ({"session": [], "csrfToken": []} in operation["security"]) or (
                path.startswith("/api/lane/") and {"attemptCapability": [], "csrfToken": []} in operation["security"]
            ), f"{method.upper()} {path} without X-CSRFToken"
        for status, response in operation["responses"].items():
            if str(status).startswith("4"):
                schema = _resolve(openapi_document, response)["content"]["application/json"]["schema"]
                assert _resolve(openapi_document, schema) == error, f"{method.upper()} {path} {status}"


def _model_properties(model: Any) -> dict[str, dict[str, Any]]:
    """The pydantic model's JSON schema, with Optional[X] written the OpenAPI 3.0 way (nullable)."""
    out = {}
    for name, prop in model.model_json_schema()["properties"].items():
        if "anyOf" in prop:
            kinds = [p for p in prop["anyOf"] if p.get("type") != "null"]
            assert len(kinds) == 1
            prop = {**kinds[0], "nullable": True}
        out[name] = {key: prop[key] for key in LIMITS if key in prop}
    return out


@pytest.mark.parametrize("operation_id", sorted(BODY_MODELS))
def test_request_bodies_have_the_models_fields_and_limits(openapi_document, operation_id):
    operation = next(op for op in _described(openapi_document).values() if op.get("operationId") == operation_id)
    described = _resolve(openapi_document, operation["requestBody"]["content"]["application/json"]["schema"])
    model = BODY_MODELS[operation_id]
    schema = model.model_json_schema()
    assert described["additionalProperties"] is False and schema["additionalProperties"] is False
    assert set(described["required"]) == set(schema["required"])
    documented = {name: {key: prop[key] for key in LIMITS if key in prop} for name, prop in described["properties"].items()}
    assert documented == _model_properties(model)


def test_the_documented_values_are_the_ones_the_server_accepts(openapi_document):
    schemas = openapi_document["components"]["schemas"]
    assert set(schemas["EventBody"]["properties"]["kind"]["enum"]) == BROWSER_EVENTS
    assert schemas["SaveBody"]["properties"]["response"]["maxLength"] == MAX_ANSWER_CHARS


QUERY_MODELS = {
    "attemptClock": attempts_api.ClockQuery,
    "liveUpdates": live_api.StreamQuery,
    "renewCapability": attempts_api.ClockQuery,
    "laneClock": lane_api.ClockQuery,
}


@pytest.mark.parametrize("operation_id", sorted(QUERY_MODELS))
def test_query_parameters_have_the_models_names_and_limits(openapi_document, operation_id):
    operation = next(op for op in _described(openapi_document).values() if op.get("operationId") == operation_id)
    in_query = {
        p["name"]: p for p in (_resolve(openapi_document, p) for p in operation.get("parameters", [])) if p["in"] == "query"
    }
    expected = _model_properties(QUERY_MODELS[operation_id])
    assert set(in_query) == set(expected)
    for name, parameter in in_query.items():
        documented = {key: parameter["schema"][key] for key in LIMITS if key in parameter["schema"]}
        # A query parameter is absent rather than null: the model's Optional is the parameter's `required: false`.
        assert documented == {k: v for k, v in expected[name].items() if k != "nullable"}, name
        assert parameter.get("required", False) is (not expected[name].get("nullable", False))


def test_every_query_parameter_described_is_validated(openapi_document):
    described = {
        op.get("operationId")
        for op in _described(openapi_document).values()
        if any(_resolve(openapi_document, p)["in"] == "query" for p in op.get("parameters", []))
    }
    assert described == set(QUERY_MODELS)


def test_a_query_parameter_over_its_documented_limit_is_refused(start_sitter):
    sitter = start_sitter()
    too_long = sitter.client.get(f"/api/attempts/{sitter.attempt_id}/clock", query_string={"client_token": "x" * 65})
    assert too_long.status_code == 400
    assert too_long.get_json()["field"] == "client_token"
    fine = sitter.client.get(f"/api/attempts/{sitter.attempt_id}/clock", query_string={"client_token": "x" * 64})
    assert fine.status_code == 200 and fine.get_json()["superseded"] is True

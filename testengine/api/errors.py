"""JSON errors with a stable `error` code and a human message."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from pydantic import BaseModel, ValidationError

from ..domain.errors import DomainError, OutOfRange


def json_error(status: int, code: str, message: str, **extra: Any):  # type: ignore[no-untyped-def]
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


def refusal_status(error: DomainError) -> int:
    """The HTTP status of a rule's refusal: always a 4xx. Its declared status if it has one (another
    room's booking: 404); a value out of range is a bad request (400); otherwise the action conflicts
    with the current state (409)."""
    status = getattr(error, "status", None)
    if isinstance(status, int) and 400 <= status < 500:
        return status
    return 400 if isinstance(error, (OutOfRange, ValueError)) else 409


def parse_body(model: type[BaseModel], payload: Any) -> BaseModel:
    """Validate a JSON body; raises BodyError with the field that is wrong."""
    if not isinstance(payload, dict):
        raise BodyError("The request body must be a JSON object.", field=None)
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or None
        raise BodyError(f"{field or 'body'}: {first.get('msg', 'invalid')}", field=field) from None


def parse_query(model: type[BaseModel], args: Any) -> Any:
    """Validate a query string (the first value of each name); raises BodyError naming the parameter."""
    try:
        return model.model_validate({name: args.get(name) for name in args})
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or None
        raise BodyError(f"{field or 'query'}: {first.get('msg', 'invalid')}", field=field) from None


class BodyError(Exception):
    def __init__(self, message: str, *, field: str | None) -> None:
        super().__init__(message)
        self.field = field

"""JSON errors with a stable `error` code and a human message."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from pydantic import BaseModel, ValidationError


def json_error(status: int, code: str, message: str, **extra: Any):  # type: ignore[no-untyped-def]
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


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


class BodyError(Exception):
    def __init__(self, message: str, *, field: str | None) -> None:
        super().__init__(message)
        self.field = field

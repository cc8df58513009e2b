"""Control characters are refused at the edge, once, for every page and endpoint.

NUL cannot be stored in a PostgreSQL text column (SQLite stores it), and the other control
characters have no place in anything a person types here: they only make exports, PDFs and
logs misbehave. So every query parameter, form field, URL part and JSON string (keys too) is
checked before any view runs, and a request carrying one is answered 400 with the field named
(a page for people, a JSON error for the API), having changed nothing. Tab, CR and LF are the
exceptions: free text has them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, jsonify, render_template, request

# Unicode category Cc (C0 controls, DEL and the C1 controls) less tab, LF and CR.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character(value: str) -> str | None:
    """The first forbidden control character in `value`, as U+XXXX, or None when there is none."""
    found = _CONTROL.search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def _shown(name: str) -> str:
    """A field name fit to print back, whatever it holds."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", name)[:100] or "(unnamed)"


def _json_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, text) for every key and string inside a JSON value, without recursion (any depth)."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where or "body", item
        elif isinstance(item, dict):
            for key, inner in item.items():
                child = f"{where}.{key}" if where else str(key)
                yield child, str(key)
                stack.append((child, inner))
        elif isinstance(item, list):
            stack.extend((f"{where}.{index}" if where else str(index), inner) for index, inner in enumerate(item))


def _fields() -> Iterator[tuple[str, str, str]]:
    """(where, field, text) for everything the request carries that a view might store or query with."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            yield "url", name, value
    for name, values in request.args.lists():
        yield "query", name, name
        for value in values:
            yield "query", name, value
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, values in request.form.lists():
                yield "form", name, name
                for value in values:
                    yield "form", name, value
            for name, upload in request.files.items(multi=True):
                yield "form", name, upload.filename or ""
        elif request.is_json:
            for name, value in _json_strings(request.get_json(silent=True)):
                yield "body", name, value


def refuse_control_characters():  # type: ignore[no-untyped-def]
    for where, field, value in _fields():
        character = control_character(value)
        if character is None:
            continue
        shown = _shown(field)
        if request.path.startswith("/api/"):
            code = "invalid_body" if where == "body" else "invalid_parameter"
            return jsonify(error=code, message=f"{shown}: contains a control character ({character})", field=shown), 400
        message = (
            f"The field ‘{shown}’ contains a control character ({character}), which is not allowed. "
            "Remove it (or type the text again) and try once more. Nothing was changed."
        )
        return render_template("error.html", status=400, title="Bad request", message=message), 400
    return None


def install(app: Flask) -> None:
    app.before_request(refuse_control_characters)

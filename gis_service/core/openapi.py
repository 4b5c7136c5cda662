"""The OpenAPI document says what the service really answers and enforces.

Every error is ``application/problem+json`` (one shared mapping, added to every
operation rather than repeated on each route), and the rules checked in code
(12-digit township codes, the ``limit`` cap) appear in the parameter schemas,
so generated clients and schemathesis see the same contract the server keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from gis_service.core.errors import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; errors names each offending field",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
_REF = {"$ref": "#/components/schemas/Problem"}
_RETRY = {
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "schema": {"type": "integer"},
    }
}
# status -> (description, only for requests with a body)
ERRORS: dict[str, tuple[str, bool]] = {
    "400": ("malformed request (JSON, duplicate keys, Idempotency-Key)", False),
    "401": ("not signed in, or a wrong password or token", False),
    "404": ("not found (in this township)", False),
    "406": ("the requested format (f= or Accept) is not served here", False),
    "409": ("conflicts with the current state, or the same key still running", False),
    "413": ("request body over the configured limit", True),
    "415": ("media type no route reads", True),
    "422": ("invalid input; errors names each field", False),
    "503": ("database unavailable, busy or too slow; retry after Retry-After", False),
    "507": ("no disk or temp space on the server; nothing was written", True),
}
SIGN_IN_LIMIT: dict[str, Any] = {
    "description": "too many failed sign-ins from this address or for this user",
    "content": {PROBLEM_JSON: {"schema": _REF}},
}
TOWNSHIP_PATTERN = "^[0-9]{12}$"


def _constrain(operation: dict[str, Any], limit_max: int) -> None:
    # A route declaring a parameter in ``openapi_extra`` (the OGC ones, read from
    # the raw query) gets it twice, FastAPI's plain string first: keep the last.
    if "parameters" in operation:
        unique = {(p.get("in"), p.get("name")): p for p in operation["parameters"]}
        operation["parameters"] = list(unique.values())
    for parameter in operation.get("parameters", []):
        schema = parameter.setdefault("schema", {})
        name = parameter.get("name")
        if parameter.get("in") == "path" and name == "township":
            schema["pattern"] = TOWNSHIP_PATTERN
        if parameter.get("in") == "query" and name == "limit":
            schema.setdefault("maximum", limit_max)


def document_problems(app: FastAPI, *, limit_max: int) -> None:
    """Make ``app.openapi()`` declare problem+json errors and enforced limits."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
            PROBLEM_SCHEMA
        )
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                _constrain(operation, limit_max)
                with_body = method in ("post", "put", "patch")
                if path.startswith("/auth/") and with_body:
                    operation["responses"]["429"] = SIGN_IN_LIMIT
                for code, (text, body_only) in ERRORS.items():
                    if body_only and not with_body:
                        continue
                    answer: dict[str, Any] = {
                        "description": text,
                        "content": {PROBLEM_JSON: {"schema": _REF}},
                    }
                    if code == "503":
                        answer["headers"] = _RETRY
                    operation["responses"][code] = answer
        schemas = schema["components"]["schemas"]
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

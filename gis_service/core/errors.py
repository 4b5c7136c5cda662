"""One error hierarchy, rendered in one place as RFC 9457 problem+json.

Services raise ``GridGISError`` subclasses (never ``HTTPException``); the handlers
below turn them, FastAPI's validation errors and unexpected exceptions into
``application/problem+json``. Raw PostgreSQL messages never reach the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://gridgis.example.org/problems/"


class GridGISError(Exception):
    """Base of every error a client may see; ``status`` picks the HTTP code."""

    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 body; ``errors`` lists each offending field/feature."""
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body

    def headers(self) -> dict[str, str]:
        """Extra response headers (Retry-After on a 503)."""
        return {}


class InvalidInput(GridGISError):
    """A parameter or body value is malformed or out of range."""

    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class BadRequest(GridGISError):
    """A query the standard says must be refused with 400 (OGC APIs, CQL2 filters).

    Other routes keep ``InvalidInput`` (422); OGC clients expect exactly 400.
    """

    status = 400
    title = "Bad request"
    slug = "bad-request"


class NotAcceptable(GridGISError):
    """No representation the client accepts (``Accept`` or ``f``) is served."""

    status = 406
    title = "Not acceptable"
    slug = "not-acceptable"


class NotFound(GridGISError):
    """The addressed resource does not exist (in this township)."""

    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(GridGISError):
    """The request clashes with the current state (duplicate, illegal transition)."""

    status = 409
    title = "Conflict"
    slug = "conflict"


class UnsupportedMedia(GridGISError):
    """An uploaded file is of a format GridGIS cannot read."""

    status = 415
    title = "Unsupported media"
    slug = "unsupported-media"


class Forbidden(GridGISError):
    """The caller's role does not allow this."""

    status = 403
    title = "Forbidden"
    slug = "forbidden"


def problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSONResponse with the problem+json media type."""
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that make every error problem+json."""

    @app.exception_handler(GridGISError)
    async def _gridgis(request: Request, exc: GridGISError) -> JSONResponse:
        return problem_response(
            exc.status, exc.to_problem(str(request.url.path)), exc.headers()
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(
        request: Request, exc: RequestValidationError
    ) -> JSONResponse:
        errors = [
            {
                "field": _loc_to_field(err.get("loc", ())),
                "in": str(err.get("loc", ("",))[0]),
                "reason": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        problem = InvalidInput(f"invalid request: {fields}", errors=errors)
        return problem_response(422, problem.to_problem(str(request.url.path)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:  # Allow names every method of the path
            return problem_response(
                405, _http_body(request, exc), {"Allow": _allowed(request)}
            )
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, _http_body(request, exc), headers)

    def _http_body(request: Request, exc: StarletteHTTPException) -> dict[str, Any]:
        return {
            "type": "about:blank",
            "title": str(exc.detail) if exc.status_code != 404 else "Not found",
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": str(request.url.path),
        }

    app.add_exception_handler(Exception, unexpected)


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, a generic 500 problem for the client."""
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    body = {
        "type": TYPE_BASE + "internal",
        "title": "Internal error",
        "status": 500,
        "detail": "an unexpected error occurred; it has been logged",
        "instance": str(request.url.path),
    }
    return problem_response(500, body)


def _allowed(request: Request) -> str:
    """The methods the matched path answers (for a 405's Allow header)."""
    from starlette.routing import Match

    methods = [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(methods) or "GET"

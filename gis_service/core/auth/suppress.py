"""Small counts hidden from viewers: fewer than 5 households is "<5".

A viewer sees aggregates only, but a grid of three households with one
``低保`` tag names a family to anyone who knows the village. Counts of 1-4 become
"<5" (0 is shown: it reveals no one), rates over fewer than five households or
demands are withheld, and a sentence that spells the counts out is dropped.
Applied to every JSON answer a viewer gets, so an aggregate added later is
covered without anyone remembering to.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

SMALL = "<5"
THRESHOLD = 5
# integers that describe the structure, not people: never suppressed
STRUCTURE = frozenset(
    {
        "id",
        "grid_id",
        "run_id",
        "depth",
        "level",
        "default_days",
        "days",
        "capacity",
        "cadres",
        "cadres_needed",
        "grids",
        "townships",
        "roads",
        "shelters",
        "duration_ms",
        "limit",
        "offset",
        "numberMatched",
        "numberReturned",
    }
)
DENOMINATORS = ("households", "collected")
RATES = ("_share", "_rate")
SENTENCES = ("summary", "shortfall")
SKIP = frozenset({"rules", "last_run"})  # settings and a run's own statistics


def _small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 5


def suppress(data: Any) -> Any:
    """The same structure with counts of 1-4 as "<5" and what they would reveal."""
    if isinstance(data, list):
        return [suppress(item) for item in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    hidden = False
    for key, value in data.items():
        if key in SKIP or (key in STRUCTURE and not isinstance(value, dict | list)):
            out[key] = value
        elif _small(value):
            out[key] = SMALL
            hidden = True
        else:
            out[key] = suppress(value)
    few = any(_small(data.get(k)) for k in DENOMINATORS)
    for key in out:
        if few and key.endswith(RATES):
            out[key] = None
        if hidden and key in SENTENCES:
            out[key] = None
    return out


async def suppress_for_viewers(request: Request, call_next: Any) -> Response:
    """Middleware: a viewer's JSON answers go through ``suppress``."""
    response: Response = await call_next(request)
    principal = getattr(request.state, "principal", None)
    ctype = response.headers.get("content-type", "")
    if getattr(principal, "role", None) != "viewer" or not ctype.startswith(
        "application/json"
    ):
        return response
    chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
    data = suppress(json.loads(b"".join(chunks)))
    headers = {
        k: v for k, v in response.headers.items() if k.lower() != "content-length"
    }
    return Response(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(),
        status_code=response.status_code,
        headers=headers,
    )

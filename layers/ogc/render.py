"""Format negotiation (``f`` and ``Accept``) and the JSON/HTML responses.

``f`` wins over ``Accept``; a format neither names nor covers is a 406. HTML is
rendered by Jinja2 with autoescape (data never becomes markup).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import Request, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gis_service.core.errors import NotAcceptable
from layers.ogc.documents import GEOJSON, HTML, JSON, link

if TYPE_CHECKING:
    from layers.ogc.params import ItemsQuery
    from layers.ogc.service import Page

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)
_JSONISH = ("application/json", "application/geo+json", "application/schema+json",
            "application/vnd.oai.openapi+json", "application/openapi+json",
            "application/problem+json")  # fmt: skip


def _ranges(accept: str) -> list[tuple[float, int, str]]:
    """Media ranges by preference: (-q, position, type)."""
    out = []
    for i, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media, q = pieces[0].lower(), 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media and q > 0:
            out.append((-q, i, media))
    return sorted(out)


def negotiate(f: str | None, accept: str | None, *, html: bool = True) -> str:
    """``json`` or ``html`` from ``f``, else from ``Accept``; 406 when neither fits."""
    offered = ("json", "html") if html else ("json",)
    if f is not None:
        if f in offered:
            return f
        raise NotAcceptable(
            f"f={f!r} is not served here; use one of {', '.join(offered)}",
            errors=[{"field": "f", "reason": "unsupported format"}],
        )
    if not accept:
        return "json"
    for _, _, media in _ranges(accept):
        if media in ("*/*", "application/*") or media in _JSONISH:
            return "json"
        if media in ("text/html", "text/*", "application/xhtml+xml") and html:
            return "html"
    raise NotAcceptable(
        f"none of the accepted types ({accept}) is served; offered: "
        + ", ".join(
            ("application/json", "application/geo+json", HTML)[: 3 if html else 2]
        ),
        errors=[{"field": "Accept", "reason": "unsupported media type"}],
    )


def json_response(
    body: Any, media_type: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    """A JSON body serialised once, non-ASCII kept as UTF-8."""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return Response(text.encode("utf-8"), media_type=media_type, headers=headers)


def html_response(
    *,
    title: str,
    links: list[dict[str, str]],
    description: str = "",
    facts: list[tuple[str, Any]] | None = None,
    headers: list[str] | None = None,
    rows: list[list[Any]] | None = None,
) -> Response:
    """The one HTML page shape: title, facts, links, and an optional table."""
    page = _ENV.get_template("ogc.html").render(
        title=title, description=description, facts=facts or [], links=links,
        headers=headers or [], rows=rows or [],
    )  # fmt: skip
    return Response(page, media_type=HTML + "; charset=utf-8")


def page_url(request: Request, **changes: Any) -> str:
    """The request's URL with some query parameters replaced."""
    params = dict(request.query_params.multi_items())
    params.update({k: str(v) for k, v in changes.items()})
    url = str(request.url.replace(query=""))
    return url + ("?" + urlencode(params) if params else "")


def page_links(
    request: Request, collection: str, *, query: ItemsQuery, page: Page, fmt: str
) -> list[dict[str, str]]:
    """self/alternate/collection, and next/prev with the (clamped) limit."""
    links = [
        link(page_url(request), "self", GEOJSON if fmt == "json" else HTML, "本页"),
        link(page_url(request, f="html"), "alternate", HTML, "本页 (HTML)"),
        link(collection, "collection", JSON, "图层"),
    ]
    if query.offset + page.number_returned < page.number_matched:
        after = page_url(request, offset=query.offset + query.limit, limit=query.limit)
        links.append(link(after, "next", GEOJSON, "下一页"))
    if query.offset > 0:
        before = max(0, query.offset - query.limit)
        links.append(
            link(page_url(request, offset=before, limit=query.limit), "prev",
                 GEOJSON, "上一页")
        )  # fmt: skip
    return links


def feature_collection_text(page: Page, links: list[dict[str, str]]) -> str:
    """The FeatureCollection around the features PostGIS already rendered."""
    return (
        '{"type":"FeatureCollection","features":['
        + ",".join(page.features)
        + f'],"numberMatched":{page.number_matched},'
        f'"numberReturned":{page.number_returned},'
        f'"links":{json.dumps(links, ensure_ascii=False)}}}'
    )

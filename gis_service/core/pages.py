"""One page envelope for every list endpoint, and the GeoJSON response types.

``Page[T]`` carries ``items``; ``FeaturePage[F]`` is the same page as a GeoJSON
FeatureCollection carrying ``features``. Both have OGC API Features' paging
members (``numberMatched``, ``numberReturned``, ``links`` self/next/prev), so a
client pages every list the same way. GeoJSON bodies are described with
geojson-pydantic's models, so ``/openapi.json`` states every response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi.responses import JSONResponse
from geojson_pydantic import Feature as GeoJSONFeature
from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, Field

T = TypeVar("T")
F = TypeVar("F")

JSON = "application/json"
GEOJSON = "application/geo+json"


class AnyFeature(GeoJSONFeature[Geometry, dict[str, Any]]):
    """A GeoJSON Feature whose properties are a layer's own fields."""


class GeoJSONResponse(JSONResponse):
    """JSON sent as ``application/geo+json`` (and so described in the OpenAPI)."""

    media_type = GEOJSON


class Link(BaseModel):
    """A link to this page or the next/previous one, other parameters kept."""

    rel: Literal["self", "next", "prev"]
    type: str
    href: str


class PageMeta(BaseModel):
    """The paging members every list shares (OGC API Features names)."""

    numberMatched: int = Field(description="items matching the query, all pages")
    numberReturned: int = Field(description="items on this page")
    links: list[Link] = Field(default_factory=list)


class Page(PageMeta, Generic[T]):
    """One page of a list: ``items`` plus the paging members."""

    items: list[T]


class FeaturePage(PageMeta, Generic[F]):
    """One page of a layer as a GeoJSON FeatureCollection with paging members."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[F]


class FeatureCollectionOut(BaseModel, Generic[F]):
    """A GeoJSON FeatureCollection (not paged)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[F]


def page_links(
    url: str | None, *, limit: int, offset: int, matched: int, media_type: str = JSON
) -> list[Link]:
    """Self / next / prev links that keep every other query parameter."""
    if not url:
        return []
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("limit", "offset")]

    def at(start: int) -> str:
        q = urlencode([*query, ("limit", str(limit)), ("offset", str(start))])
        return urlunsplit(parts._replace(query=q))

    links = [Link(rel="self", type=media_type, href=at(offset))]
    if offset + limit < matched:
        links.append(Link(rel="next", type=media_type, href=at(offset + limit)))
    if offset > 0:
        links.append(Link(rel="prev", type=media_type, href=at(max(offset - limit, 0))))
    return links


def make_page(
    items: Sequence[T],
    *,
    matched: int,
    limit: int,
    offset: int,
    url: str | None = None,
) -> Page[T]:
    """A ``Page`` of ``items`` out of ``matched``, with links when ``url`` is given."""
    return Page[T](
        items=list(items),
        numberMatched=matched,
        numberReturned=len(items),
        links=page_links(url, limit=limit, offset=offset, matched=matched),
    )


def page_of(
    rows: Sequence[Mapping[Any, Any]],
    build: Callable[[Mapping[Any, Any]], T],
    *,
    limit: int,
    offset: int,
    url: str | None = None,
) -> Page[T]:
    """A ``Page`` from rows carrying ``matched`` (``count(*) OVER ()`` in the SQL).

    A page past the end has no rows to carry the count, so it says 0 matched.
    """
    matched = int(rows[0]["matched"]) if rows else 0
    return make_page(
        [build(r) for r in rows], matched=matched, limit=limit, offset=offset, url=url
    )


class FeatureCollection(FeatureCollectionOut[AnyFeature]):
    """A GeoJSON FeatureCollection of layer features."""


class FeaturesPage(FeaturePage[AnyFeature]):
    """One page of a layer's features (GeoJSON with OGC paging members)."""

"""CQL2 (text or JSON) parsed by pygeofilter, translated to SQLAlchemy expressions.

Property names must be the collection's queryables (checked here, never looked up
in the database); every literal becomes a bound parameter of the property's type,
so a filter can neither inject SQL nor make PostgreSQL fail on a type mismatch.
Anything else the grammar allows but we do not serve is a 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar, cast

from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator
from pygeofilter.backends.evaluator import handle as _handle
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
    func,
    literal,
    not_,
    or_,
)
from sqlalchemy.sql.selectable import Subquery

from gis_service.core.errors import BadRequest
from layers.ogc.collections import Kind, Prop
from layers.ogc.crs import DEFAULT, ServedCrs, to_storage

GEOMETRY_NAMES = ("geometry", "geom")
MAX_FILTER_CHARS = 20_000
_SPATIAL = {
    ast.GeometryIntersects: "ST_Intersects",
    ast.GeometryDisjoint: "ST_Disjoint",
    ast.GeometryWithin: "ST_Within",
    ast.GeometryContains: "ST_Contains",
    ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses",
    ast.GeometryOverlaps: "ST_Overlaps",
    ast.GeometryEquals: "ST_Equals",
}
_OPS = {
    ast.Equal: "__eq__",
    ast.NotEqual: "__ne__",
    ast.LessThan: "__lt__",
    ast.LessEqual: "__le__",
    ast.GreaterThan: "__gt__",
    ast.GreaterEqual: "__ge__",
}


_F = TypeVar("_F", bound=Callable[..., Any])


def handle(*classes: Any) -> Callable[[_F], _F]:
    """The pygeofilter handler decorator, typed for mypy."""
    return cast(Callable[[_F], _F], _handle(*classes))


def _bad(detail: str, reason: str = "invalid filter") -> BadRequest:
    return BadRequest(detail, errors=[{"field": "filter", "reason": reason}])


def parse_filter(text: str, lang: str) -> ast.Node:
    """Parse a CQL2 filter; any syntax error is a 400 naming the parser's complaint."""
    try:
        if lang == "cql2-json":
            return parse_json(json.loads(text))
        return parse_text(text)
    except Exception as exc:  # lark/json/pygeofilter raise many types
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise _bad(
            f"filter is not valid {lang}: {type(exc).__name__} {first}".strip(),
            "syntax error",
        ) from None


class _Attr:
    """A resolved property reference: its column and declared type."""

    def __init__(self, name: str, column: Any, prop: Prop | None) -> None:
        self.name = name
        self.column = column
        self.prop = prop

    @property
    def type(self) -> str:
        return self.prop.type if self.prop else "integer"  # only ``id`` has no Prop


def _typed(attr: _Attr, value: Any) -> BindParameter[Any]:
    """Bind ``value`` as the property's type, or 400 on a mismatch."""
    kind = attr.type
    ok = {
        "string": isinstance(value, str),
        "tags": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "date": isinstance(value, date),
        "date-time": isinstance(value, date),
    }[kind]
    if not ok:
        raise _bad(
            f"filter compares {attr.name} ({kind}) with {value!r}", "type mismatch"
        )
    if kind == "tags":
        return bindparam(None, value)
    return bindparam(None, value, type_=attr.column.type)


class SqlTranslator(Evaluator):  # type: ignore[misc]
    """Walks pygeofilter's AST; each handler returns a SQLAlchemy element."""

    def __init__(self, kind: Kind, t: Subquery, crs: ServedCrs = DEFAULT) -> None:
        self.kind = kind
        self.t = t
        self.crs = crs

    # -- logic ---------------------------------------------------------------
    @handle(ast.Not)
    def not_(self, node: ast.Not, sub: Any) -> Any:
        """NOT."""
        return not_(self._bool(sub))

    @handle(ast.And)
    def and_(self, node: ast.And, lhs: Any, rhs: Any) -> Any:
        """AND."""
        return and_(self._bool(lhs), self._bool(rhs))

    @handle(ast.Or)
    def or_(self, node: ast.Or, lhs: Any, rhs: Any) -> Any:
        """OR."""
        return or_(self._bool(lhs), self._bool(rhs))

    @handle(ast.Include)
    def include(self, node: ast.Include) -> Any:
        """INCLUDE / EXCLUDE."""
        return literal(True) if not node.not_ else literal(False)

    # -- comparison ----------------------------------------------------------
    @handle(*_OPS)
    def comparison(self, node: Any, lhs: Any, rhs: Any) -> Any:
        """=, <>, <, <=, >, >= (a list property: = and <> test membership)."""
        op = _OPS[type(node)]
        if isinstance(lhs, _Attr) and isinstance(rhs, _Attr):
            if lhs.type != rhs.type or "tags" in (lhs.type,):
                raise _bad(f"cannot compare {lhs.name} with {rhs.name}")
            return getattr(lhs.column, op)(rhs.column)
        if not isinstance(lhs, _Attr):  # literal op property: mirror it
            if not isinstance(rhs, _Attr):
                raise _bad("a comparison needs a property on one side")
            lhs, rhs = rhs, lhs
            op = {"__lt__": "__gt__", "__gt__": "__lt__", "__le__": "__ge__"}.get(
                op, "__le__" if op == "__ge__" else op
            )
        value = _typed(lhs, rhs)
        if lhs.type == "tags":
            if op not in ("__eq__", "__ne__"):
                raise _bad(f"{lhs.name} (a list) only supports = and <>")
            has = value == lhs.column.any_()
            return has if op == "__eq__" else not_(has)
        return getattr(lhs.column, op)(value)

    @handle(ast.Like)
    def like(self, node: ast.Like, lhs: Any) -> Any:
        """LIKE with CQL2's % and _ wildcards and backslash escape."""
        attr = self._attr(lhs, "LIKE")
        if attr.type != "string" or not isinstance(node.pattern, str):
            raise _bad(f"LIKE needs a text property and pattern: {attr.name}")
        pattern = bindparam(None, str(node.pattern), type_=attr.column.type)
        op = attr.column.ilike if node.nocase else attr.column.like
        expr = op(pattern, escape="\\")
        return not_(expr) if node.not_ else expr

    @handle(ast.In)
    def in_(self, node: ast.In, lhs: Any, *options: Any) -> Any:
        """IN (values...)."""
        attr = self._attr(lhs, "IN")
        if attr.type == "tags" or any(isinstance(o, _Attr) for o in options):
            raise _bad(f"IN needs a scalar property and a list of values: {attr.name}")
        expr = attr.column.in_([_typed(attr, o) for o in options])
        return not_(expr) if node.not_ else expr

    @handle(ast.Between)
    def between(self, node: ast.Between, lhs: Any, low: Any, high: Any) -> Any:
        """BETWEEN low AND high."""
        attr = self._attr(lhs, "BETWEEN")
        expr = attr.column.between(_typed(attr, low), _typed(attr, high))
        return not_(expr) if node.not_ else expr

    @handle(ast.IsNull)
    def is_null(self, node: ast.IsNull, lhs: Any) -> Any:
        """IS [NOT] NULL."""
        attr = self._attr(lhs, "IS NULL")
        return attr.column.is_not(None) if node.not_ else attr.column.is_(None)

    # -- spatial -------------------------------------------------------------
    @handle(*_SPATIAL)
    def spatial(self, node: Any, lhs: Any, rhs: Any) -> Any:
        """S_INTERSECTS, S_WITHIN, ... on the bare geometry column."""
        if isinstance(rhs, _Attr) and not isinstance(lhs, _Attr):
            lhs, rhs = rhs, lhs
        if not (isinstance(lhs, _Attr) and lhs.name in GEOMETRY_NAMES):
            raise _bad("spatial predicates compare the geometry with a literal")
        if isinstance(rhs, _Attr):
            raise _bad("spatial predicates need one geometry literal")
        return getattr(func, _SPATIAL[type(node)])(lhs.column, rhs)

    @handle(values.Geometry)
    def geometry(self, node: values.Geometry) -> Any:
        """A GeoJSON/WKT literal in filter-crs (CRS84 by default), as CRS84."""
        text = json.dumps(node.geometry)
        literal = func.ST_SetSRID(
            func.ST_GeomFromGeoJSON(bindparam(None, text)), self.crs.srid
        )
        return to_storage(literal, self.crs, axes_as_given=True)

    @handle(values.Envelope)
    def envelope(self, node: values.Envelope) -> Any:
        """An ENVELOPE literal."""
        return self._envelope([node.x1, node.y1, node.x2, node.y2])

    @handle(ast.Function)
    def function(self, node: ast.Function, *args: Any) -> Any:
        """Only BBOX(...) is a function we serve."""
        if node.name.lower() == "bbox" and len(args) in (4, 6):
            box = list(args) if len(args) == 4 else [args[0], args[1], args[3], args[4]]
            return self._envelope(box)
        raise _bad(f"function {node.name!r} is not supported", "unsupported")

    # -- leaves --------------------------------------------------------------
    @handle(ast.Attribute)
    def attribute(self, node: ast.Attribute) -> Any:
        """A property name: a queryable, ``id`` or the geometry."""
        name = node.name
        if name in GEOMETRY_NAMES:
            return _Attr(name, self.t.c.geom, Prop(name, "geometry", ""))
        if name == "id":
            return _Attr(name, self.t.c.id, None)
        prop = self.kind.prop(name)
        if prop is None or not prop.queryable:
            raise _bad(
                f"{name!r} is not a queryable of this collection; see its /queryables",
                "unknown property",
            )
        return _Attr(name, self.t.c[name], prop)

    @handle(str, int, float, bool, datetime, date)
    def literal(self, node: Any) -> Any:
        """Literals stay Python values until bound against a property."""
        return node

    def adopt(self, node: Any, *sub_args: Any) -> Any:
        """Any node without a handler (temporal, arithmetic, arrays...) is a 400."""
        raise _bad(f"{type(node).__name__} is not supported here", "unsupported")

    # -- helpers -------------------------------------------------------------
    def _attr(self, value: Any, what: str) -> _Attr:
        if not isinstance(value, _Attr):
            raise _bad(f"{what} needs a property on its left")
        return value

    def _bool(self, value: Any) -> ColumnElement[bool]:
        if isinstance(value, _Attr | str | int | float | datetime | date):
            raise _bad("AND/OR/NOT combine conditions, not values")
        return value  # type: ignore[no-any-return]

    def _envelope(self, box: list[Any]) -> Any:
        if not all(isinstance(v, int | float) for v in box):
            raise _bad("BBOX needs numbers")
        # corners in filter-crs's axis order, like a geometry literal's
        envelope = func.ST_MakeEnvelope(
            *(bindparam(None, float(v)) for v in box), self.crs.srid
        )
        return to_storage(envelope, self.crs, axes_as_given=True)


def filter_clause(
    kind: Kind, t: Subquery, text: str, lang: str, *, crs: ServedCrs = DEFAULT
) -> ColumnElement[bool]:
    """The WHERE clause for a CQL2 filter over the collection's rows ``t``.

    ``crs`` (``filter-crs``): the CRS and axis order of its geometry literals.
    """
    if len(text) > MAX_FILTER_CHARS:
        raise _bad(f"filter is longer than {MAX_FILTER_CHARS} characters", "too long")
    try:
        node = parse_filter(text, lang)
        result = SqlTranslator(kind, t, crs).evaluate(node)
    except RecursionError:
        raise _bad("filter is nested too deeply", "too deep") from None
    if isinstance(result, _Attr) or not isinstance(result, ColumnElement):
        raise _bad("a filter must be a condition, not a value")
    return result

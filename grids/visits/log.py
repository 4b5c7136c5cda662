"""The visit log: record visits one by one or a day's worth at once, list them.

A batch (CSV or a JSON list) is validated completely before anything is written:
every bad row is named (row number, field, reason) and nothing is inserted unless
every row is good. Writes are set-based: ids are drawn for the whole batch in one
statement, then the visits and the demands they raise go in with one
INSERT ... SELECT each over a JSON recordset.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.db import atomic
from gis_service.core.errors import InvalidInput
from gis_service.core.inputs import as_utc
from gis_service.core.pages import Page, page_of
from grids.tree.scope import check_references
from grids.visits.demands import insert_demands
from grids.visits.schemas import VisitBatchOut, VisitCreate, VisitOut
from grids.visits.visit_file import FIRST_ROW, parse_visit_file

logger = logging.getLogger(__name__)

FAR_FIX_M = 300.0
FUTURE_TOLERANCE = timedelta(minutes=10)

_NEW_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('visits', 'id')) "
    "FROM generate_series(1, :n) ORDER BY 1"
)

_INSERT_VISITS = text(
    """
    INSERT INTO visits (id, township_code, household_id, cadre_id, visited_at, purpose,
                        notes, fix)
    SELECT r.id, :t, h.id, COALESCE(c.id, h.cadre_id), r.visited_at, r.purpose, r.notes,
           CASE WHEN r.lon IS NULL THEN NULL
                ELSE ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) END
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS r(id bigint, household text, cadre text, visited_at timestamptz,
              purpose text, notes text, lon float8, lat float8)
    JOIN households h ON h.township_code = :t AND h.code = r.household
    LEFT JOIN cadres c ON c.township_code = :t AND c.code = r.cadre
    """
)

# As the demands list: the rows are gathered (MATERIALIZED) before they are ordered
# and paged, else LIMIT made the planner cost a page's share of the join and probe
# each visit's household and cadre by index (140 000 visits: 1.5 s; under a wide
# role's township check 2.7 s; hash joins: ~1.2 s either way). The distance, the
# costly column, is computed for the page only.
_LIST_VISITS = text(
    """
    WITH listed AS MATERIALIZED (
    SELECT v.id, v.household_id, h.code AS household, h.head_name, v.cadre_id,
           c.code AS cadre, c.name AS cadre_name, v.visited_at, v.purpose, v.notes,
           v.fix, h.geom AS household_geom, count(*) OVER () AS matched
    FROM visits v
    JOIN households h ON h.township_code = v.township_code AND h.id = v.household_id
    LEFT JOIN cadres c ON c.township_code = v.township_code AND c.id = v.cadre_id
    WHERE v.township_code = :t
      AND (CAST(:ids AS bigint[]) IS NULL OR v.id = ANY(CAST(:ids AS bigint[])))
      AND (CAST(:household AS text) IS NULL OR h.code = :household)
      AND (CAST(:cadre AS text) IS NULL OR c.code = :cadre)
      AND (CAST(:since AS timestamptz) IS NULL OR v.visited_at >= :since)
      AND (CAST(:until AS timestamptz) IS NULL OR v.visited_at < :until)
      AND (NOT :far_only OR (v.fix IS NOT NULL
           AND NOT ST_DWithin(v.fix::geography, h.geom::geography, :far_m)))
    )
    SELECT id, household_id, household, head_name, cadre_id, cadre, cadre_name,
           visited_at, purpose, notes, ST_X(fix) AS lon, ST_Y(fix) AS lat,
           ST_Distance(fix::geography, household_geom::geography) AS fix_distance_m,
           matched
    FROM listed
    ORDER BY visited_at DESC, id DESC
    LIMIT :limit OFFSET :offset
    """
)


def validate_rows(
    rows: Sequence[Any], *, first_row: int | None = None
) -> list[VisitCreate]:
    """Validate every row; raise one error naming each bad row and field.

    ``first_row`` is the number a spreadsheet shows for the first row (2 under
    a header); each error then also says its ``row``.
    """
    if not rows:
        raise InvalidInput("the visit batch is empty")
    visits: list[VisitCreate] = []
    errors: list[dict[str, Any]] = []
    latest = datetime.now(UTC) + FUTURE_TOLERANCE
    for number, row in enumerate(rows, start=1):
        try:
            visit = VisitCreate.model_validate(row)
        except ValidationError as exc:
            errors.extend(
                {
                    "feature": number,
                    "field": ".".join(str(p) for p in err["loc"]) or "row",
                    "reason": err["msg"],
                }
                for err in exc.errors()
            )
            continue
        if visit.visited_at > latest:
            errors.append(
                {"feature": number, "field": "visited_at", "reason": "in the future"}
            )
        visits.append(visit)
    if errors and first_row is not None:
        for e in errors:
            e["row"] = e["feature"] - 1 + first_row
    if errors:
        raise InvalidInput(
            f"{len({e['feature'] for e in errors})} of {len(rows)} rows are invalid; "
            "nothing was recorded",
            errors=errors,
        )
    return visits


def _references(visits: Iterable[VisitCreate]) -> list[dict[str, Any]]:
    refs = []
    for number, visit in enumerate(visits, start=1):
        refs.append(
            {
                "num": number,
                "field": "household",
                "kind": "household",
                "code": visit.household,
            }
        )
        if visit.cadre:
            refs.append(
                {"num": number, "field": "cadre", "kind": "cadre", "code": visit.cadre}
            )
        for k, demand in enumerate(visit.demands):
            if demand.owner:
                refs.append(
                    {"num": number, "field": f"demands.{k}.owner", "kind": "cadre",
                     "code": demand.owner}
                )  # fmt: skip
    return refs


def record_visits(
    session: Session,
    *,
    township: str,
    rows: Sequence[Any],
    actor: str = "system",
    far_m: float = FAR_FIX_M,
    first_row: int | None = None,
) -> VisitBatchOut:
    """Record a batch of visits (and the demands they raise), all or nothing."""
    visits = validate_rows(rows, first_row=first_row)
    with atomic(session):
        check_references(session, township=township, refs=_references(visits))
        ids = [int(i) for i in session.execute(_NEW_IDS, {"n": len(visits)}).scalars()]
        payload = [
            {
                "id": vid,
                **v.model_dump(mode="json", exclude={"demands"}),
            }
            for vid, v in zip(ids, visits, strict=True)
        ]
        session.execute(
            _INSERT_VISITS,
            {"t": township, "rows": json.dumps(payload, ensure_ascii=False)},
        )
        demand_rows = [
            {"household": v.household, "visit_id": vid, **d.model_dump(mode="json")}
            for vid, v in zip(ids, visits, strict=True)
            for d in v.demands
        ]
        n_demands = len(
            insert_demands(session, township=township, rows=demand_rows, actor=actor)
        )
    out = list_visits(
        session, township=township, ids=ids, far_m=far_m, limit=len(ids)
    ).items
    out.sort(key=lambda v: ids.index(v.id))
    logger.info("recorded %d visits, %d demands in %s", len(ids), n_demands, township)
    return VisitBatchOut(
        inserted=len(ids), demands=n_demands, far=sum(v.far for v in out), visits=out
    )


def record_visit(
    session: Session,
    *,
    township: str,
    visit: VisitCreate,
    far_m: float = FAR_FIX_M,
    actor: str = "system",
) -> VisitOut:
    """Record one visit (a batch of one); ``actor`` raises its demands."""
    batch = record_visits(
        session,
        township=township,
        rows=[visit.model_dump(mode="json")],
        far_m=far_m,
        actor=actor,
    )
    return batch.visits[0]


def list_visits(
    session: Session,
    *,
    township: str,
    ids: list[int] | None = None,
    household: str | None = None,
    cadre: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    far_only: bool = False,
    far_m: float = FAR_FIX_M,
    limit: int = 100,
    offset: int = 0,
    url: str | None = None,
) -> Page[VisitOut]:
    """Visits newest first; ``far_only`` keeps those whose GPS fix is over ``far_m``."""
    if far_m <= 0:
        raise InvalidInput(
            f"far_m {far_m} must be positive",
            errors=[{"field": "far_m", "reason": "must be > 0"}],
        )
    rows = session.execute(
        _LIST_VISITS,
        {"t": township, "ids": ids, "household": household, "cadre": cadre,
         "since": since and as_utc(since), "until": until and as_utc(until),
         "far_only": far_only, "far_m": far_m, "limit": limit, "offset": offset},
    ).mappings().all()  # fmt: skip
    return page_of(
        rows,
        lambda r: VisitOut(
            **r, far=r["fix_distance_m"] is not None and r["fix_distance_m"] > far_m
        ),
        limit=limit,
        offset=offset,
        url=url,
    )


def import_visits(
    session: Session,
    *,
    township: str,
    content: bytes,
    media_type: str,
    actor: str = "import",
    far_m: float = FAR_FIX_M,
    field_map: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> VisitBatchOut:
    """Record a day's visits from a CSV file or a JSON list, all or nothing."""
    rows, warnings = parse_visit_file(
        content, media_type=media_type, field_map=field_map, encoding=encoding
    )
    is_csv = "csv" in media_type.lower()
    out = record_visits(
        session, township=township, rows=rows, actor=actor, far_m=far_m,
        first_row=FIRST_ROW if is_csv else None,
    )  # fmt: skip
    out.warnings = warnings
    return out

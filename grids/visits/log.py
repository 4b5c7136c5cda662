"""The visit log: record visits one by one or a day's worth at once, list them.

A batch (CSV or a JSON list) is validated completely before anything is written:
every bad row is named (row number, field, reason) and nothing is inserted unless
every row is good. Writes are set-based: ids are drawn for the whole batch in one
statement, then the visits and the demands they raise go in with one
INSERT ... SELECT each over a JSON recordset.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_service.core.db import atomic
from gis_service.core.errors import InvalidInput, UnsupportedMedia
from gis_service.core.inputs import as_utc
from gis_service.core.pages import Page, page_of
from grids.tree.scope import check_references
from grids.visits.demands import insert_demands
from grids.visits.schemas import VisitBatchOut, VisitCreate, VisitOut

logger = logging.getLogger(__name__)

FAR_FIX_M = 300.0
CSV_COLUMNS = ("household", "cadre", "visited_at", "purpose", "notes", "lon", "lat")
CSV_DEMAND_COLUMNS = {
    "demand_category": "category",
    "demand_description": "description",
    "demand_due": "due_date",
    "demand_owner": "owner",
}
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
    JOIN households_assigned h ON h.township_code = :t AND h.code = r.household
    LEFT JOIN cadres c ON c.township_code = :t AND c.code = r.cadre
    """
)

_LIST_VISITS = text(
    """
    SELECT v.id, v.household_id, h.code AS household, v.cadre_id, c.code AS cadre,
           v.visited_at, v.purpose, v.notes, ST_X(v.fix) AS lon, ST_Y(v.fix) AS lat,
           ST_Distance(v.fix::geography, h.geom::geography) AS fix_distance_m,
           count(*) OVER () AS matched
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
    ORDER BY v.visited_at DESC, v.id DESC
    LIMIT :limit OFFSET :offset
    """
)


def parse_visit_file(content: bytes, *, media_type: str) -> list[dict[str, Any]]:
    """Rows of a CSV file or a JSON list, as dicts to validate (no checks yet)."""
    kind = media_type.split(";")[0].strip().lower()
    try:
        body = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the file is not UTF-8 text") from exc
    if kind in ("application/json", "json"):
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
        if not isinstance(data, list):
            raise InvalidInput("a JSON visit batch must be a list of visit objects")
        return data
    if kind in ("text/csv", "csv", "application/csv"):
        return _csv_rows(body)
    raise UnsupportedMedia(
        f"visits can be imported from text/csv or application/json, not {media_type!r}"
    )


def _csv_rows(body: str) -> list[dict[str, Any]]:
    """CSV rows to visit dicts; empty cells are missing values, demand_* a demand."""
    # newline="": the csv module splits \r, \n and \r\n line ends itself
    reader = csv.DictReader(io.StringIO(body, newline=""))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
        unknown = sorted(set(header) - set(CSV_COLUMNS) - set(CSV_DEMAND_COLUMNS))
        if "household" not in header or "visited_at" not in header or unknown:
            raise InvalidInput(
                "CSV header must hold household and visited_at, and only "
                + ", ".join((*CSV_COLUMNS, *CSV_DEMAND_COLUMNS)),
                errors=[{"field": c, "reason": "unknown column"} for c in unknown],
            )
        rows = []
        for raw in reader:
            cells = {k.strip(): (v.strip() if v else None) for k, v in raw.items() if k}
            row = {k: cells[k] for k in CSV_COLUMNS if cells.get(k)}
            demand = {
                v: cells[k] for k, v in CSV_DEMAND_COLUMNS.items() if cells.get(k)
            }
            if demand:
                row["demands"] = [demand]
            rows.append(row)
    except csv.Error as exc:
        line = reader.line_num + 1  # the line being read when it failed
        raise InvalidInput(
            f"malformed CSV at line {line}: {exc}",
            errors=[{"feature": line, "field": "csv", "reason": str(exc)}],
        ) from exc
    return rows


def validate_rows(rows: Sequence[Any]) -> list[VisitCreate]:
    """Validate every row; raise one error naming each bad row and field."""
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
) -> VisitBatchOut:
    """Record a batch of visits (and the demands they raise), all or nothing."""
    visits = validate_rows(rows)
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
    session: Session, *, township: str, visit: VisitCreate, far_m: float = FAR_FIX_M
) -> VisitOut:
    """Record one visit (a batch of one)."""
    batch = record_visits(
        session,
        township=township,
        rows=[visit.model_dump(mode="json")],
        far_m=far_m,
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
) -> VisitBatchOut:
    """Record a day's visits from a CSV file or a JSON list, all or nothing."""
    rows = parse_visit_file(content, media_type=media_type)
    return record_visits(
        session, township=township, rows=rows, actor=actor, far_m=far_m
    )

"""Visit coverage under frequency rules: per grid (rolled up), per cadre, uncovered.

A household's interval is the shortest of the rules of its tags and the rule for
everyone (tag ``*``), e.g. the three poverty-return monitoring classes monthly,
every household quarterly. As of a moment it is *up to date* when its last visit is
no older than its interval, *overdue* by the excess otherwise, and *never visited*
without any visit. Every figure comes from one statement over all households.
``household_statuses`` gives the same rule per household (the maps colour by it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from gis_service.core.db import atomic
from gis_service.core.errors import InvalidInput
from gis_service.core.inputs import as_utc
from gis_service.core.pages import Page, page_of
from grids.models import HOUSEHOLD_TAGS, PRIORITY_TAGS
from grids.tree.scope import grid_path
from grids.visits import coverage_sql as sql
from grids.visits.coverage_sql import STATUSES
from grids.visits.log import FAR_FIX_M
from grids.visits.schemas import CoverageReport, CoverageRow, RuleSet, UncoveredOut

logger = logging.getLogger(__name__)

MONITORED = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
DEFAULT_RULES = RuleSet(default_days=90, tags=dict.fromkeys(MONITORED, 30))

_LOAD_RULES = text(
    "SELECT tag, interval_days FROM visit_rules WHERE township_code = :t ORDER BY tag"
)
_DELETE_RULES = text("DELETE FROM visit_rules WHERE township_code = :t")
_INSERT_RULES = text(
    """
    INSERT INTO visit_rules (township_code, tag, interval_days)
    SELECT :t, r.tag, r.days
    FROM jsonb_to_recordset(CAST(:rules AS jsonb)) AS r(tag text, days int)
    """
)


def load_rules(session: Session, *, township: str) -> RuleSet:
    """The township's rules, or the defaults (monitored classes 30 d, everyone 90 d)."""
    rows = session.execute(_LOAD_RULES, {"t": township}).all()
    if not rows:
        return DEFAULT_RULES
    tags = {r.tag: int(r.interval_days) for r in rows if r.tag != "*"}
    everyone = next((int(r.interval_days) for r in rows if r.tag == "*"), None)
    return RuleSet(default_days=everyone or DEFAULT_RULES.default_days, tags=tags)


def set_rules(session: Session, *, township: str, rules: RuleSet) -> RuleSet:
    """Replace the township's rules (tags must be known household tags)."""
    unknown = sorted(set(rules.tags) - set(HOUSEHOLD_TAGS))
    if unknown:
        raise InvalidInput(
            f"unknown household tags: {', '.join(unknown)}",
            errors=[{"field": f"tags.{t}", "reason": "unknown tag"} for t in unknown],
        )
    payload = [{"tag": "*", "days": rules.default_days}] + [
        {"tag": tag, "days": days} for tag, days in rules.tags.items()
    ]
    with atomic(session):
        session.execute(_DELETE_RULES, {"t": township})
        session.execute(
            _INSERT_RULES,
            {"t": township, "rules": json.dumps(payload, ensure_ascii=False)},
        )
    return load_rules(session, township=township)


def _params(
    session: Session,
    *,
    township: str,
    since: datetime | None,
    until: datetime | None,
    grid: str | None,
    cadre: str | None,
    rules: RuleSet | None,
) -> tuple[dict[str, Any], RuleSet]:
    rules = rules or load_rules(session, township=township)
    until = as_utc(until) if until else datetime.now(UTC)
    since = as_utc(since) if since else until - timedelta(days=rules.default_days)
    if since >= until:
        raise InvalidInput(
            f"since {since.isoformat()} must be before until {until.isoformat()}",
            errors=[{"field": "since", "reason": "not before until"}],
        )
    params = {
        "t": township,
        "since": since,
        "until": until,
        "path": grid_path(session, township=township, grid=grid) if grid else None,
        "cadre": cadre,
        "unassigned_inside": False,
        "default_days": rules.default_days,
        "rules": json.dumps(
            [{"tag": k, "days": v} for k, v in rules.tags.items()], ensure_ascii=False
        ),
    }
    return params, rules


def seen_share(session: Session, params: dict[str, Any]) -> float:
    """The share of the township's grids a statement with ``params`` sees."""
    share = session.execute(
        sql.SEEN_SHARE, {"t": params["t"], "path": params["path"]}
    ).scalar()
    return 1.0 if share is None else float(share)


def probed(session: Session, params: dict[str, Any]) -> bool:
    """Probe each household's visits, or read the township's visits once.

    Probed: a small part of the township (a cadre's households, or under
    PROBE_SHARE of its grids as far as the statement sees them).
    """
    return params["cadre"] is not None or seen_share(session, params) < sql.PROBE_SHARE


def _as_of_params(
    session: Session,
    *,
    township: str,
    as_of: datetime | None,
    grid: str | None,
    cadre: str | None,
    rules: RuleSet | None,
) -> dict[str, Any]:
    """Parameters for a status as of a moment (default now), not a period."""
    until = as_utc(as_of) if as_of else datetime.now(UTC)
    params, _ = _params(
        session, township=township, since=until - timedelta(seconds=1), until=until,
        grid=grid, cadre=cadre, rules=rules,
    )  # fmt: skip
    return params


def _row(r: Any) -> CoverageRow:
    households = int(r["households"])

    def share(n: int) -> float | None:
        return n / households if households else None

    return CoverageRow(
        **{k: r[k] for k in ("id", "code", "name") if k in r},
        level=r.get("level"),
        depth=r.get("depth"),
        households=households,
        visited=r["visited"],
        visited_share=share(int(r["visited"])),
        up_to_date=r["up_to_date"],
        up_to_date_share=share(int(r["up_to_date"])),
        due=households - int(r["up_to_date"]),
        visits=r.get("visits"),
        far_visits=r.get("far_visits"),
    )


def coverage_by_grid(
    session: Session,
    *,
    township: str,
    since: datetime | None = None,
    until: datetime | None = None,
    grid: str | None = None,
    rules: RuleSet | None = None,
) -> CoverageReport:
    """Share of households visited in the period and up to date, per grid subtree."""
    params, used = _params(
        session, township=township, since=since, until=until, grid=grid, cadre=None,
        rules=rules,
    )  # fmt: skip
    return _report(session, sql.BY_GRID[probed(session, params)], params, used)


def coverage_with_statuses(
    session: Session,
    *,
    township: str,
    since: datetime | None = None,
    until: datetime | None = None,
    grid: str | None = None,
) -> tuple[CoverageReport, dict[str, Any]]:
    """``coverage_by_grid`` and, from the same pass, households per status.

    The status counts (``status_tally``'s: as of ``until``, with a ``grid``'s
    subtree the unassigned households inside its polygon too, as its map draws
    them) without a second pass over the households: ``statuses`` (those present)
    and ``priority``.
    """
    params, used = _params(
        session, township=township, since=since, until=until, grid=grid, cadre=None,
        rules=None,
    )  # fmt: skip
    params.update(unassigned_inside=True, priority_tags=list(PRIORITY_TAGS))
    statement = sql.BY_GRID_STATUSES[probed(session, params)]
    rows = session.execute(statement, params).mappings().all()
    whole = rows[0]
    statuses = {s: int(whole[f"n_{s}"]) for s in STATUSES if whole[f"n_{s}"]}
    tally = {"statuses": statuses, "priority": int(whole["n_priority"])}
    return _report_of(rows, params, used), tally


def coverage_by_cadre(
    session: Session,
    *,
    township: str,
    since: datetime | None = None,
    until: datetime | None = None,
    cadre: str | None = None,
    rules: RuleSet | None = None,
    far_m: float = FAR_FIX_M,
) -> CoverageReport:
    """Coverage of each cadre's households, with visits made and far GPS fixes."""
    params, used = _params(
        session, township=township, since=since, until=until, grid=None, cadre=cadre,
        rules=rules,
    )  # fmt: skip
    params["far_m"] = far_m
    return _report(session, sql.BY_CADRE[probed(session, params)], params, used)


def _report(
    session: Session, query: TextClause, params: dict[str, Any], used: RuleSet
) -> CoverageReport:
    """Run a coverage query: its first row is the township total, then the rows."""
    return _report_of(session.execute(query, params).mappings().all(), params, used)


def _report_of(
    found: Sequence[Any], params: dict[str, Any], used: RuleSet
) -> CoverageReport:
    rows = [_row(r) for r in found]
    return CoverageReport(
        since=params["since"], until=params["until"], rules=used,
        township=rows[0], rows=rows[1:],
    )  # fmt: skip


def household_statuses(
    session: Session,
    *,
    township: str,
    as_of: datetime | None = None,
    grid: str | None = None,
    cadre: str | None = None,
    rules: RuleSet | None = None,
    unassigned_inside: bool = False,
) -> list[dict[str, Any]]:
    """Each household's status as of ``as_of`` under the rules, for maps and routes.

    Rows: household columns (personal data NOT masked: mask on output), cadre code
    and name, lon/lat, interval_days, last_visit, overdue_days and ``status``:
    unassigned | never_visited | overdue | visited (up to date), and ``priority``
    (any of PRIORITY_TAGS). ``unassigned_inside`` adds, for a ``grid``, the
    unassigned households inside its polygon.
    """
    params = _as_of_params(
        session, township=township, as_of=as_of, grid=grid, cadre=cadre, rules=rules
    )
    params.update(
        unassigned_inside=unassigned_inside, priority_tags=list(PRIORITY_TAGS)
    )
    statement = sql.HOUSEHOLD_STATUS[probed(session, params)]
    return [dict(r) for r in session.execute(statement, params).mappings()]


def uncovered_households(
    session: Session,
    *,
    township: str,
    as_of: datetime | None = None,
    grid: str | None = None,
    cadre: str | None = None,
    rules: RuleSet | None = None,
    limit: int = 100,
    offset: int = 0,
    url: str | None = None,
) -> Page[UncoveredOut]:
    """Households never visited or overdue as of ``as_of``, most overdue first."""
    params = _as_of_params(
        session, township=township, as_of=as_of, grid=grid, cadre=cadre, rules=rules
    )
    params.update(limit=limit, offset=offset)
    statement = sql.UNCOVERED[probed(session, params)]
    rows = session.execute(statement, params).mappings().all()
    return page_of(
        rows, lambda r: UncoveredOut(**r), limit=limit, offset=offset, url=url
    )

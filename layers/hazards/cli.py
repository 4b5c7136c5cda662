"""``gridgis hazards ...``: list, show, move, check, warn (JSON/XLSX/cards), stats."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from gis_service.core.cli import JsonOpt, TownshipOpt, cli_errors, cli_session, emit
from gis_service.core.display import cell, rows_table
from gis_service.core.settings import get_settings
from gis_service.core.vocab import LABELS
from layers.hazards import cards, ledger, stats, warn

hazards_app = typer.Typer(
    help="Hazards (隐患): the 排查–整改–销号 ledger and the households to warn.",
    no_args_is_help=True,
)
Kind = Annotated[
    str | None, typer.Option(help="fire/火灾, flood/洪涝, landslide/滑坡 ...")
]
Severity = Annotated[str | None, typer.Option(help="low, medium, high, critical")]
Grid = Annotated[str | None, typer.Option(help="grid code (its subtree)")]
Radius = Annotated[
    str | None, typer.Option(help="metres, overriding the hazard's and kind's radius")
]


def _render_list(data: dict[str, Any]) -> str:
    rows = [
        {
            "编码": z["code"],
            "类别": z["kind_label"],
            "等级": LABELS["severity"].get(z["severity"], z["severity"]),
            "状态": z["status_label"],
            "网格": z["grid"],
            "责任人": (z["cadre"] or {}).get("name"),
            "期限": z.get("deadline"),
            "逾期天数": z["overdue_days"] if z["overdue"] else None,
        }
        for z in data["items"]
    ]
    return f"隐患 {data['total']} 处\n" + rows_table(
        rows, list(rows[0]) if rows else []
    )


@hazards_app.command("list")
def list_(
    township: TownshipOpt,
    status: Annotated[
        str | None, typer.Option(help="found/已发现, rectifying/整改中, closed/已销号")
    ] = None,
    kind: Kind = None,
    severity: Severity = None,
    grid: Grid = None,
    cadre: Annotated[str | None, typer.Option(help="responsible cadre's code")] = None,
    overdue: Annotated[bool, typer.Option(help="open and past the deadline")] = False,
    limit: Annotated[int, typer.Option(min=1, help="at most this many")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="skip this many first")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List hazards (by status, kind, severity, grid, cadre; overdue ones)."""
    with cli_errors(), cli_session() as session:
        page = ledger.list_hazards(
            session, township=township, settings=get_settings().hazards,
            status=status, kind=kind, severity=severity, grid=grid, cadre=cadre,
            overdue=overdue, limit=limit, offset=offset,
        )  # fmt: skip
        emit(page.model_dump(mode="json"), as_json, _render_list)


@hazards_app.command("show")
def show(township: TownshipOpt, code: str, as_json: JsonOpt = False) -> None:
    """Show one hazard with its grid(s), cadre and every step."""
    with cli_errors(), cli_session() as session:
        out = ledger.get_hazard(
            session, township=township, code=code, settings=get_settings().hazards
        )
        emit(out.model_dump(mode="json", exclude={"geometry"}), as_json)


@hazards_app.command("move")
def move(
    township: TownshipOpt,
    code: str,
    to: Annotated[str, typer.Option(help="rectifying/整改中 or closed/已销号")],
    actor: Annotated[str, typer.Option(help="who takes this step")],
    note: Annotated[str | None, typer.Option(help="required to close")] = None,
    attachment: Annotated[
        list[str] | None, typer.Option(help="photo URL (repeatable)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a hazard one ledger step (fails naming the allowed steps)."""
    with cli_errors(), cli_session() as session:
        out = ledger.move_hazard(
            session, township=township, code=code, to=to, actor=actor, note=note,
            attachments=attachment or [], settings=get_settings().hazards,
        )  # fmt: skip
        emit(
            out.model_dump(mode="json", exclude={"geometry"}),
            as_json,
            lambda d: f"隐患 {d['code']} 已转为 {d['status_label']}",
        )


@hazards_app.command("check")
def check(
    township: TownshipOpt,
    code: str,
    actor: Annotated[str, typer.Option(help="who re-checked it")],
    note: Annotated[str | None, typer.Option(help="what was found")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a re-check (复查) of an open hazard."""
    with cli_errors(), cli_session() as session:
        out = ledger.check_hazard(
            session, township=township, code=code, actor=actor, note=note,
            settings=get_settings().hazards,
        )  # fmt: skip
        emit(
            out.model_dump(mode="json", exclude={"geometry"}),
            as_json,
            lambda d: (
                f"隐患 {d['code']} 已复查；下次复查 {cell('at', d['next_check_at'])}"
            ),
        )


def _render_warn(data: dict[str, Any]) -> str:
    around = "、".join(
        f"{h['code']}（{h['radius_m']:.0f} 米）" for h in data["hazards"]
    )
    head = (
        f"需预警 {data['total']} 户 {data['people']} 人，其中重点户 {data['priority']}"
        f" 户；隐患 {around or '无'}"
    )
    rows = [
        {
            "重点": "★" if i["priority"] else "",
            "户号": i["household"],
            "户主": i["head_name"],
            "距离(米)": round(i["distance_m"]),
            "隐患": i["hazard"],
            "网格员": i["cadre_name"],
            "网格员电话": i["cadre_phone"],
        }
        for i in data["items"]
    ]
    return head + "\n" + rows_table(rows, list(rows[0]) if rows else [])


@hazards_app.command("warn")
def warn_(
    township: TownshipOpt,
    code: Annotated[
        str | None, typer.Argument(help="one hazard (else all open)")
    ] = None,
    kind: Kind = None,
    severity: Severity = None,
    grid: Grid = None,
    radius_m: Radius = None,
    xlsx: Annotated[Path | None, typer.Option(help="write the list as XLSX")] = None,
    cards_html: Annotated[
        Path | None, typer.Option("--cards", help="write 明白卡 as an HTML page")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, help="at most this many households")
    ] = 1000,
    as_json: JsonOpt = False,
) -> None:
    """Households to warn around a hazard, or every open one of a kind/severity."""
    settings = get_settings().hazards
    choice: dict[str, Any] = {"code": code, "radius_m": radius_m}
    if code is None:
        choice.update(kind=kind, severity=severity, grid=grid)
    with cli_errors(), cli_session() as session:
        if xlsx is not None:
            xlsx.write_bytes(
                cards.warn_xlsx(session, township=township, settings=settings, **choice)
            )
        if cards_html is not None:
            cards_html.write_text(
                cards.cards_page(
                    session, township=township, settings=settings, **choice
                ),
                encoding="utf-8",
            )
        out = warn.warn_list(
            session, township=township, settings=settings, limit=limit, **choice
        )
        emit(out.model_dump(mode="json"), as_json, _render_warn)


def _render_stats(data: dict[str, Any]) -> str:
    rows = [
        {
            "网格": r["grid"] or "(全镇)",
            "隐患": r["total"],
            "已发现": r["found"],
            "整改中": r["rectifying"],
            "已销号": r["closed"],
            "销号率": "—" if r["rate"] is None else f"{r['rate']:.0%}",
            "逾期": r["overdue"],
            "销号中位天数": r["median_days_to_close"],
        }
        for r in data["rows"]
    ]
    return rows_table(rows, list(rows[0]) if rows else [])


@hazards_app.command("stats")
def stats_(
    township: TownshipOpt,
    grid: Grid = None,
    kind: Kind = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD (default today)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rectification statistics per grid subtree and for the township."""
    with cli_errors(), cli_session() as session:
        when = as_of.date() if as_of else None
        out = stats.hazard_stats(
            session, township=township, grid=grid, kind=kind, as_of=when
        )
        emit(out.model_dump(mode="json"), as_json, _render_stats)


def register(app: typer.Typer) -> None:
    """Add ``gridgis hazards ...`` to ``app``."""
    app.add_typer(hazards_app, name="hazards")

"""``gridgis disputes ...``: detect, list, show, move, summary, findings."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from gis_service.core.cli import (
    JsonOpt,
    TownshipOpt,
    cli_errors,
    cli_session,
    emit,
    render_table,
)
from gis_service.core.job_cli import DetachOpt, WaitOpt, one_mode, run_as_job
from gis_service.core.settings import get_settings
from gis_service.core.vocab import label
from layers.disputes import review as dispute_review
from layers.disputes.detect import detect_disputes
from layers.disputes.schemas import DetectionCreate, DisputeList

disputes_app = typer.Typer(
    help="Pasture-boundary disputes: detection and review.", no_args_is_help=True
)


def _render_list(data: dict[str, Any]) -> str:
    rows = []
    for item in data["items"]:
        sides = " 与 ".join(
            f"{p['contract_no']} ({(p['holder'] or {}).get('household_code', '?')})"
            for p in item["parcels"]
        )
        status = label("dispute_status", item["status"])
        rows.append([f"#{item['id']}", status, f"{item['overlap_area_mu']:.2f}", sides])
    table = render_table(["编号", "状态", "重叠(亩)", "地块(承包户)"], rows, right=[2])
    return f"共 {data['numberMatched']} 起纠纷\n{table}"


def _detected(data: Any) -> str:
    """A run's counts; a dry run's as what would happen."""
    verb = "would " if data["dry_run"] else ""
    changes = ", ".join(
        f"{verb}{word} {data[key]}"
        for key, word in (("new", "open"), ("updated", "update"),
                          ("closed", "close"), ("reopened", "reopen"))
    )  # fmt: skip
    head = "dry run, nothing written" if data["dry_run"] else f"run {data['run_id']}"
    return (
        f"{head}: {changes}; {data['detected']} disputes, {data['slivers']} slivers, "
        f"{data['self_overlaps']} self-overlaps (slivers: mean width < "
        f"{data['min_width_m']} m or area < {data['min_area_m2']} m²)"
    )


@disputes_app.command("detect")
def detect(
    township: TownshipOpt,
    min_area_m2: Annotated[
        float | None, typer.Option(min=0, help="smaller overlaps are slivers (m²)")
    ] = None,
    min_width_m: Annotated[
        float | None, typer.Option(min=0, help="narrower overlaps are slivers (m)")
    ] = None,
    min_share: Annotated[
        float | None,
        typer.Option(min=0, max=1, help="... and those under this share of a parcel"),
    ] = None,
    area_tolerance: Annotated[
        float | None,
        typer.Option(min=0, help="mapped vs contract area difference flagged"),
    ] = None,
    actor: Annotated[str, typer.Option(help="who runs the detection")] = "detection",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say what would change; write nothing")
    ] = False,
    detach: DetachOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Detect overlaps and reconcile the dispute records (counts new/updated/closed)."""
    with cli_errors():
        request = DetectionCreate(
            min_area_m2=min_area_m2,
            min_width_m=min_width_m,
            min_share=min_share,
            area_tolerance=area_tolerance,
            actor=actor,
            dry_run=dry_run,
        )
    if one_mode(detach, wait):
        params = request.model_dump(mode="json", exclude_none=True)
        run_as_job(kind="detect", township=township, params=params, wait=wait,
                   as_json=as_json, render=_detected)  # fmt: skip
        return
    with cli_errors():
        with cli_session() as session:
            result = detect_disputes(
                session,
                township=township,
                thresholds=request.thresholds(get_settings().disputes),
                actor=request.actor,
                dry_run=request.dry_run,
            )
        emit(result.model_dump(mode="json"), as_json, None if as_json else _detected)


@disputes_app.command("list")
def list_(
    township: TownshipOpt,
    status: Annotated[
        str | None, typer.Option(help="open, mediating, resolved, dismissed")
    ] = None,
    grid: Annotated[str | None, typer.Option(help="grid code (its subtree)")] = None,
    min_area_m2: Annotated[
        float | None, typer.Option(min=0, help="only overlaps at least this big (m²)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="skip this many")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List disputes, largest overlap first."""
    with cli_errors(), cli_session() as session:
        page: DisputeList = dispute_review.list_disputes(
            session,
            township=township,
            status=status,
            grid=grid,
            min_area_m2=min_area_m2,
            limit=limit,
            offset=offset,
        )
        emit(page.model_dump(mode="json"), as_json, _render_list)


@disputes_app.command("show")
def show(township: TownshipOpt, dispute_id: int, as_json: JsonOpt = False) -> None:
    """Show one dispute as GeoJSON (both parcels and the overlap)."""
    with cli_errors(), cli_session() as session:
        body = dispute_review.dispute_geojson(
            session, township=township, dispute_id=dispute_id
        )
        emit(body, as_json, lambda b: json.dumps(b["dispute"], ensure_ascii=False))


@disputes_app.command("move")
def move(
    township: TownshipOpt,
    dispute_id: int,
    to: Annotated[str, typer.Option(help="mediating, resolved or dismissed")],
    actor: Annotated[str, typer.Option(help="who takes this step")],
    note: Annotated[str | None, typer.Option(help="a note for the history")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a dispute one review step (fails if the step is not allowed)."""
    with cli_errors(), cli_session() as session:
        detail = dispute_review.transition_dispute(
            session,
            township=township,
            dispute_id=dispute_id,
            to_status=to,
            actor=actor,
            note=note,
        )
        emit(
            detail.model_dump(mode="json"),
            as_json,
            lambda d: f"dispute {d['id']} is now {d['status']}",
        )


@disputes_app.command("summary")
def summary(township: TownshipOpt, as_json: JsonOpt = False) -> None:
    """Open disputes and contested area of a township."""
    with cli_errors(), cli_session() as session:
        out = dispute_review.dispute_summary(session, township=township)
        emit(out.model_dump(mode="json"), as_json, _summary_text)


def _summary_text(s: dict[str, Any]) -> str:
    """Counts by status in Chinese, the contested area in m² and mu (亩)."""
    rows = [[label("dispute_status", k), str(v)] for k, v in s["by_status"].items()]
    return "\n".join([
        f"乡镇 {s['township']} · 未结纠纷 {s['open_disputes']} 起 · 争议面积 "
        f"{s['contested_area_m2']:,.0f} 平方米 ({s['contested_area_mu']:,.1f} 亩)",
        render_table(["状态", "数量"], rows, right=[1]) if rows else "(无)",
    ])  # fmt: skip


@disputes_app.command("findings")
def findings(
    township: TownshipOpt,
    kind: Annotated[
        str | None,
        typer.Option(help="sliver, self_overlap, area_mismatch, invalid_geometry"),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Data-quality findings of the latest detection run."""
    with cli_errors(), cli_session() as session:
        page = dispute_review.list_findings(
            session, township=township, kind=kind, limit=limit
        )
        emit(
            page.model_dump(mode="json"),
            as_json,
            lambda p: "\n".join(
                [f"{p['numberMatched']} findings"]
                + [
                    f"{i['kind']:<17} {i['contract_no']}  {i['detail']}"
                    for i in p["items"]
                ]
            ),
        )


def register(app: typer.Typer) -> None:
    """Add ``gridgis disputes ...`` to ``app``."""
    app.add_typer(disputes_app, name="disputes")

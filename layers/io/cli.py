"""CLI commands of this package, registered on the ``gridgis`` app."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from gis_service.core.cli import JsonOpt, TownshipOpt, cli_errors, cli_session, emit
from gis_service.core.errors import InvalidInput
from gis_service.core.job_cli import DetachOpt, WaitOpt, one_mode, run_as_job


def _render_report(report: dict[str, Any]) -> str:
    """A readable import summary (the service's warnings as they are)."""
    from layers.io.specs import LAYERS

    spec = LAYERS.get(report["layer"])
    name = spec.label if spec is not None and spec.label else report["layer"]
    outcome = "试运行, 未写入" if report["dry_run"] else "已写入"
    lines = [
        f"读取{name} {report['features']} 条 ({report['crs']}): "
        f"新增 {report['inserted']}, 更新 {report['updated']}, "
        f"未变 {report['unchanged']} — {outcome}"
    ]
    lines += [f"提示: {w}" for w in report["warnings"]]
    lines += [
        f"已修复 第 {r['feature']} 条 ({r['code']}): {r['was']} -> {r['now']}"
        for r in report["repairs"]
    ]
    return "\n".join(lines)


def stages() -> Callable[[str], None]:
    """Print each finished stage with the time since the start (to stderr)."""
    start = time.monotonic()
    step = iter(range(1, 100))

    def say(what: str) -> None:
        typer.echo(
            f"[{next(step)}] {what} ({time.monotonic() - start:.1f} s)", err=True
        )

    return say


def problem_lines(exc: Any) -> list[str]:
    """Each named problem (up to 20) and the warnings, one line each."""
    lines = []
    for err in exc.errors[:20]:
        where = _where(err)
        field = err.get("field")
        lines.append(
            f"  {where}{field}: {err.get('reason')}"
            if field
            else f"  {where}{err.get('reason')}"
        )
    if len(exc.errors) > 20:
        lines.append(f"  … 另有 {len(exc.errors) - 20} 条 (--json 列出全部)")
    lines += [f"提示: {w}" for w in exc.extra.get("warnings", [])]
    return lines


def _where(err: dict[str, Any]) -> str:
    """``第 5 行 (H0004) `` for a table, ``第 3 条 (H0004) `` for a vector file."""
    code = f" ({err['code']})" if err.get("code") else ""
    if err.get("row") is not None:
        return f"第 {err['row']} 行{code} "
    if err.get("feature") is not None:
        return f"第 {err['feature']} 条{code} "
    return ""


def import_command(
    layer: Annotated[
        str,
        typer.Argument(help="households|grids|cadres|pasture_parcels|hazards|roads"),
    ],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    township: TownshipOpt,
    crs: Annotated[
        str | None,
        typer.Option(
            help="the file's CRS when it declares none: EPSG:4326, EPSG:4490, "
            "EPSG:4491..4554 (CGCS2000 Gauss-Krüger) or gcj02"
        ),
    ] = None,
    repair: Annotated[bool, typer.Option(help="ST_MakeValid invalid polygons")] = False,
    dry_run: Annotated[bool, typer.Option(help="validate, write nothing")] = False,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="attribute encoding, e.g. GBK (default: UTF-8, else detected with "
            "a warning)"
        ),
    ] = None,
    source_layer: Annotated[
        str | None,
        typer.Option(
            "--layer", "--sheet", help="layer inside a GeoPackage, sheet of a workbook"
        ),
    ] = None,
    field_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="TARGET=SOURCE: read field TARGET from the file's column SOURCE, "
            "e.g. --map parent_code=parent_id (repeatable; lon/lat/wkt too)",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="import even when the data lies far from the township's grids"
        ),
    ] = False,
    detach: DetachOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a layer file (all or nothing; re-importing changes nothing)."""
    from gis_service.core.columns import parse_field_map
    from gis_service.core.errors import GridGISError
    from gis_service.core.settings import get_settings
    from layers.io.importing import import_file

    if one_mode(detach, wait):  # the file travels in the job row, as an upload
        with cli_errors():
            params = {
                "layer": layer, "crs": crs, "repair": repair, "dry_run": dry_run,
                "encoding": encoding, "source_layer": source_layer,
                "field_map": parse_field_map(field_map), "force": force,
            }  # fmt: skip
        run_as_job(kind="import", township=township, params=params, wait=wait,
                   as_json=as_json, render=_render_report,
                   upload=file.read_bytes(), upload_name=file.name)  # fmt: skip
        return
    with cli_errors(), cli_session() as session:
        try:
            report = import_file(
                session,
                township=township,
                layer=layer,
                path=file,
                crs=crs,
                repair=repair,
                dry_run=dry_run,
                encoding=encoding,
                source_layer=source_layer,
                field_map=parse_field_map(field_map),
                force=force,
                progress=None if as_json else stages(),
                limits=get_settings().limits,
            )
        except GridGISError as exc:
            if not as_json:
                for line in problem_lines(exc):
                    typer.echo(line, err=True)
            raise
        emit(report, as_json, _render_report)


def export_command(
    layer: Annotated[
        str,
        typer.Argument(
            help="a layer, or a ledger: visits|demands|disputes|coverage|uncovered "
            "(.xlsx 台账, .gpkg, .geojson)"
        ),
    ],
    township: TownshipOpt,
    out: Annotated[
        Path, typer.Option("--out", "-o", dir_okay=False, help="file to write")
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="geojson|gpkg|shp|xlsx (default: from the suffix: .geojson, .gpkg, "
            ".shp.zip, .xlsx)",
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            help="NAME=VALUE, as the list endpoint's filters (grid, tag, status...); "
            "repeat for more",
        ),
    ] = None,
    bbox: Annotated[
        str | None, typer.Option(help="minLon,minLat,maxLon,maxLat (EPSG:4326)")
    ] = None,
    crs: Annotated[
        str | None,
        typer.Option(help="the CRS of a .gpkg/.shp.zip, e.g. EPSG:4490 (CGCS2000)"),
    ] = None,
    unmask: Annotated[
        bool,
        typer.Option(
            "--unmask",
            help="write ID numbers and phones whole; leaves an audit entry naming "
            "the account that ran it (cli:<user>), as the API's unmask=true does",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Export a layer as GeoJSON, GeoPackage or zipped Shapefile (EPSG:4326, UTF-8).

    The CLI runs with the database owner's credentials: it is the operator's
    tool, sees every row and has no user role to check. Personal data stays
    masked unless ``--unmask``, which is audited like the API's ``unmask=true``.
    """
    from gis_service.core.auth.audit import remember_cli
    from gis_service.core.deps import parse_bbox
    from layers.io.export import export_layer, format_for_file
    from layers.io.importing import ensure_township

    with cli_errors(), cli_session() as session:
        fmt = format_for_file(out, fmt)
        filters = _pairs(where or [])
        ensure_township(session, township)
        if unmask:
            remember_cli(session, command=f"layers export {layer} --unmask")
        result = export_layer(
            session,
            township=township,
            layer=layer,
            fmt=fmt,
            filters=filters,
            bbox=parse_bbox(bbox),
            crs=crs,
            unmask=unmask,
        )
        out.write_bytes(result.content)
        emit({"file": str(out), "format": fmt, "bytes": len(result.content)}, as_json)


def _pairs(items: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` options as a dict; a malformed one is a 422."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(
                f"--where {item!r} is not NAME=VALUE",
                errors=[{"field": "where", "reason": "NAME=VALUE"}],
            )
        out[name.strip()] = value.strip()
    return out


layers_app = typer.Typer(help="What each layer's files hold.", no_args_is_help=True)


def template_command(
    layer: Annotated[str, typer.Argument(help="households|grids|cadres|...")],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", dir_okay=False, help="FILE.xlsx or FILE.csv"),
    ],
) -> None:
    """Write a template to fill in: Chinese and English headers, drop-downs, example."""
    from layers.io.templates import template_csv, template_xlsx

    with cli_errors():
        suffix = out.suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            raise InvalidInput(f"--out {out.name}: name the file .xlsx or .csv")
        out.write_bytes(
            template_csv(layer) if suffix == ".csv" else template_xlsx(layer)
        )
        typer.echo(f"模板已写入 {out}")


@layers_app.command("describe")
def describe_command(
    layer: Annotated[str, typer.Argument(help="households|grids|cadres|...")],
    as_json: JsonOpt = False,
) -> None:
    """The layer's columns: types, required, allowed values, other names."""
    from layers.io.templates import describe, json_schema

    with cli_errors():
        if as_json:
            emit(json_schema(layer), True)
        else:
            typer.echo(describe(layer))


def register(app: typer.Typer) -> None:
    """Add this package's commands to ``app``."""
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("template")(template_command)
    app.add_typer(layers_app, name="layers")

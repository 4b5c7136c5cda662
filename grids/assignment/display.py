"""Assignment and grid reports as a township's staff read them on a terminal.

Aligned tables (display width, ``render_table``) with Chinese headers and the
Chinese names of fault kinds and reasons; whole metres and m². ``--json`` keeps
the codes and exact figures.
"""

from __future__ import annotations

from typing import Any

from gis_service.core.cli import render_table
from gis_service.core.vocab import label


def _n(value: float | None) -> str:
    """A figure rounded to whole units with thousands separators."""
    return "" if value is None else f"{value:,.0f}"


def _codes(codes: list[str], total: int) -> str:
    """Codes joined with 、, with how many more there are."""
    shown = "、".join(codes)
    return shown + (f" 等 {total} 户" if total > len(codes) else "")


def summary_text(s: dict[str, Any]) -> str:
    """What an assignment run did: counts, reasons, both scores, outside households."""
    opt, greedy = s["optimiser"], s["greedy_baseline"]
    counts = [
        ("农户", s["households"]), ("在网格内", s["in_grid"]),
        ("不在任何网格内", s["outside_every_grid"]),
        ("网格变更", s["grid_changed"]), ("已分配网格员", s["cadre_assigned"]),
        ("新分配", s["newly_assigned"]), ("更换或失去网格员", s["churn"]),
        ("保留指定", s["pinned_kept"]), ("写入行数", s["rows_written"]),
        *((f"未分配: {label('unassigned_reason', k)}", v)
          for k, v in s["unassigned"].items()),
    ]  # fmt: skip
    parts = [
        f"乡镇 {s['township']} 网格员分配 · 用时 {s['seconds']:.1f} 秒",
        render_table(["项目", "数量"], [[k, f"{v:,}"] for k, v in counts], right=[1]),
        "",
        _scores(opt, greedy),
    ]
    if s["outside"]:
        rows = [
            [o["code"], o["nearest_grid"] or "", _n(o["distance_m"])]
            for o in s["outside"]
        ]
        parts += ["", "不在任何网格内的农户:"]
        parts.append(render_table(["户号", "最近网格", "距离(米)"], rows, right=[2]))
    return "\n".join(parts)


def _scores(opt: dict[str, Any], greedy: dict[str, Any]) -> str:
    """The run's score beside the nearest-cadre baseline's."""
    metrics = [
        ("目标值", "objective"),
        ("平均距离(米)", "mean_distance_m"),
        ("单人最多户数", "max_load"),
        ("单人最多重点户", "max_priority_per_cadre"),
        ("未分配", "unassigned"),
    ]
    rows = [[name, _n(opt[key]), _n(greedy[key])] for name, key in metrics]
    return render_table(["指标", "本次分配", "就近分配(对照)"], rows, right=[1, 2])


def faults_text(report: dict[str, Any]) -> str:
    """Grid hierarchy faults: counts per kind, then one row per fault."""
    counts = "、".join(
        f"{label('grid_fault', k)} {v}" for k, v in report["counts"].items() if v
    )
    lines = [f"检查网格 {report['grids_checked']} 个: {counts or '未发现问题'}"]
    rows = [
        [label("grid_fault", p["kind"]), "、".join(p["grids"]), _n(p["area_m2"]),
         _n(p["length_m"])]
        for p in (f["properties"] for f in report["features"])
    ]  # fmt: skip
    if rows:
        headers = ["问题", "网格", "面积(平方米)", "长度(米)"]
        lines.append(render_table(headers, rows, right=[2, 3]))
    return "\n".join(lines)


def integrity_text(report: dict[str, Any]) -> str:
    """Grids, households, unassigned and cadres astray as one readable report."""
    grids = report["grids"]
    rows = [
        ["网格", label("grid_fault", k), str(v)] for k, v in grids["counts"].items()
    ]
    rows += [
        ["农户", label("household_fault", k), str(v["count"])]
        for k, v in report["households"].items()
    ]
    rows += [
        ["未分配", label("unassigned_reason", k), str(v)]
        for k, v in report["unassigned"].items()
    ]
    lines = [
        f"乡镇 {report['township']} 完整性检查 · 网格 {grids['checked']} 个",
        render_table(["对象", "问题", "数量"], rows, right=[2]),
    ]
    listed = [
        [label("household_fault", k), _codes(v["codes"], v["count"])]
        for k, v in report["households"].items()
        if v["count"]
    ]
    if listed:
        lines += ["", render_table(["农户问题", "户号"], listed)]
    astray = report["cadres_outside_home_grid"]
    if astray:
        rows = [
            [c["code"], c.get("name") or "", c["home_grid"] or "",
             str(c["households_outside"]),
             _codes(c["household_codes"], c["households_outside"])]
            for c in astray
        ]  # fmt: skip
        headers = ["网格员编号", "网格员", "所属网格", "网格外农户", "户号"]
        lines += ["", render_table(headers, rows, right=[3])]
    return "\n".join(lines)


def rollup_text(rows: list[dict[str, Any]]) -> str:
    """Grids down the tree (indented codes) with households, people and cadres."""
    body = [
        [f"{'  ' * r['depth']}{r['code']}", r["name"], label("grid_level", r["level"]),
         f"{r['households']:,}", f"{r['people']:,}", str(r["cadres"]),
         f"{r['assigned']:,}", f"{r['unassigned']:,}",
         f"缺 {r['cadres_needed']} 名网格员" if r.get("cadres_needed") else ""]
        for r in rows
    ]  # fmt: skip
    headers = ["网格编码", "网格名称", "层级", "农户", "人口", "网格员", "已分配",
               "未分配", "缺口"]  # fmt: skip
    return render_table(headers, body, right=[3, 4, 5, 6, 7]) if rows else "(无)"


def redraw_text(out: dict[str, Any]) -> str:
    """Who a redraw moves: households between grids and cadres, cadres' loads."""
    state = "已保存并生效" if out["saved"] else "预览(未保存, 加 --save 生效)"
    lines = [f"重划网格 {'、'.join(out['grids'])} · {state}"]
    households = [
        [h["code"], h["old_grid"] or "", h["new_grid"] or "", h["old_cadre"] or "",
         h["new_cadre"] or ""]
        for h in out["households"]
    ]  # fmt: skip
    headers = ["户号", "原网格", "新网格", "原网格员", "新网格员"]
    lines.append(render_table(headers, households) if households else "没有农户变动")
    cadres = [
        [c["code"], str(c["gains"]), str(c["losses"]), str(c["load_before"]),
         str(c["load_after"])]
        for c in out["cadres"]
    ]  # fmt: skip
    if cadres:
        headers = ["网格员编号", "新增", "移出", "原户数", "新户数"]
        lines += ["", render_table(headers, cadres, right=[1, 2, 3, 4])]
    return "\n".join(lines)

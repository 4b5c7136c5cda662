"""The route the CLI prints: names beside codes, whole metres, Chinese flags, and
columns aligned by display width (a Chinese character takes two cells)."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len

from grids.routing.display import day_plan_text, flag_words, route_text


def _stop(seq: int, household: str | None, name: str | None, leg: float,
          cumulative: float, **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"seq": seq, "household": household, "head_name": name, "leg_m": leg,
            "cumulative_m": cumulative, "flags": [], **extra}  # fmt: skip


DAY = {
    "day": 1,
    "stops": [
        _stop(1, "H0001", "多杰", 112.4, 112.4),
        _stop(2, "H10", "何玉兰", 1234.56789, 1346.96789,
              flags=["over 300 m from any road"]),
        _stop(3, None, None, 80.5, 1427.5, ref="Z1", kind="hazard",
              label="隐患复查 Z1 滑坡"),
    ],
    "return_leg_m": 500.2,
    "total_m": 1927.7,
    "minutes": 7.7,
}  # fmt: skip
PLAN = {
    "cadre": "C1", "cadre_name": "才让", "distance": "great_circle",
    "total_m": 1927.7, "minutes": 7.7, "optimal": True, "gap": 0.0,
    "days": [DAY], "flags": ["split into 2 days of at most 14 stops"],
}  # fmt: skip

GOLDEN = """\
网格员 C1 才让 · 直线距离 · 共 1,928 米 · 约 8 分钟 · 最优路线

第 1 天 · 1,928 米 · 约 8 分钟
序号   编码    户主/说明          距上站(米)   累计(米)   提示
───────────────────────────────────────────────────────────────────────────
   1   H0001   多杰                      112        112
   2   H10     何玉兰                  1,235      1,347   距道路超过 300 米
   3   ⚠Z1     隐患复查 Z1 滑坡           80      1,428
               返回起点                  500      1,928
分 2 天走完, 每天至多 14 户"""


def test_route_text_golden() -> None:
    assert route_text(PLAN) == GOLDEN


def _cells(line: str) -> str:
    """The line as terminal cells: a double-width character fills two."""
    return "".join(c * cell_len(c) for c in line)


def test_columns_line_up_in_display_cells() -> None:
    lines = route_text(PLAN).splitlines()[3:]
    header, rows = _cells(lines[0]), [_cells(line) for line in lines[2:-1]]
    # every leg and cumulative figure ends in its header's last terminal column
    for title in ("距上站(米)", "累计(米)"):
        end = header.index(_cells(title)) + cell_len(title)
        for row in rows:
            assert row[end - 1].isdigit() and row[end : end + 1] in ("", " "), row
    # and the names start where their header does, whatever their width
    start = header.index(_cells("户主/说明"))
    assert [row[start : start + 4] for row in rows] == [
        "多多杰杰",
        "何何玉玉",
        "隐隐患患",
        "返返回回",
    ]


def test_a_grid_day_plan_names_its_cadres() -> None:
    plan = {
        "grid": "G1", "rebalanced": False, "longest_m": 1927.7, "total_m": 1927.7,
        "cadres": [{"cadre": "C1", "name": "才让", "households": 2,
                    "route": {**PLAN, "flags": ["no base: starts at the grid's "
                                                "interior point"]}}],
        "left_over": ["H0020", "H0021"],
    }  # fmt: skip
    text = day_plan_text(plan)
    assert text.splitlines()[:4] == [
        "网格 G1 · 最长 1,928 米 · 合计 1,928 米",
        "网格员编号   网格员   户数   路程(米)   约(分钟)",
        "────────────────────────────────────────────────",
        "C1           才让        2      1,928          8",
    ]
    assert "C1 才让:" in text and "   1   H0001   多杰" in text
    assert "无驻点: 从网格内部出发" in text
    assert text.endswith("留待他日: H0020、H0021")


def test_unknown_flags_stay_as_they_are() -> None:
    assert flag_words("straight-line leg at walking speed") == "直线步行"
    assert flag_words("something new") == "something new"

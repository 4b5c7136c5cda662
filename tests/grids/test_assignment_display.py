"""The assignment CLI's tables: Chinese labels, whole figures, columns aligned by
display width (golden output; a Chinese character takes two terminal cells)."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len

from grids.assignment.display import (
    faults_text,
    integrity_text,
    redraw_text,
    rollup_text,
    summary_text,
)

SCORE = {"objective": 123456, "total_distance_m": 1.0, "mean_distance_m": 412.6,
         "max_load": 14, "max_priority_per_cadre": 3, "priority_over_fair_share": 0,
         "unassigned": 34}  # fmt: skip
SUMMARY: dict[str, Any] = {
    "township": "620623101000", "households": 1234, "in_grid": 1230,
    "outside_every_grid": 4, "grid_changed": 3, "cadre_assigned": 1200,
    "newly_assigned": 12, "churn": 2, "pinned_kept": 5, "rows_written": 17,
    "unassigned": {"outside_every_grid": 4, "grid_has_no_cadre": 30,
                   "capacity_exhausted": 0},
    "optimiser": SCORE,
    "greedy_baseline": {**SCORE, "objective": 150000, "mean_distance_m": 398.2,
                        "max_priority_per_cadre": 6},
    "outside": [{"household_id": 1, "code": "H0101", "nearest_grid": "南泥沟村一网格",
                 "distance_m": 1234.4}],
    "seconds": 1.234,
}  # fmt: skip

SUMMARY_GOLDEN = """\
乡镇 620623101000 网格员分配 · 用时 1.2 秒
项目                      数量
──────────────────────────────
农户                     1,234
在网格内                 1,230
不在任何网格内               4
网格变更                     3
已分配网格员             1,200
新分配                      12
更换或失去网格员             2
保留指定                     5
写入行数                    17
未分配: 不在任何网格内       4
未分配: 网格无网格员        30
未分配: 网格员已满员         0

指标             本次分配   就近分配(对照)
──────────────────────────────────────────
目标值            123,456          150,000
平均距离(米)          413              398
单人最多户数           14               14
单人最多重点户          3                6
未分配                 34               34

不在任何网格内的农户:
户号    最近网格         距离(米)
─────────────────────────────────
H0101   南泥沟村一网格      1,234"""

ROLLUP_GOLDEN = """\
网格编码   网格名称   层级    农户    人口   网格员   已分配   未分配   缺口
─────────────────────────────────────────────────────────────────────────────────────
T          哈溪镇     核心   1,234   5,000        9    1,200       34   缺 2 名网格员
  G1       南泥沟村   网格      34     120        1       34        0"""


def test_assignment_summary_golden() -> None:
    assert summary_text(SUMMARY) == SUMMARY_GOLDEN


def test_rollup_golden_and_every_row_as_wide_as_its_table() -> None:
    rows = [
        {"depth": 0, "code": "T", "name": "哈溪镇", "level": "core",
         "households": 1234, "people": 5000, "cadres": 9, "assigned": 1200,
         "unassigned": 34, "cadres_needed": 2,
         "shortfall": "grid T needs 2 more cadres for 34 households"},
        {"depth": 1, "code": "G1", "name": "南泥沟村", "level": "grid",
         "households": 34, "people": 120, "cadres": 1, "assigned": 34,
         "unassigned": 0, "cadres_needed": 0, "shortfall": None},
    ]  # fmt: skip
    text = rollup_text(rows)
    assert text == ROLLUP_GOLDEN
    # the right-aligned 未分配 figures end where their header ends, in cells
    header, *_, last = text.splitlines()
    end = cell_len(header[: header.index("未分配") + 3])
    assert cell_len(last) == end
    assert rollup_text([]) == "(无)"


def test_faults_integrity_and_redraw_read_in_chinese() -> None:
    report = {
        "grids_checked": 3, "counts": {"sibling_overlap": 1, "near_gap": 0},
        "features": [{"properties": {"kind": "sibling_overlap",
                                     "grids": ["G1", "G2"], "area_m2": 1523.46,
                                     "length_m": 0.0}}],
    }  # fmt: skip
    assert faults_text(report).splitlines() == [
        "检查网格 3 个: 同级网格重叠 1",
        "问题           网格     面积(平方米)   长度(米)",
        "───────────────────────────────────────────────",
        "同级网格重叠   G1、G2          1,523          0",
    ]
    integrity = integrity_text({
        "township": "620623101000",
        "grids": {"checked": 3, "counts": {"sibling_overlap": 1}},
        "households": {"outside_every_grid": {"count": 2, "codes": ["H1", "H2"]},
                       "stale_grid": {"count": 0, "codes": []}},
        "unassigned": {"grid_has_no_cadre": 5},
        "cadres_outside_home_grid": [
            {"cadre_id": 1, "code": "C1", "name": "才让", "home_grid": "G1",
             "households_outside": 3, "household_codes": ["H7", "H8"]}],
    })  # fmt: skip
    assert "农户     不在任何网格内      2" in integrity
    assert "不在任何网格内   H1、H2" in integrity
    assert "C1           才让     G1                  3   H7、H8 等 3 户" in integrity
    redraw = redraw_text({
        "township": "620623101000", "saved": False, "grids": ["G1"],
        "households": [{"household_id": 1, "code": "H1", "old_grid": "G1",
                        "new_grid": "G2", "old_cadre": "C1", "new_cadre": None}],
        "cadres": [{"cadre_id": 1, "code": "C1", "gains": 0, "losses": 1,
                    "load_before": 5, "load_after": 4}],
    })  # fmt: skip
    assert redraw.splitlines()[0] == "重划网格 G1 · 预览(未保存, 加 --save 生效)"
    assert "H1     G1       G2       C1" in redraw

"""Every colour GridGIS maps use, and what each one means, in one place.

Two families that never share a colour: a SEQUENTIAL ramp (light purple to dark
purple) for the grids' visit coverage, and QUALITATIVE, colour-blind-safe point
and outline colours (Okabe & Ito 2008) for categories. Points are drawn with a
white outline so a dot stays visible on any fill. ``MEANINGS`` lists each colour
with the one thing it stands for; a test checks no colour is listed twice and
that a coverage map uses no colour outside this list.
"""

from __future__ import annotations

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
ORANGE = "#e69f00"
SKY_BLUE = "#56b4e9"
BLUISH_GREEN = "#009e73"
YELLOW = "#f0e442"
BLUE = "#0072b2"
VERMILLION = "#d55e00"
REDDISH_PURPLE = "#cc79a7"
BLACK = "#000000"

# Visit coverage of a grid (share of its households visited) -> fill, sequential:
# the darker, the more is left to do.
COVERAGE_STEPS = (
    (0.9, "#f2f0f7"),
    (0.7, "#cbc9e2"),
    (0.5, "#9e9ac8"),
    (0.0, "#6a51a3"),
)
NO_HOUSEHOLDS_COLOR = "#d9d9d9"
GRID_FILL_OPACITY = 0.35  # grids are seen through: what a dot sits on is lighter

STATUS_COLORS = {
    "visited": BLUISH_GREEN,
    "overdue": ORANGE,
    "never_visited": VERMILLION,
    "unassigned": BLACK,  # no one is responsible: the starkest dot
}
PRIORITY_COLOR = BLUE  # the ring around a priority household
OUTLINE_COLOR = "#ffffff"  # around every point, so dots never sink into a fill
CONTEXT_COLOR = "#8c8c8c"  # faint context: other households, neighbouring parcels

HAZARD_COLORS = {"found": YELLOW, "rectifying": SKY_BLUE, "closed": "#bdbdbd"}
HAZARD_INK = "#4d4d4d"  # a hazard symbol's outline and glyph
DISPUTE_COLOR = REDDISH_PURPLE  # an open dispute overlap (coverage and dispute maps)

# Grid borders by depth (root, domain, grid and below): greys, never a category.
BORDER_COLORS = ("#252525", "#525252", "#737373")
LABEL_COLOR = "#222222"

# The dispute map: the two parcels in dispute.
SIDE_COLORS = {"a": ORANGE, "b": BLUISH_GREEN}

# The route map: one colour per day, off-road legs, the numbered stops.
DAY_COLORS = (BLUE, "#7b3294", "#008080", "#a6611a", "#1b7837")
OFFROAD_COLOR = VERMILLION
STOP_COLOR = BLUE
HAZARD_STOP_COLOR = YELLOW

# colour -> meaning, for every colour a coverage map draws.
COVERAGE_MAP_MEANINGS: list[tuple[str, str]] = [
    *((c, f"网格走访覆盖率 ≥ {floor:.0%}") for floor, c in COVERAGE_STEPS),
    (NO_HOUSEHOLDS_COLOR, "网格无农户"),
    *((c, f"农户: {s}") for s, c in STATUS_COLORS.items()),
    (PRIORITY_COLOR, "重点户外圈"),
    (OUTLINE_COLOR, "点的白色描边"),
    *((c, f"隐患: {s}") for s, c in HAZARD_COLORS.items()),
    (HAZARD_INK, "隐患符号描边"),
    (DISPUTE_COLOR, "争议重叠区"),
    *((c, f"网格边界 第 {d} 层") for d, c in enumerate(BORDER_COLORS)),
    (LABEL_COLOR, "文字"),
]

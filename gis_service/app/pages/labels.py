"""The workbench's message catalogue: every code users read, in Chinese first.

One place for the words on pages and in ledgers (台账): enumeration codes stay in
data, names go on screen. ``LOCALES`` holds zh-CN (default) and en; a page asks
``label(kind, code, locale)``. Status words come from the workflows themselves,
so a page and a 409 never disagree.
"""

from __future__ import annotations

from grids.visits.demands import DEMAND_WORKFLOW
from layers.disputes.workflow import DISPUTE_WORKFLOW

ZH = "zh-CN"
EN = "en"
LOCALES = (ZH, EN)

_ZH: dict[str, dict[str, str]] = {
    "demand_status": dict(DEMAND_WORKFLOW.labels),
    "dispute_status": dict(DISPUTE_WORKFLOW.labels),
    "demand_category": {
        "employment": "就业", "medical": "医疗", "education": "教育",
        "elderly_care": "养老", "infrastructure": "基础设施", "environment": "环境",
        "dispute": "矛盾纠纷", "safety": "安全", "other": "其他",
    },
    "visit_purpose": {
        "policy": "政策宣传", "service": "走访服务", "mediation": "矛盾调解",
        "safety": "安全检查", "other": "其他",
    },
    "cadre_role": {
        "party_member": "党员", "grid_worker": "网格员", "grid_leader": "网格长",
        "village_cadre": "村干部",
    },
    "level": {"core": "核心", "domain": "片区", "grid": "网格"},
    "household_status": {
        "visited": "已走访", "overdue": "超期未访", "never_visited": "从未走访",
        "unassigned": "未分配",
    },
    "hazard_status": {"found": "已排查", "rectifying": "整改中", "closed": "已销号"},
    "hazard_kind": {
        "fire": "火灾", "flood": "洪涝", "landslide": "滑坡", "road": "道路",
        "building": "房屋", "electrical": "用电", "other": "其他",
    },
    "severity": {"low": "低", "medium": "中", "high": "高", "critical": "特别严重"},
}  # fmt: skip
_EN: dict[str, dict[str, str]] = {
    kind: {code: code.replace("_", " ") for code in words}
    for kind, words in _ZH.items()
}
LOCALES_WORDS = {ZH: _ZH, EN: _EN}

# Page chrome: (zh-CN, en)
UI: dict[str, tuple[str, str]] = {
    "app": ("GridGIS 网格化管理", "GridGIS grid governance"),
    "home": ("工作台", "Workbench"),
    "uncovered": ("未走访", "Not visited"),
    "disputes": ("草场争议", "Pasture disputes"),
    "hazards": ("隐患台账", "Hazard ledger"),
    "mine": ("我的农户", "My households"),
    "demands": ("诉求台账", "Demand ledger"),
    "visit": ("走访登记", "Log a visit"),
    "search": ("搜索", "Search"),
    "map": ("覆盖地图", "Coverage map"),
    "download": ("下载台账 (XLSX)", "Download ledger (XLSX)"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
}


def label(kind: str, code: str | None, locale: str = ZH) -> str:
    """The name of ``code`` in ``locale``; an unknown code is shown as it is."""
    if code is None:
        return ""
    words = LOCALES_WORDS.get(locale, _ZH).get(kind, {})
    return words.get(code, code)


def ui(key: str, locale: str = ZH) -> str:
    """A piece of page chrome in ``locale``."""
    zh, en = UI.get(key, (key, key))
    return en if locale == EN else zh

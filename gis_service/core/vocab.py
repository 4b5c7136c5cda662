"""Chinese names of coded values, and the other words files use for them.

Codes stay in the data (``grid_worker``, ``landslide``); people write 网格员,
滑坡, 低保户. One table per vocabulary: the Chinese label shown on screen, and
aliases an import accepts in Chinese and English. The domains own the code
lists; this catalogue only names them, so it can sit below every domain.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from gis_service.core.i18n import N_

LABELS: dict[str, dict[str, str]] = {
    "role": {
        "party_member": N_("党员"),
        "grid_worker": N_("网格员"),
        "grid_leader": N_("网格长"),
        "village_cadre": N_("村干部"),
    },
    "purpose": {
        "policy": N_("政策宣传"),
        "service": N_("走访服务"),
        "mediation": N_("矛盾调解"),
        "safety": N_("安全检查"),
        "other": N_("其他"),
    },
    "hazard_kind": {
        "fire": N_("火灾"),
        "flood": N_("洪涝"),
        "landslide": N_("滑坡"),
        "road": N_("道路"),
        "building": N_("房屋"),
        "other": N_("其他"),
    },
    "severity": {
        "low": N_("一般"),
        "medium": N_("较大"),
        "high": N_("重大"),
        "critical": N_("特别重大"),
    },
    "hazard_status": {
        "found": N_("已发现"),
        "rectifying": N_("整改中"),
        "closed": N_("已销号"),
    },
    "demand_category": {
        "employment": N_("就业"),
        "medical": N_("医疗"),
        "education": N_("教育"),
        "elderly_care": N_("养老"),
        "infrastructure": N_("基础设施"),
        "environment": N_("环境"),
        "dispute": N_("纠纷"),
        "safety": N_("安全"),
        "other": N_("其他"),
    },
    "demand_status": {
        "open": N_("待办"),
        "in_progress": N_("办理中"),
        "resolved": N_("已办结"),
        "escalated": N_("已上报"),
    },
    "dispute_status": {
        "open": N_("待处理"),
        "mediating": N_("调解中"),
        "resolved": N_("已解决"),
        "dismissed": N_("已驳回"),
        "closed": N_("已关闭"),
    },
    "coverage": {
        "visited": N_("已走访"),
        "overdue": N_("已逾期"),
        "never_visited": N_("从未走访"),
        "unassigned": N_("未分配"),
    },
    "grid_fault": {
        "sibling_overlap": N_("同级网格重叠"),
        "sliver_overlap": N_("细碎重叠"),
        "outside_parent": N_("超出上级网格"),
        "uncovered": N_("上级网格未覆盖"),
        "near_gap": N_("细缝"),
        "invalid_edge": N_("公共边不吻合"),
    },
    "household_fault": {
        "outside_every_grid": N_("不在任何网格内"),
        "in_sibling_overlap": N_("位于同级网格重叠处"),
        "on_shared_border": N_("位于网格公共边上"),
        "stale_grid": N_("所属网格已过时"),
    },
    "grid_level": {"core": N_("核心"), "domain": N_("片区"), "grid": N_("网格")},
    "unassigned_reason": {
        "outside_every_grid": N_("不在任何网格内"),
        "grid_has_no_cadre": N_("网格无网格员"),
        "capacity_exhausted": N_("网格员已满员"),
    },
}

# Other words for the same code (besides the code and its label above).
EXTRA: dict[str, dict[str, tuple[str, ...]]] = {
    "role": {
        "party_member": ("党员户", "共产党员", "party member", "member"),
        "grid_worker": ("网格管理员", "专职网格员", "grid worker", "worker"),
        "grid_leader": ("网格长", "网格组长", "grid leader", "leader"),
        "village_cadre": ("村两委", "村委", "村干", "village cadre", "cadre"),
    },
    "purpose": {
        "policy": ("政策", "宣传", "政策宣讲"),
        "service": ("走访", "服务", "入户走访", "日常走访", "visit"),
        "mediation": ("调解", "纠纷调解"),
        "safety": ("安全", "安全巡查", "隐患排查", "inspection"),
        "other": ("其它",),
    },
    "hazard_kind": {
        "fire": ("火灾隐患", "消防", "森林火灾", "草原火灾"),
        "flood": ("洪水", "洪涝灾害", "山洪", "内涝"),
        "landslide": ("滑坡", "山体滑坡", "泥石流", "崩塌", "地质灾害"),
        "road": ("道路隐患", "交通", "道路交通"),
        "building": ("危房", "房屋安全", "危旧房"),
        "other": ("其它",),
    },
    "severity": {
        "low": ("低", "低风险", "较低"),
        "medium": ("中", "中等", "中风险"),
        "high": ("高", "高风险", "严重"),
        "critical": ("极高", "紧急", "特大"),
    },
    "hazard_status": {
        "found": ("新发现", "发现"),
        "rectifying": ("整改", "处置中"),
        "closed": ("已整改", "销号", "已关闭"),
    },
}

TAG_ALIASES: dict[str, str] = {
    "低保户": "低保",
    "最低生活保障": "低保",
    "dibao": "低保",
    "特困户": "特困",
    "特困供养": "特困",
    "特困人员": "特困",
    "监测户": "防返贫监测",
    "防返贫监测户": "防返贫监测",
    "监测对象": "防返贫监测",
    "脱贫不稳定": "脱贫不稳定户",
    "边缘易致贫": "边缘易致贫户",
    "边缘户": "边缘易致贫户",
    "突发严重困难": "突发严重困难户",
    "空巢": "空巢老人",
    "独居老人": "空巢老人",
    "残疾人": "残疾",
    "残疾户": "残疾",
    "disabled": "残疾",
    "留守": "留守儿童",
    "务工": "外出务工",
    "外出务工户": "外出务工",
    "五保户": "五保",
    "五保供养": "五保",
    "优抚对象": "优抚",
    "军烈属": "优抚",
}


def fold(word: str) -> str:
    """A word as compared: NFKC, trimmed, lower case, single spaces."""
    text = unicodedata.normalize("NFKC", word).strip().lower()
    return " ".join(text.replace("_", " ").split())


def value_aliases(vocabulary: str) -> tuple[tuple[str, str], ...]:
    """(word, code) pairs a file may use for ``vocabulary``'s codes."""
    pairs: list[tuple[str, str]] = []
    for code, label in LABELS.get(vocabulary, {}).items():
        pairs.append((label, code))
        pairs += [(w, code) for w in EXTRA.get(vocabulary, {}).get(code, ())]
    return tuple(pairs)


def canonical(
    value: str, codes: Iterable[str], aliases: Iterable[tuple[str, str]]
) -> str:
    """``value`` as one of ``codes`` when it or an alias names one, else unchanged."""
    folded = fold(value)
    for code in codes:
        if fold(code) == folded:
            return code
    for word, code in aliases:
        if fold(word) == folded:
            return code
    return value


def label(vocabulary: str, code: str | None) -> str:
    """The Chinese name of ``code`` (the code itself when it has none)."""
    if code is None:
        return ""
    return LABELS.get(vocabulary, {}).get(code, code)

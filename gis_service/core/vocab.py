"""Chinese names of coded values, and the other words files use for them.

Codes stay in the data (``grid_worker``, ``landslide``); people write 网格员,
滑坡, 低保户. One table per vocabulary: the Chinese label shown on screen, and
aliases an import accepts in Chinese and English. The domains own the code
lists; this catalogue only names them, so it can sit below every domain.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

LABELS: dict[str, dict[str, str]] = {
    "role": {
        "party_member": "党员",
        "grid_worker": "网格员",
        "grid_leader": "网格长",
        "village_cadre": "村干部",
    },
    "purpose": {
        "policy": "政策宣传",
        "service": "走访服务",
        "mediation": "矛盾调解",
        "safety": "安全检查",
        "other": "其他",
    },
    "hazard_kind": {
        "fire": "火灾",
        "flood": "洪涝",
        "landslide": "滑坡",
        "road": "道路",
        "building": "房屋",
        "other": "其他",
    },
    "severity": {
        "low": "一般",
        "medium": "较大",
        "high": "重大",
        "critical": "特别重大",
    },
    "hazard_status": {"found": "已发现", "rectifying": "整改中", "closed": "已销号"},
    "demand_category": {
        "employment": "就业",
        "medical": "医疗",
        "education": "教育",
        "elderly_care": "养老",
        "infrastructure": "基础设施",
        "environment": "环境",
        "dispute": "纠纷",
        "safety": "安全",
        "other": "其他",
    },
    "demand_status": {
        "open": "待办",
        "in_progress": "办理中",
        "resolved": "已办结",
        "escalated": "已上报",
    },
    "dispute_status": {
        "open": "待处理",
        "mediating": "调解中",
        "resolved": "已解决",
        "dismissed": "已驳回",
        "closed": "已关闭",
    },
    "coverage": {
        "visited": "已走访",
        "overdue": "已逾期",
        "never_visited": "从未走访",
        "unassigned": "未分配",
    },
    "grid_fault": {
        "sibling_overlap": "同级网格重叠",
        "sliver_overlap": "细碎重叠",
        "outside_parent": "超出上级网格",
        "uncovered": "上级网格未覆盖",
        "near_gap": "细缝",
        "invalid_edge": "公共边不吻合",
    },
    "household_fault": {
        "outside_every_grid": "不在任何网格内",
        "in_sibling_overlap": "位于同级网格重叠处",
        "on_shared_border": "位于网格公共边上",
        "stale_grid": "所属网格已过时",
    },
    "grid_level": {"core": "核心", "domain": "片区", "grid": "网格"},
    "unassigned_reason": {
        "outside_every_grid": "不在任何网格内",
        "grid_has_no_cadre": "网格无网格员",
        "capacity_exhausted": "网格员已满员",
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

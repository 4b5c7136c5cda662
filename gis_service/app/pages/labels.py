"""The workbench's words: code labels and page chrome, translated by the catalogue.

Enumeration codes stay in data, names go on screen. Each name is written once, in
Chinese (the source language, marked with ``N_``); English and any later locale
come from the gettext catalogue (``gis_service.core.i18n``), so there is one way
to translate a word. Status words come from the workflows themselves, so a page
and a 409 never disagree. ``install`` gives the templates ``{% trans %}``, ``_()``
and ``label``/``ui``/``tag_names`` that follow the page's ``locale``.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context

from gis_service.core.i18n import EN, LOCALES, N_, ZH, translations, translator
from grids.visits.demands import DEMAND_WORKFLOW
from layers.disputes.workflow import DISPUTE_WORKFLOW
from layers.hazards.workflow import HAZARD_WORKFLOW

__all__ = ["EN", "LOCALES", "ZH", "install", "label", "ui"]

_NAMES: dict[str, dict[str, str]] = {
    "demand_status": dict(DEMAND_WORKFLOW.labels),
    "dispute_status": dict(DISPUTE_WORKFLOW.labels),
    "hazard_status": dict(HAZARD_WORKFLOW.labels),
    "demand_category": {
        "employment": N_("就业"), "medical": N_("医疗"), "education": N_("教育"),
        "elderly_care": N_("养老"), "infrastructure": N_("基础设施"),
        "environment": N_("环境"), "dispute": N_("矛盾纠纷"), "safety": N_("安全"),
        "other": N_("其他"),
    },
    "visit_purpose": {
        "policy": N_("政策宣传"), "service": N_("走访服务"),
        "mediation": N_("矛盾调解"), "safety": N_("安全检查"), "other": N_("其他"),
    },
    "cadre_role": {
        "party_member": N_("党员"), "grid_worker": N_("网格员"),
        "grid_leader": N_("网格长"), "village_cadre": N_("村干部"),
    },
    "level": {"core": N_("核心"), "domain": N_("片区"), "grid": N_("网格")},
    "household_status": {
        "visited": N_("已走访"), "overdue": N_("超期未访"),
        "never_visited": N_("从未走访"), "unassigned": N_("未分配"),
    },
    "hazard_kind": {
        "fire": N_("火灾"), "flood": N_("洪涝"), "landslide": N_("滑坡"),
        "road": N_("道路"), "building": N_("房屋"), "electrical": N_("用电"),
        "other": N_("其他"),
    },
    "severity": {
        "low": N_("低"), "medium": N_("中"), "high": N_("高"),
        "critical": N_("特别严重"),
    },
}  # fmt: skip

# Page chrome: the header's links (nav.PATHS keys) and the download link.
UI: dict[str, str] = {
    "app": N_("GridGIS 网格化管理"),
    "home": N_("工作台"),
    "uncovered": N_("未走访"),
    "disputes": N_("草场争议"),
    "hazards": N_("隐患台账"),
    "mine": N_("我的农户"),
    "demands": N_("诉求台账"),
    "visit": N_("走访登记"),
    "search": N_("搜索"),
    "map": N_("覆盖地图"),
    "download": N_("下载台账 (XLSX)"),
    "sign_in": N_("登录"),
    "sign_out": N_("退出"),
}


def label(kind: str, code: str | None, locale: str = ZH) -> str:
    """The name of ``code`` in ``locale``; an unknown code is shown as it is."""
    if code is None:
        return ""
    name = _NAMES.get(kind, {}).get(code)
    return translator(locale)(name) if name else code


def ui(key: str, locale: str = ZH) -> str:
    """A piece of page chrome in ``locale`` (an unknown key is shown as it is)."""
    return translator(locale)(UI[key]) if key in UI else key


def _locale(context: Any) -> str:
    return str(context.get("locale") or ZH)


@pass_context
def _gettext(context: Any, message: str) -> str:
    return translator(_locale(context))(message)


@pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return translations(_locale(context)).ngettext(singular, plural, n)


@pass_context
def _label(context: Any, kind: str, code: str | None) -> str:
    return label(kind, code, _locale(context))


@pass_context
def _ui(context: Any, key: str) -> str:
    return ui(key, _locale(context))


@pass_context
def _tr(context: Any, text: str | None) -> str:
    """A message that may be a msgid (an error reason): translated, not trusted."""
    return translator(_locale(context))(text) if text else ""


@pass_context
def _tags(context: Any, values: list[str] | None) -> str:
    """Household tags (stored as Chinese words) in the page's locale, joined."""
    _ = translator(_locale(context))
    return _("、").join(_(v) for v in values or ())


def install(env: Environment) -> None:
    """``{% trans %}``, ``_()``, ``label``, ``ui`` and ``tr`` in the page's locale.

    ``_()``/``{% trans %}`` are for literal msgids only (newstyle gettext marks
    the result safe and %-formats it); a message from data or an error goes
    through ``tr``, whose result is escaped like any value.
    """
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True
    )
    env.globals.update(label=_label, ui=_ui, tr=_tr, tag_names=_tags)

"""What a layer file holds, for people and programs: a template and a JSON Schema.

Both come from the layer's spec (``specs.py``), so they cannot drift from what
the importer accepts: headers ``中文(english)`` (required ones starred), allowed
values as Excel drop-down lists (their Chinese names, which the importer maps
back), the aliases each column may go by, and an example row.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from gis_service.core.cli import render_table
from gis_service.core.vocab import LABELS
from layers.io.reading import LAT_NAMES, LON_NAMES
from layers.io.specs import Field, LayerSpec, get_layer

JSON_TYPES = {"text": "string", "enum": "string", "int": "integer",
              "float": "number", "bool": "boolean", "date": "string",
              "timestamp": "string", "tags": "array"}  # fmt: skip
VOCABULARY = {("cadres", "role"): "role", ("hazards", "kind"): "hazard_kind",
              ("hazards", "severity"): "severity",
              ("hazards", "status"): "hazard_status"}  # fmt: skip
KIND_WORDS = {"text": "文本", "enum": "选项", "int": "整数", "float": "数值",
              "bool": "是/否", "date": "日期", "timestamp": "日期时间",
              "tags": "多选(用、分隔)"}  # fmt: skip


def header(f: Field, required: bool) -> str:
    """The template's header of ``f``: ``*户主姓名(head_name)``."""
    return f"{'*' if required else ''}{f.label or f.name}({f.name})"


def choices(spec: LayerSpec, f: Field) -> list[str]:
    """The values a drop-down offers: Chinese names where the codes have them."""
    if f.kind == "bool":
        return ["是", "否"]
    vocabulary = VOCABULARY.get((spec.name, f.name))
    if vocabulary is None:
        return list(f.values)
    return [LABELS[vocabulary].get(v, v) for v in f.values]


def _columns(spec: LayerSpec) -> list[tuple[str, Field | None, str]]:
    """(header, field or None for coordinates, example) in template order."""
    out: list[tuple[str, Field | None, str]] = [
        (header(f, f.required), f, f.example) for f in spec.fields
    ]
    if spec.geometry_kind == "Point":
        x, y = spec.example_geometry.removeprefix("POINT (").rstrip(")").split()
        star = "*" if spec.geometry_required else ""
        out += [(f"{star}经度(lon)", None, x), (f"{star}纬度(lat)", None, y)]
    else:
        out.append(("*WKT(wkt)", None, spec.example_geometry))
    return out


def template_csv(layer: str) -> bytes:
    """A CSV template (UTF-8 with a BOM, so Excel shows the Chinese)."""
    spec = get_layer(layer)
    columns = _columns(spec)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c[0] for c in columns])
    writer.writerow([c[2] for c in columns])
    return buffer.getvalue().encode("utf-8-sig")


def template_xlsx(layer: str) -> bytes:
    """An XLSX template: the data sheet with drop-downs, 说明, and the value lists."""
    spec = get_layer(layer)
    columns = _columns(spec)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = spec.label or spec.name
    sheet.append([c[0] for c in columns])
    sheet.append([c[2] for c in columns])
    lists = book.create_sheet("值列表")
    notes = book.create_sheet("说明")
    notes.append(["列", "类型", "必填", "可选值", "也可写作"])
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for j, (title, f, _) in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=j).column_letter
        sheet.column_dimensions[letter].width = max(12, len(title) * 2)
        if f is None:
            names = LON_NAMES if "lon" in title else LAT_NAMES
            notes.append([title, "坐标(WGS84/CGCS2000)", "是", "", "、".join(names)])
            continue
        values = choices(spec, f)
        notes.append([title, KIND_WORDS[f.kind], "是" if f.required else "",
                      "、".join(values), "、".join(f.aliases)])  # fmt: skip
        if not values:
            continue
        column = lists.max_column + 1 if lists.max_row > 1 or lists["A1"].value else 1
        for i, value in enumerate(values, start=1):
            lists.cell(row=i, column=column, value=value)
        ref = lists.cell(row=1, column=column).column_letter
        check = DataValidation(
            type="list",
            formula1=f"'值列表'!${ref}$1:${ref}${len(values)}",
            allow_blank=True,
            # tags take several values (低保、残疾): a warning, not a refusal
            errorStyle="warning" if f.kind == "tags" else "stop",
            showErrorMessage=True,
        )
        sheet.add_data_validation(check)
        check.add(f"{letter}2:{letter}10000")
    lists.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def json_schema(layer: str) -> dict[str, Any]:
    """The layer's columns as a JSON Schema (one feature's properties)."""
    spec = get_layer(layer)
    properties: dict[str, Any] = {}
    for f in spec.fields:
        prop: dict[str, Any] = {"type": JSON_TYPES[f.kind], "title": f.label}
        if f.kind == "tags":
            prop["items"] = {"type": "string", "enum": list(f.values)}
        elif f.values:
            prop["enum"] = list(f.values)
        if f.kind == "date":
            prop["format"] = "date"
        if f.kind == "timestamp":
            prop["format"] = "date-time"
        if f.max_len is not None:
            prop["maxLength"] = f.max_len
        if f.minimum is not None:
            key = "exclusiveMinimum" if f.exclusive_min else "minimum"
            prop[key] = f.minimum
        if f.maximum is not None:
            prop["maximum"] = f.maximum
        if f.example:
            prop["examples"] = [f.example]
        prop["x-aliases"] = (
            [f.export_name, *f.aliases] if f.shp_name else list(f.aliases)
        )
        if f.value_aliases:
            prop["x-value-aliases"] = dict(f.value_aliases)
        if f.personal:
            prop["x-personal"] = True
        if f.ref is not None:
            prop["x-references"] = f.ref[0]
        properties[f.name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{spec.label} ({spec.name})",
        "type": "object",
        "properties": properties,
        "required": [f.name for f in spec.fields if f.required],
        "x-key": spec.key,
        "x-geometry": spec.geometry_kind,
        "x-geometry-required": spec.geometry_required,
        "x-table-geometry": (
            {"lon": list(LON_NAMES), "lat": list(LAT_NAMES)}
            if spec.geometry_kind == "Point"
            else {"wkt": ["wkt", "geometry", "geom"]}
        ),
    }


def describe(layer: str) -> str:
    """A readable list of the layer's columns for the terminal."""
    spec = get_layer(layer)
    rows = []
    for title, f, example in _columns(spec):
        if f is None:
            rows.append([title, "坐标", "", example, ""])
            continue
        rows.append([title, KIND_WORDS[f.kind], "、".join(choices(spec, f)),
                     f.example, "、".join(f.aliases)])  # fmt: skip
    head = f"{spec.label} ({spec.name}): 每行一个要素, 带 * 的列必填, 键 {spec.key}"
    table = render_table(["列", "类型", "可选值", "示例", "也可写作"], rows)
    return f"{head}\n{table}"

"""CSV and XLSX tables as townships keep them, read into text cells.

CSV: UTF-8 with or without a BOM, or Excel's GBK (detected, with a warning).
XLSX: the sheet is chosen with ``--sheet`` (else the only data sheet; 说明 and
value-list sheets are skipped); title rows above the header are skipped; a
two-row header under merged cells (户主信息 over 姓名 | 身份证号) takes the lower
names; formula cells give the values the spreadsheet saved with them (a formula
saved without one, as scripts write them, is a 422 naming the cell). Rows keep
the numbers the spreadsheet shows, so messages can name them.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd

from gis_service.core.charsets import decode
from gis_service.core.errors import InvalidInput, UnsupportedMedia

AUX_SHEETS = {
    "说明",
    "填表说明",
    "值列表",
    "字典",
    "readme",
    "lists",
    "_lists",
    "说明书",
}
HEAD_SCAN = 10  # rows looked at to find the header


def read_table(
    path: Path, suffix: str, encoding: str | None, sheet: str | None
) -> tuple[pd.DataFrame, list[str], int]:
    """(text cells or None, warnings, the spreadsheet row of the first data row)."""
    if suffix in (".xlsx", ".xls"):
        return _read_excel(path, sheet)
    text, warnings = decode(path.read_bytes(), encoding, "the table")
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except Exception as exc:
        raise UnsupportedMedia(
            f"cannot read the table: {_short(exc)}",
            errors=[{"field": "file", "reason": "unreadable"}],
        ) from None
    return _cells(table), warnings, 2


def _read_excel(path: Path, sheet: str | None) -> tuple[pd.DataFrame, list[str], int]:
    """One sheet of a workbook, its header found under any title rows."""
    try:
        book = pd.ExcelFile(path)
    except Exception as exc:
        raise UnsupportedMedia(
            f"cannot read the workbook: {_short(exc)}",
            errors=[{"field": "file", "reason": "unreadable"}],
        ) from None
    with book:
        names = [str(n) for n in book.sheet_names]
        warnings: list[str] = []
        if sheet is not None:
            if sheet not in names:
                raise InvalidInput(
                    f"the workbook has no sheet {sheet!r}; it has {', '.join(names)}",
                    errors=[{"field": "sheet", "reason": f"one of {', '.join(names)}"}],
                )
            chosen = sheet
        else:
            data = [n for n in names if n.strip().lower() not in AUX_SHEETS] or names
            chosen = data[0]
            if len(data) > 1:
                warnings.append(
                    f"the workbook has sheets {', '.join(data)}; read {chosen!r} "
                    "(choose another with --sheet NAME)"
                )
        raw = pd.read_excel(book, sheet_name=chosen, header=None, dtype=str)
    if path.suffix.lower() != ".xls":
        _require_saved_values(path, chosen)
    raw = raw.dropna(how="all", axis=1)
    table, first_row = _header(raw)
    return _cells(table), warnings, first_row


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_TEXT_TYPES = ("str", "inlineStr", "s")  # an empty saved text value is still a value


def _require_saved_values(path: Path, sheet: str) -> None:
    """Refuse formula cells of ``sheet`` that carry no saved (cached) value.

    Excel and WPS save each formula's last value beside it, and that value is
    what is imported; a workbook written by a script (openpyxl, pandas) has the
    formula only, which would silently read as an empty cell.
    """
    missing: list[tuple[str, str]] = []
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet)
            if part is None:
                return
            with archive.open(part) as xml:
                for _, cell in ElementTree.iterparse(xml):
                    if cell.tag != f"{_MAIN}c":
                        continue
                    f, v = cell.find(f"{_MAIN}f"), cell.find(f"{_MAIN}v")
                    if f is not None and (
                        v is None or (not v.text and cell.get("t") not in _TEXT_TYPES)
                    ):
                        missing.append((cell.get("r", "?"), f.text or ""))
                    cell.clear()
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        return  # pandas read it; a part we cannot follow is not worth a refusal
    if missing:
        cells = ", ".join(ref for ref, _ in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        first, formula = missing[0]
        raise InvalidInput(
            f"公式没有保存的值 (formula without a saved value): sheet {sheet!r} cell "
            f"{cells}{more} (first: {first} ={formula}); open the workbook in Excel "
            "or WPS and save it, which computes the formulas, or paste the cells "
            "as values",
            errors=[
                {"field": f"{sheet}!{r}", "reason": "formula without a saved value"}
                for r, _ in missing[:20]
            ],
        )


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding the sheet called ``sheet`` (workbook + its rels)."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rid = next(
        (s.get(_REL) for s in book.iter(f"{_MAIN}sheet") if s.get("name") == sheet),
        None,
    )
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next((r.get("Target") for r in rels if r.get("Id") == rid), None)
    if rid is None or target is None:
        return None
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join("xl", target))


def _header(raw: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The table under its header row (and a merged-cell sub-header row)."""
    filled = raw.notna().to_numpy()
    widest = int(filled[:HEAD_SCAN].sum(axis=1).max()) if len(raw) else 0
    need = max(2, (widest + 1) // 2) if widest > 1 else 1
    head = next(
        (i for i in range(min(HEAD_SCAN, len(raw))) if filled[i].sum() >= need), 0
    )
    names = [_name(v) for v in raw.iloc[head].tolist()] if len(raw) else []
    skip = head + 1
    if skip < len(raw):
        below = filled[skip]
        # merged cells: the parent row has gaps the row below fills, and the
        # row below has gaps under the cells merged downwards
        if (below & ~filled[head]).any() and (~below & filled[head]).any():
            sub = raw.iloc[skip].tolist()
            names = [
                _name(s) if pd.notna(s) else n for s, n in zip(sub, names, strict=True)
            ]
            skip += 1
    names = [n or f"column{j + 1}" for j, n in enumerate(names)]
    last = int(filled.any(axis=1).nonzero()[0].max()) + 1 if filled.any() else skip
    table = raw.iloc[skip:last].copy()
    table.columns = _unique(names)
    # a blank row keeps its number: rows are counted as the sheet shows them
    return table.reset_index(drop=True), skip + 1


def _name(value: object) -> str:
    return "" if pd.isna(value) else str(value).strip()


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}.{seen[n] - 1}")
    return out


def _cells(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell as stripped-of-nothing text, blanks as None."""
    table = table.replace({"": None})
    return table.astype(object).where(table.notna(), None)


def _short(exc: BaseException) -> str:
    """A one-line library message (no paths)."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__

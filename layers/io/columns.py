"""Which column of a layer file is which field, and what a file lacks.

The spec's aliases map silently; a column that only resembles a field is named
with the exact ``--map`` to pass. Problems of the whole file are one error each
(never one per feature): a missing key column, and an unused column that looks
like a reference (``parent_id`` in a grids file, ``holder_id`` in parcels),
because importing without it would silently flatten the tree or drop holders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from gis_service.core.columns import Wanted, map_hint, match_columns
from gis_service.core.errors import InvalidInput
from layers.io.specs import LayerSpec

GEOMETRY_TARGETS = ("lon", "lat", "wkt")  # consumed by the reader of tables


def wanted(spec: LayerSpec) -> list[Wanted]:
    """The spec's fields as the column matcher wants them."""
    return [
        Wanted(f.name, (f.export_name, *f.aliases), f.hints, f.label)
        for f in spec.fields
    ]


def canonical_columns(
    frame: pd.DataFrame, spec: LayerSpec, field_map: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Rename file columns to field names; one 422 for what makes the file unsafe."""
    geometry_name = frame.geometry.name
    columns = [c for c in frame.columns if c != geometry_name]
    given = {k: v for k, v in (field_map or {}).items() if k not in GEOMETRY_TARGETS}
    matched = match_columns(
        columns, wanted(spec), given, ignore=(*spec.read_only, "id", "fid")
    )
    errors: list[dict[str, Any]] = []
    warnings: list[str] = []
    targets = set(matched.rename.values())
    if spec.key not in targets:
        key = spec.field(spec.key)
        reason = f"the file has no {spec.key} column ({key.label})"
        column = matched.suggestions.get(spec.key)
        if column is not None:
            reason += f"; if {column!r} holds it, pass {map_hint(spec.key, column)}"
        else:
            reason += f"; name it with --map {spec.key}=COLUMN"
        errors.append(_file_error(spec.key, reason))
    for f in spec.fields:
        column = matched.suggestions.get(f.name)
        if column is None or f.name == spec.key:
            continue
        hint = map_hint(f.name, column)
        if f.ref is not None:
            noun = (
                "the grid tree would be flat"
                if f.ref[0] == spec.table
                else ("every feature would lose it")
            )
            errors.append(
                _file_error(
                    f.name,
                    f"column {column!r} looks like {f.name} ({f.label}) but is not "
                    f"used, so {noun}; pass {hint} if it holds the codes",
                )
            )
        else:
            warnings.append(
                f"column {column!r} may be {f.name} ({f.label}); pass {hint} to use it"
            )
    if errors:
        shown = ", ".join(str(c) for c in columns)
        raise InvalidInput(
            "; ".join(e["reason"] for e in errors) + f" (the file's columns: {shown})",
            errors=errors,
            written=False,
        )
    ignored = [c for c in matched.unused if c not in matched.suggestions.values()]
    if ignored:
        warnings.insert(
            0, f"ignored columns not in layer {spec.name}: {', '.join(ignored)}"
        )
    out = pd.DataFrame(frame.drop(columns=[geometry_name]))
    out.columns = [str(c) for c in out.columns]
    out = out.rename(columns=dict(matched.rename))
    return out[list(matched.rename.values())], warnings


def _file_error(name: str, reason: str) -> dict[str, Any]:
    """A problem of the whole file, not of one feature."""
    return {"feature": None, "code": None, "field": name, "reason": reason}

"""Units the township's staff read: pasture areas are in mu (亩), not m²."""

from __future__ import annotations

MU_M2 = 10_000 / 15  # one mu (亩) in square metres

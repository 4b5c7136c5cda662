"""HTTP routes of the grids package (parse, call one service, answer)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

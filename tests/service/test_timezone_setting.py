"""Times are shown in the ``timezone`` setting (GRIDGIS_TIMEZONE), China time by
default: the CLI tables and the XLSX ledgers read it, never a fixed offset."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from gis_service.core.display import cell, rows_table, shown_time
from gis_service.core.settings import Settings, shown_zone

INSTANT = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 09:00 in Beijing


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        (None, "2026-06-01 09:00"),
        ("Asia/Shanghai", "2026-06-01 09:00"),
        ("Asia/Urumqi", "2026-06-01 07:00"),
        ("Europe/Berlin", "2026-06-01 03:00"),  # summer time, UTC+2
        ("UTC", "2026-06-01 01:00"),
    ],
)
def test_the_cli_shows_times_in_the_setting(
    monkeypatch: pytest.MonkeyPatch, zone: str | None, shown: str
) -> None:
    if zone is None:
        monkeypatch.delenv("GRIDGIS_TIMEZONE", raising=False)
    else:
        monkeypatch.setenv("GRIDGIS_TIMEZONE", zone)
    assert shown_time(INSTANT) == shown
    assert cell("visited_at", INSTANT.isoformat()) == shown
    table = rows_table([{"household": "H1", "last_visit": INSTANT}],
                       ["household", "last_visit"])  # fmt: skip
    assert table.splitlines()[-1].endswith(shown)


def test_a_winter_time_follows_the_zone_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGIS_TIMEZONE", "Europe/Berlin")
    assert shown_time(datetime(2026, 1, 1, 1, 0, tzinfo=UTC)) == "2026-01-01 02:00"
    assert str(shown_zone()) == "Europe/Berlin"


def test_naive_times_are_shown_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGIS_TIMEZONE", "UTC")
    assert shown_time(datetime(2026, 6, 1, 9, 0)) == "2026-06-01 09:00"


def test_an_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Settings(timezone="Mars/Olympus")
    assert Settings().timezone == Settings.model_fields["timezone"].default

"""Masking of personal data (ID numbers, phones) in every response."""

from __future__ import annotations


def mask_id_number(value: str | None) -> str | None:
    """Keep the 6-digit region prefix and the last 4: ``620123********1234``.

    Shorter (malformed) values show at most their first and last 2 characters,
    and under 8 characters nothing, so no value is returned nearly whole.
    """
    if not value:
        return value
    if len(value) >= 15:
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    if len(value) >= 8:
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
    return "*" * len(value)


def mask_phone(value: str | None) -> str | None:
    """Keep the first 3 and last 4 digits: ``138****5678``.

    Shorter numbers (landlines, typos) show only their last 2 digits, and under 5
    characters nothing.
    """
    if not value:
        return value
    if len(value) >= 11:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if len(value) >= 5:
        return "*" * (len(value) - 2) + value[-2:]
    return "*" * len(value)

"""Masking of personal data (ID numbers, phones) in every response."""

from __future__ import annotations


def mask_id_number(value: str | None) -> str | None:
    """Keep the 6-digit region prefix and the last 4: ``620123********1234``."""
    if not value:
        return value
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 4, 0) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """Keep the first 3 and last 4 digits: ``138****5678``."""
    if not value:
        return value
    if len(value) <= 7:
        return "*" * (len(value) - 2) + value[-2:]
    return value[:3] + "*" * (len(value) - 7) + value[-4:]

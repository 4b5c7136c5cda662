"""Argon2id password hashes (argon2-cffi's defaults, RFC 9106's second choice)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gis_service.core.errors import InvalidInput

_HASHER = PasswordHasher()
# Verified against when the user name is unknown, so timing does not tell.
_DUMMY = _HASHER.hash("gridgis-no-such-user")
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    """An Argon2id hash of a password long enough to resist guessing."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"password must have at least {MIN_LENGTH} characters",
            errors=[{"field": "password", "reason": f"at least {MIN_LENGTH}"}],
        )
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches (an unknown user costs the same time)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)
